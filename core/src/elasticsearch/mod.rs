//! Elasticsearch plumbing every role shares: the client, index template installation, the
//! `_bulk` writer and alias-mode maintenance (`rollover`).

pub mod bulk;
mod client;
pub mod rollover;
mod templates;

pub use client::{client, ElasticsearchSetupError};
pub use templates::install_templates;
