//! What every query handler shares: the reader of the indices and the query settings.

use std::sync::Arc;

use axum::extract::State;
use skein_core::config::QueryConfig;
use skein_core::SkeinConfig;

use crate::error::QueryError;
use crate::reader::Reader;

/// The query handlers' state.
pub struct QueryState {
    pub reader: Reader,
    pub config: QueryConfig,
}

/// How a handler takes the state.
pub type Shared = State<Arc<QueryState>>;

impl QueryState {
    /// Requests read through `client` (no connection is made here).
    pub fn new(config: &SkeinConfig, client: elasticsearch::Elasticsearch) -> Self {
        // Analytics documents are read for the configured analytics group only.
        let reader = Reader::new(client, config.elasticsearch.index_names(), &config.analytics.group_id)
            .with_request_timeout(std::time::Duration::from_millis(config.query.request_timeout_ms));
        Self { reader, config: config.query.clone() }
    }

    /// The most the clock-skew adjuster may move a span, in µs (0: it only warns).
    pub fn max_skew_micros(&self) -> i64 {
        self.config.max_clock_skew_adjust_ms as i64 * 1000
    }

    /// A search starting at `start_micros` (µs), or the 400 naming `param` and
    /// `query.max_lookback_ms` when that is further back than the option allows.
    pub fn check_lookback(&self, param: &str, start_micros: i64) -> Result<(), QueryError> {
        let lookback = self.config.max_lookback_ms;
        if lookback == 0 {
            return Ok(());
        }
        let earliest = chrono::Utc::now().timestamp_micros().saturating_sub(lookback as i64 * 1000);
        if start_micros < earliest {
            return Err(QueryError::BadParameter(format!(
                "'{param}' is further back than query.max_lookback_ms allows ({lookback} ms before now); search a more recent range"
            )));
        }
        Ok(())
    }

    /// How far beyond a search's window a trace's other spans may start, in ms.
    pub fn trace_margin_ms(&self) -> i64 {
        self.config.max_trace_duration_hours as i64 * 3_600_000
    }
}
