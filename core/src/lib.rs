//! Machinery every skein role shares: configuration, telemetry endpoints, Kafka and Elasticsearch
//! set-up, the consumer scaffold and offset tracking that decide what a consumer may commit, and
//! the Elasticsearch bulk writer.

pub mod config;
pub mod consumer;
pub mod elasticsearch;
pub mod kafka;
pub mod offsets;
pub mod retry;
pub mod telemetry;

pub use config::SkeinConfig;
