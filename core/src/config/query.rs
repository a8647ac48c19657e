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
            // A collector on the same host, at its default admin address.
            collector_metrics_urls: vec![format!("http://{}/metrics", loopback(DEFAULT_ADMIN_PORT))],
        }
    }
}
