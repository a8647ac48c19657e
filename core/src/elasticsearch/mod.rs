//! Elasticsearch plumbing every role shares: the client, index template installation, the
//! `_bulk` writer, and index retention (the clean and its lease).

pub mod bulk;
mod client;
pub mod lease;
pub mod retention;
mod templates;

pub use client::{client, ElasticsearchSetupError};
pub use templates::install_templates;
