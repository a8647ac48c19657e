//! Errors of the analytics role; each says what to check.

use std::net::SocketAddr;

use rdkafka::error::KafkaError;

#[derive(Debug, thiserror::Error)]
pub enum AnalyticsError {
    #[error(transparent)]
    Credentials(#[from] skein_core::auth::CredentialsError),
    #[error("cannot listen on {addr} for the analytics admin endpoints: {source} (set analytics.admin_listen)")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error(transparent)]
    Tls(#[from] skein_core::tls::TlsError),
    #[error(transparent)]
    Elasticsearch(#[from] skein_core::elasticsearch::ElasticsearchSetupError),
    #[error(transparent)]
    Aliases(#[from] skein_core::elasticsearch::rollover::RolloverError),
    #[error(transparent)]
    Consumer(#[from] skein_core::consumer::ConsumerError),
    #[error("cannot create the watermark marker producer for {brokers}: {source}")]
    Producer { brokers: String, source: KafkaError },
    #[error(transparent)]
    Checkpoint(#[from] crate::store::CheckpointError),
    #[error(transparent)]
    Owner(#[from] crate::store::OwnerError),
    #[error(
        "tenant {tenant}'s dependencies cannot be written in alias mode: {source} (for a tenant, run it with \
         elasticsearch.index_prefix={prefix})"
    )]
    TenantAliases { tenant: String, prefix: String, source: skein_core::elasticsearch::rollover::RolloverError },
    #[error("{0}")]
    Range(String),
}

impl AnalyticsError {
    /// The group fenced the worker's static id: a new consumer may read on.
    pub fn fenced(&self) -> bool {
        matches!(self, Self::Consumer(error) if error.fenced())
    }
}
