//! `query`: Jaeger's HTTP API and the embedded UI over the indices.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use super::collector::DEFAULT_ADMIN_PORT;
use super::listen::loopback;

/// The query role.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueryConfig {
    /// Jaeger-compatible HTTP API (`/api/...`, `/api/v3/...`).
    pub listen: SocketAddr,
    /// `/metrics`, `/healthz`, `/readyz`.
    pub admin_listen: SocketAddr,
    /// Largest clock-skew correction applied to a span, ms; `0` turns correction off (each span
    /// that would need it gets a warning instead), as in Jaeger.
    pub max_clock_skew_adjust_ms: u64,
    /// How far back a trace looked up by id (without `start`/`end`) is searched, hours.
    pub max_span_age_hours: u64,
    /// Spans of one trace may start this long before the search range, hours (a trace found by
    /// search is read over its range widened by this much).
    pub max_trace_duration_hours: u64,
    /// Largest `limit` a search accepts.
    pub max_search_limit: usize,
    /// Services and operations are listed from this many days of service indices.
    pub services_lookback_days: u32,
    /// Searches (and dependency queries) may reach this far back from now, ms; an older start is
    /// answered 400 naming this option. `0`: no limit (as Jaeger), the indices' retention bounds it.
    pub max_lookback_ms: u64,
    /// Spans returned per trace; a bigger trace comes truncated (its earliest spans) with a warning
    /// in the trace's `warnings`. `0`: every span (as Jaeger).
    pub max_spans_per_trace: usize,
    /// Time-out of each Elasticsearch request the query API makes, ms; past it the API answers 504.
    pub request_timeout_ms: u64,
    /// Collectors' Prometheus `/metrics` URLs, scraped for the receiver counts of
    /// `/api/skein/pipeline` (collectors are other processes).
    pub collector_metrics_urls: Vec<String>,
}

impl Default for QueryConfig {
    fn default() -> Self {
        Self {
            listen: loopback(16686),
            admin_listen: loopback(16687),
            max_clock_skew_adjust_ms: 0,
            max_span_age_hours: 72,
            max_trace_duration_hours: 24,
            max_search_limit: 1500,
            services_lookback_days: 3,
            max_lookback_ms: 0,
            max_spans_per_trace: 0,
            // Grafana's data sources give up after 30 s by default; no one waits for a later answer.
            request_timeout_ms: 30_000,
            // A collector on the same host, at its default admin address.
            collector_metrics_urls: vec![format!("http://{}/metrics", loopback(DEFAULT_ADMIN_PORT))],
        }
    }
}

/// A `query` option that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryConfigError {
    #[error("query.request_timeout_ms must be at least 1 (it is 0): every Elasticsearch request needs a time-out")]
    NoRequestTimeout,
}

impl QueryConfig {
    /// Rules within `query` that serde cannot express.
    pub fn validate(&self) -> Result<(), QueryConfigError> {
        if self.request_timeout_ms == 0 {
            return Err(QueryConfigError::NoRequestTimeout);
        }
        Ok(())
    }
}
