//! Collector errors: start-up failures, and the outcomes a receiver turns into a status code.

use std::time::Duration;

use rdkafka::error::KafkaError;

/// Why publishing a request failed; [`crate::receivers::answer`] maps each to an HTTP status and a
/// gRPC code.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("cannot create the Kafka producer for {brokers}: {source} (check kafka.brokers and kafka.librdkafka)")]
    Setup { brokers: String, source: KafkaError },
    #[error("collector is at its in-flight limit (collector.max_in_flight_bytes); retry later")]
    Overloaded { retry_after: Duration },
    #[error("Kafka did not acknowledge the spans: {reason}; retry later")]
    Unavailable { reason: String, retry_after: Duration },
    #[error("Kafka refused a record as too large: {reason}; lower collector.max_record_bytes below the topic's max.message.bytes")]
    RecordTooLarge { reason: String },
}

/// Why a request was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Nothing in the request was acceptable; the client must not retry it unchanged.
    #[error("{0}")]
    InvalidRequest(String),
    /// More spans than `collector.limits.max_spans_per_request`: refused whole, before any work.
    #[error("request has {spans} spans, more than collector.limits.max_spans_per_request ({limit}): send fewer spans per request")]
    TooManySpans { spans: usize, limit: usize },
    /// A body longer than `collector.max_request_bytes`.
    #[error("request body is larger than {limit} bytes (collector.max_request_bytes); send fewer spans per request")]
    BodyTooLarge { limit: usize },
    #[error(transparent)]
    Publish(#[from] PublishError),
    /// The request names no tenant, or one it may not send for.
    #[error(transparent)]
    Tenant(#[from] skein_core::tenancy::TenantRefusal),
    /// The tenant sent more spans than `tenancy.rate_limits` allows; retry later.
    #[error(
        "tenant '{tenant}' is over its rate limit of {spans_per_second} spans/s (tenancy.rate_limits); retry later"
    )]
    RateLimited { tenant: String, spans_per_second: u64, retry_after: Duration },
}

impl ExportError {
    /// Delay a client should wait before retrying, for retryable outcomes.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ExportError::Publish(PublishError::Overloaded { retry_after })
            | ExportError::Publish(PublishError::Unavailable { retry_after, .. })
            | ExportError::RateLimited { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }
}

/// Start-up failures of the collector role.
#[derive(Debug, thiserror::Error)]
pub enum CollectorError {
    #[error(transparent)]
    Credentials(#[from] skein_core::auth::CredentialsError),
    #[error(transparent)]
    Publish(#[from] PublishError),
    #[error(transparent)]
    KafkaSetup(#[from] skein_core::kafka::KafkaSetupError),
    #[error(transparent)]
    Sampling(#[from] skein_edge::sampling::SamplingError),
    #[error("kafka.encoding is {0}, but the collector writes skein's own records: a consumer of kafka.spans_topic would misread them. Run the collector with kafka.encoding: skein (the default) and its own spans topic; {0} is for an ingester or analytics reading a topic Jaeger or the OpenTelemetry Collector fills")]
    ForeignEncoding(&'static str),
    #[error(transparent)]
    Tls(#[from] skein_core::tls::TlsError),
    #[error("tenancy is on and {option} listens, but Jaeger UDP carries no tenant header: set tenancy.udp_tenant to the tenant of its spans, or turn the port off ({option}: off)")]
    UdpWithoutTenant { option: &'static str },
    #[error("cannot listen on {addr} for {what}: {source} (is another process using the port? change {option})")]
    Bind { what: &'static str, addr: std::net::SocketAddr, option: &'static str, source: std::io::Error },
}
