//! What every query handler shares: the reader of the indices and the query settings; with
//! tenancy, a reader of the request's tenant's indices only ([`Shared`]).

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::Json;
use skein_core::auth::Principal;
use skein_core::config::QueryConfig;
use skein_core::tenancy::{Tenancy, TenantRefusal};
use skein_core::SkeinConfig;
use skein_schemas::tenant::Tenant;

use crate::envelope::error_envelope;
use crate::error::QueryError;
use crate::reader::Reader;

/// The query handlers' state.
pub struct QueryState {
    pub reader: Reader,
    pub config: QueryConfig,
    pub tenancy: Arc<Tenancy>,
}

/// How a handler takes the state: the one of the request's tenant (its reader reads that
/// tenant's indices only), after the tenant was resolved; a request without an acceptable
/// tenant never reaches the handler.
pub struct Shared(pub Arc<QueryState>);

impl QueryState {
    /// Requests read through `client` (no connection is made here).
    pub fn new(config: &SkeinConfig, client: elasticsearch::Elasticsearch) -> Self {
        // Analytics documents are read for the configured analytics group only.
        let reader = Reader::new(client, config.elasticsearch.index_names(), &config.analytics.group_id)
            .with_request_timeout(std::time::Duration::from_millis(config.query.request_timeout_ms));
        Self { reader, config: config.query.clone(), tenancy: Arc::new(Tenancy::new(&config.tenancy)) }
    }

    /// The state of `tenant`'s requests: the same settings, reading the tenant's indices.
    fn for_tenant(&self, tenant: &Tenant) -> Self {
        Self { reader: self.reader.for_tenant(tenant), config: self.config.clone(), tenancy: self.tenancy.clone() }
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

impl FromRequestParts<Arc<QueryState>> for Shared {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<QueryState>) -> Result<Self, Response> {
        match state.tenancy.resolve(&parts.headers, parts.extensions.get::<Principal>()) {
            Ok(None) => Ok(Shared(state.clone())),
            Ok(Some(tenant)) => Ok(Shared(Arc::new(state.for_tenant(&tenant)))),
            Err(refusal) => Err(tenant_refusal(parts.uri.path(), &refusal)),
        }
    }
}

/// A request without an acceptable tenant, answered in the error shape of the API it called:
/// Jaeger's envelope, or `/api/v3`'s `{error: {httpCode, message}}`.
pub fn tenant_refusal(path: &str, refusal: &TenantRefusal) -> Response {
    let status = refusal.status();
    if path.starts_with("/api/v3/") {
        let body = serde_json::json!({"error": {"httpCode": status.as_u16(), "message": refusal.to_string()}});
        return (status, Json(body)).into_response();
    }
    error_envelope(status, refusal.to_string())
}
