//! `collector`: the receivers, the Kafka publisher and the sampling strategies it serves.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use super::limits::LimitsConfig;
use super::listen::{loopback, Listen};
use super::udp::{UdpConfig, UdpConfigError};

/// The collector's admin port; the query role scrapes it by default.
pub(super) const DEFAULT_ADMIN_PORT: u16 = 14269;
/// The collector's Jaeger gRPC port; agents forward to it by default.
pub(super) const DEFAULT_JAEGER_GRPC_PORT: u16 = 14250;

const HOUR_MS: u64 = 3_600_000;
const DAY_MS: u64 = 24 * HOUR_MS;

/// The collector role.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CollectorConfig {
    /// OTLP/gRPC listen address (`0.0.0.0:<port>` accepts other hosts, as in containers).
    pub otlp_grpc_listen: SocketAddr,
    /// OTLP/HTTP listen address.
    pub otlp_http_listen: SocketAddr,
    /// `/metrics`, `/healthz`, `/readyz`.
    pub admin_listen: SocketAddr,
    /// Largest accepted request body (after decompression), bytes; larger → 413 / RESOURCE_EXHAUSTED.
    pub max_request_bytes: usize,
    /// Largest Kafka record value, bytes; bigger traces are split into several records with the same
    /// key, and a single bigger span is rejected. Keep below the topic's `max.message.bytes`.
    pub max_record_bytes: usize,
    /// Bytes of accepted requests not yet acknowledged by Kafka; beyond it clients get 429 /
    /// RESOURCE_EXHAUSTED.
    pub max_in_flight_bytes: usize,
    /// Compression of produced records.
    pub compression: Compression,
    /// librdkafka `linger.ms`.
    pub linger_ms: u64,
    /// How long a record may wait for Kafka before the request fails with 503 (librdkafka
    /// `message.timeout.ms`).
    pub produce_timeout_ms: u64,
    /// `Retry-After` seconds sent with 429 and 503.
    pub retry_after_seconds: u64,
    /// Spans starting longer ago than this (ms before the collector's clock) are refused on
    /// receipt, so one client with a wrong clock cannot make an index for a long-gone day; `0`
    /// accepts any age. Records replayed from Kafka are not held to it.
    pub max_span_age_ms: u64,
    /// Spans starting further ahead than this (ms after the collector's clock) are refused on
    /// receipt; `0` accepts any start.
    pub max_span_future_ms: u64,
    /// Jaeger gRPC (`CollectorService/PostSpans`, `SamplingManager`); `off` disables.
    pub jaeger_grpc_listen: Listen,
    /// Jaeger Thrift over HTTP (`POST /api/traces`) and `GET /api/sampling`; `off` disables.
    pub jaeger_thrift_http_listen: Listen,
    /// Jaeger agent UDP, compact Thrift; `off` disables.
    pub jaeger_compact_udp_listen: Listen,
    /// Jaeger agent UDP, binary Thrift; `off` disables.
    pub jaeger_binary_udp_listen: Listen,
    /// Zipkin `POST /api/v2/spans` (JSON, proto3); `off` disables.
    pub zipkin_listen: Listen,
    /// Remote sampling over HTTP (`/sampling`, `/api/sampling`), the agent's classic port; `off`
    /// disables.
    pub sampling_http_listen: Listen,
    /// Jaeger strategies file (JSON); without one every service samples 0.1 % (probabilistic 0.001).
    pub sampling_strategies_file: Option<String>,
    /// How often the strategies file is re-read, ms; a changed file is applied, a broken one is
    /// logged and ignored; `0` reads it once.
    pub sampling_reload_interval_ms: u64,
    /// UDP receivers' limits.
    pub udp: UdpConfig,
    /// OpenTelemetry's span limits and the spans per request, on every receiver.
    pub limits: LimitsConfig,
}

impl Default for CollectorConfig {
    fn default() -> Self {
        Self {
            otlp_grpc_listen: loopback(4317),
            otlp_http_listen: loopback(4318),
            admin_listen: loopback(DEFAULT_ADMIN_PORT),
            // OTLP's customary gRPC limit.
            max_request_bytes: 4 * 1024 * 1024,
            max_record_bytes: 900_000,
            max_in_flight_bytes: 256 * 1024 * 1024,
            compression: Compression::Lz4,
            linger_ms: 5,
            produce_timeout_ms: 10_000,
            retry_after_seconds: 2,
            max_span_age_ms: 7 * DAY_MS,
            max_span_future_ms: HOUR_MS,
            jaeger_grpc_listen: Listen::loopback(DEFAULT_JAEGER_GRPC_PORT),
            jaeger_thrift_http_listen: Listen::loopback(14268),
            jaeger_compact_udp_listen: Listen::loopback(6831),
            jaeger_binary_udp_listen: Listen::loopback(6832),
            zipkin_listen: Listen::loopback(9411),
            sampling_http_listen: Listen::loopback(5778),
            sampling_strategies_file: None,
            sampling_reload_interval_ms: 1_000,
            udp: UdpConfig::default(),
            limits: LimitsConfig::default(),
        }
    }
}

/// A `collector` option that cannot work.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CollectorConfigError {
    #[error("collector.max_record_bytes must be at least 1024 (it is {0})")]
    RecordTooSmall(usize),
    #[error(
        "collector.max_in_flight_bytes ({in_flight}) must be at least collector.max_request_bytes ({request}), or no request could ever be accepted"
    )]
    InFlightBelowRequest { in_flight: usize, request: usize },
    #[error("collector.{0}")]
    Udp(UdpConfigError),
}

impl CollectorConfig {
    /// Rules within `collector` that serde cannot express.
    pub fn validate(&self) -> Result<(), CollectorConfigError> {
        if self.max_record_bytes < 1024 {
            return Err(CollectorConfigError::RecordTooSmall(self.max_record_bytes));
        }
        if self.max_in_flight_bytes < self.max_request_bytes {
            return Err(CollectorConfigError::InFlightBelowRequest {
                in_flight: self.max_in_flight_bytes,
                request: self.max_request_bytes,
            });
        }
        // Wrapped, not a source: the message names the section once.
        self.udp.validate().map_err(CollectorConfigError::Udp)
    }
}

/// Compression codec of produced records.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

impl Compression {
    /// The librdkafka `compression.type` value.
    pub fn as_librdkafka(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::SkeinConfig;

    use super::*;

    #[test]
    fn in_flight_bound_below_request_size_is_rejected() {
        let err = SkeinConfig::from_yaml_str("collector:\n  max_request_bytes: 1000000\n  max_in_flight_bytes: 10\n")
            .unwrap_err();
        assert!(err.to_string().contains("max_in_flight_bytes"), "{err}");
    }

    #[test]
    fn records_below_a_kibibyte_are_refused() {
        let collector = CollectorConfig { max_record_bytes: 1023, ..CollectorConfig::default() };
        assert_eq!(collector.validate(), Err(CollectorConfigError::RecordTooSmall(1023)));
    }

    #[test]
    fn a_udp_error_names_the_collector_section() {
        let mut collector = CollectorConfig::default();
        collector.udp.workers = 0;
        let err = collector.validate().unwrap_err();
        assert_eq!(err.to_string(), "collector.udp.workers must be at least 1");
        assert!(std::error::Error::source(&err).is_none(), "printed once, not again as a source");
    }
}
