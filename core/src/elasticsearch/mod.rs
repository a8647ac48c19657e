//! Elasticsearch plumbing every role shares: the client, index template installation, the
//! `_bulk` writer, index retention (the clean and its lease) and alias-mode maintenance
//! (`rollover`).

pub mod bulk;
mod client;
pub mod lease;
pub mod retention;
pub mod rollover;
mod templates;

pub use client::{client, ElasticsearchSetupError};
pub use templates::install_templates;
