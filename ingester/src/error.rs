//! Ingester errors.

use rdkafka::error::KafkaError;

/// Start-up failures of the ingester role.
#[derive(Debug, thiserror::Error)]
pub enum IngesterError {
    #[error("cannot create the Kafka consumer for {brokers}: {source} (check kafka.brokers and kafka.librdkafka)")]
    Consumer { brokers: String, source: KafkaError },
    #[error("cannot subscribe to topic {topic}: {source}")]
    Subscribe { topic: String, source: KafkaError },
    #[error("cannot create the dead-letter producer: {0} (check kafka.brokers and kafka.librdkafka)")]
    DeadLetterProducer(KafkaError),
    #[error(transparent)]
    Elasticsearch(#[from] skein_core::elasticsearch::ElasticsearchSetupError),
    #[error("cannot listen on {addr} for admin endpoints: {source} (change ingester.admin_listen)")]
    Bind { addr: std::net::SocketAddr, source: std::io::Error },
}
