//! Elasticsearch plumbing every role shares: the client, which backend answers (Elasticsearch or
//! OpenSearch), index template installation and the `_bulk` writer.

mod backend;
pub mod bulk;
mod client;
mod templates;

pub use backend::{detect_backend, identify, Backend, Identity, Product};
pub use client::{client, ElasticsearchSetupError};
pub use templates::install_templates;
