//! Ingester errors.

use rdkafka::error::KafkaError;

/// Start-up failures of the ingester role.
#[derive(Debug, thiserror::Error)]
pub enum IngesterError {
    #[error(transparent)]
    Credentials(#[from] skein_core::auth::CredentialsError),
    #[error(transparent)]
    Consumer(#[from] skein_core::consumer::ConsumerError),
    #[error("cannot create the dead-letter producer: {0} (check kafka.brokers and kafka.librdkafka)")]
    DeadLetterProducer(KafkaError),
    #[error(transparent)]
    Elasticsearch(#[from] skein_core::elasticsearch::ElasticsearchSetupError),
    #[error("cannot listen on {addr} for admin endpoints: {source} (change ingester.admin_listen)")]
    Bind { addr: std::net::SocketAddr, source: std::io::Error },
    #[error(transparent)]
    Tls(#[from] skein_core::tls::TlsError),
}

/// A bulk task ended without saying which of its records are durable (it panicked, or was
/// aborted). Its records would stay pending for good and stall their partitions, so the ingester
/// stops: nothing past them was committed, and whoever reads the partitions next (this process
/// restarted, or another member) reads them again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a bulk task {how} holding {records}; the ingester stops so that they are read again (nothing past them was committed); a panic is a bug in skein: report it with the log above")]
pub struct BulkTaskFailed {
    /// `panicked` or `was cancelled`.
    pub how: &'static str,
    /// The records it held, per partition: `topic/partition offsets first..=last`.
    pub records: String,
}

/// Why the ingester's read loop stopped by itself.
#[derive(Debug, thiserror::Error)]
pub enum PipelineFailed {
    #[error(transparent)]
    BulkTask(#[from] BulkTaskFailed),
    #[error(transparent)]
    Consumer(#[from] skein_core::consumer::ConsumerError),
}

impl PipelineFailed {
    /// The group fenced the consumer's static id: a new consumer may read on.
    pub fn fenced(&self) -> bool {
        matches!(self, Self::Consumer(error) if error.fenced())
    }
}
