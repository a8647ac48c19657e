//! Errors of the analytics role; each says what to check.

use std::net::SocketAddr;

use rdkafka::error::KafkaError;

#[derive(Debug, thiserror::Error)]
pub enum AnalyticsError {
    #[error("cannot listen on {addr} for the analytics admin endpoints: {source} (set analytics.admin_listen)")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error(transparent)]
    Elasticsearch(#[from] skein_core::elasticsearch::ElasticsearchSetupError),
    #[error("cannot create the analytics consumer for {brokers}: {source} (check kafka.brokers and kafka.librdkafka)")]
    Consumer { brokers: String, source: KafkaError },
    #[error("cannot create the watermark marker producer for {brokers}: {source}")]
    Producer { brokers: String, source: KafkaError },
    #[error("cannot consume topic {topic}: {source} (does it exist? is kafka.spans_topic right?)")]
    Subscribe { topic: String, source: KafkaError },
    #[error("{0}")]
    Range(String),
}
