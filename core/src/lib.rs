//! Machinery every skein role shares: configuration, telemetry endpoints, start-up ([`role`]) and
//! HTTP serving, Kafka and Elasticsearch set-up, the consumer scaffold and offset tracking that
//! decide what a consumer may commit, and the Elasticsearch bulk writer.

pub mod auth;
pub mod config;
#[cfg(feature = "kafka")]
pub mod consumer;
#[cfg(feature = "elasticsearch")]
pub mod elasticsearch;
pub mod errors;
pub mod http;
#[cfg(feature = "kafka")]
pub mod kafka;
pub mod net;
pub mod offsets;
pub mod retry;
pub mod role;
pub mod telemetry;
pub mod tenancy;
pub mod tls;

pub use config::SkeinConfig;
