//! Machinery every skein role shares: configuration, telemetry endpoints, Kafka and Elasticsearch
//! set-up, and the offset tracking that decides what a consumer may commit.

pub mod config;
pub mod elasticsearch;
pub mod kafka;
pub mod offsets;
pub mod retry;
pub mod telemetry;

pub use config::SkeinConfig;
