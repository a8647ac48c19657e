//! Machinery every skein role shares: configuration, telemetry endpoints, start-up ([`role`]) and
//! HTTP serving, Kafka and Elasticsearch set-up, and the offset tracking that decides what a
//! consumer may commit.

pub mod config;
#[cfg(feature = "elasticsearch")]
pub mod elasticsearch;
pub mod http;
#[cfg(feature = "kafka")]
pub mod kafka;
pub mod offsets;
pub mod retry;
pub mod role;
pub mod telemetry;

pub use config::SkeinConfig;
