//! Ingester errors.

use rdkafka::error::KafkaError;

/// Start-up failures of the ingester role.
#[derive(Debug, thiserror::Error)]
pub enum IngesterError {
    #[error(transparent)]
    Consumer(#[from] skein_core::consumer::ConsumerError),
    #[error("cannot create the dead-letter producer: {0} (check kafka.brokers and kafka.librdkafka)")]
    DeadLetterProducer(KafkaError),
    #[error(transparent)]
    Elasticsearch(#[from] skein_core::elasticsearch::ElasticsearchSetupError),
    #[error("cannot listen on {addr} for admin endpoints: {source} (change ingester.admin_listen)")]
    Bind { addr: std::net::SocketAddr, source: std::io::Error },
}
