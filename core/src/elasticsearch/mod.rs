//! Elasticsearch plumbing every role shares: the client, which backend answers (Elasticsearch or
//! OpenSearch), index template installation, the `_bulk` writer, index retention (the clean and
//! its lease) and alias-mode maintenance (`rollover`).

mod backend;
pub mod bulk;
mod client;
pub mod lease;
pub mod retention;
pub mod rollover;
mod templates;

pub use backend::{detect_backend, identify, Backend, Identity, Product};
pub use client::{client, ElasticsearchSetupError};
pub use templates::install_templates;
