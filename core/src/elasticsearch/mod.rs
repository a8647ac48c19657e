//! Elasticsearch plumbing every role shares: the client, index template installation and the
//! `_bulk` writer.

pub mod bulk;
mod client;
mod templates;

pub use client::{client, ElasticsearchSetupError};
pub use templates::install_templates;
