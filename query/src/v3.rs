//! Jaeger's API v3 over HTTP (`/api/v3/...`): traces as OTLP JSON (`{"result": TracesData}`),
//! services and operations; errors as `{"error": {"httpCode", "message"}}`.

use std::collections::BTreeMap;

use axum::extract::{Path, RawQuery};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::DateTime;
use serde_json::{json, Value};
use skein_schemas::jaeger::otlp_json::traces_data;
use skein_schemas::jaeger::ui::UiTrace;

use crate::error::QueryError;
use crate::params::{parse_go_duration, Params};
use crate::reader::TraceQuery;
use crate::state::Shared;
use crate::traces::{assemble, id_window, parse_id};

/// A v3 error.
pub struct V3Error(QueryError);

impl From<QueryError> for V3Error {
    fn from(error: QueryError) -> Self {
        Self(error)
    }
}

impl IntoResponse for V3Error {
    fn into_response(self) -> Response {
        let status = self.0.status();
        let message = match &self.0 {
            QueryError::TraceNotFound => "No traces found".to_string(),
            other => other.to_string(),
        };
        (status, Json(json!({"error": {"httpCode": status.as_u16(), "message": message}}))).into_response()
    }
}

fn malformed(name: &str, reason: impl std::fmt::Display) -> V3Error {
    V3Error(QueryError::BadParameter(format!("malformed parameter {name}: {reason}")))
}

/// The first value among a parameter's accepted spellings.
fn first<'a>(params: &'a Params, names: &[&str]) -> Option<&'a str> {
    names.iter().find_map(|n| params.get(n))
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// `GET /api/v3/services`.
pub async fn services(Shared(state): Shared) -> Result<Response, V3Error> {
    let services = state.reader.services(now_ms(), state.config.services_lookback_days).await?;
    Ok(Json(json!({"services": services})).into_response())
}

/// `GET /api/v3/operations?service=<name>[&spanKind=<kind>]`.
pub async fn operations(Shared(state): Shared, RawQuery(query): RawQuery) -> Result<Response, V3Error> {
    let params = Params::parse(query.as_deref());
    let service = first(&params, &["service"])
        .ok_or_else(|| V3Error(QueryError::BadParameter("parameter service is required".into())))?;
    let kind = first(&params, &["spanKind", "span_kind"]);
    let pairs = state.reader.operations_with_kind(service, kind, now_ms(), state.config.services_lookback_days).await?;
    let operations: Vec<Value> =
        pairs.into_iter().map(|(name, kind)| json!({"name": name, "spanKind": kind})).collect();
    Ok(Json(json!({"operations": operations})).into_response())
}

fn rfc3339_micros(params: &Params, names: &[&str]) -> Result<Option<i64>, V3Error> {
    first(params, names)
        .map(|text| {
            DateTime::parse_from_rfc3339(text).map(|t| t.timestamp_micros()).map_err(|e| malformed(names[0], e))
        })
        .transpose()
}

fn result(traces: &[UiTrace]) -> Result<Response, V3Error> {
    if traces.is_empty() {
        return Err(V3Error(QueryError::TraceNotFound));
    }
    Ok(Json(json!({"result": traces_data(traces)})).into_response())
}

/// `GET /api/v3/traces/{trace_id}`.
pub async fn get_trace(
    Shared(state): Shared,
    Path(trace_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, V3Error> {
    let params = Params::parse(query.as_deref());
    let id = parse_id(&trace_id).map_err(|e| malformed("trace_id", e))?;
    let raw = matches!(first(&params, &["rawTraces", "raw_traces"]), Some("true" | "1"));
    let margin = state.trace_margin_ms();
    let start = rfc3339_micros(&params, &["startTime", "start_time"])?;
    let end = rfc3339_micros(&params, &["endTime", "end_time"])?;
    let (start, end) = match (start, end) {
        (Some(s), Some(e)) => (s / 1000 - margin, e / 1000 + margin),
        _ => id_window(&state, &Params::default())?,
    };
    let documents = state.reader.spans(std::slice::from_ref(&id), start, end).await?;
    result(&assemble(documents, &[id], raw, state.max_skew_micros(), state.config.max_spans_per_trace))
}

/// `GET /api/v3/traces?query.serviceName=...`: a search.
pub async fn find_traces(Shared(state): Shared, RawQuery(query): RawQuery) -> Result<Response, V3Error> {
    let params = Params::parse(query.as_deref());
    let start = rfc3339_micros(&params, &["query.startTimeMin", "query.start_time_min"])?;
    let end = rfc3339_micros(&params, &["query.startTimeMax", "query.start_time_max"])?;
    let (Some(start), Some(end)) = (start, end) else {
        return Err(V3Error(QueryError::BadParameter("query.startTimeMin and query.startTimeMax are required".into())));
    };
    if start > end {
        return Err(V3Error(QueryError::BadParameter("query.startTimeMin must be before query.startTimeMax".into())));
    }
    state.check_lookback("query.startTimeMin", start)?;
    let service = first(&params, &["query.serviceName", "query.service_name"])
        .ok_or_else(|| V3Error(QueryError::BadParameter("query.serviceName is required".into())))?;
    let duration = |names: &[&str]| -> Result<Option<i64>, V3Error> {
        first(&params, names)
            .map(|d| parse_go_duration(d).map(|ns| ns / 1000).map_err(|e| malformed(names[0], e)))
            .transpose()
    };
    let limit = match first(&params, &["query.searchDepth", "query.search_depth", "query.num_traces"]) {
        Some(text) => text.parse::<usize>().map_err(|e| malformed("query.searchDepth", e))?,
        None => 100,
    };
    if limit > state.config.max_search_limit {
        return Err(malformed("query.searchDepth", format!("must be at most {}", state.config.max_search_limit)));
    }
    let tags: BTreeMap<String, String> = match first(&params, &["query.attributes"]) {
        Some(text) => serde_json::from_str(text).map_err(|e| malformed("query.attributes", e))?,
        None => BTreeMap::new(),
    };
    let query = TraceQuery {
        service: service.to_string(),
        operation: first(&params, &["query.operationName", "query.operation_name"]).map(str::to_string),
        tags,
        start_micros: start,
        end_micros: end,
        min_duration_micros: duration(&["query.durationMin", "query.duration_min"])?,
        max_duration_micros: duration(&["query.durationMax", "query.duration_max"])?,
        limit: limit.max(1),
    };
    let raw = matches!(first(&params, &["query.rawTraces", "query.raw_traces"]), Some("true" | "1"));
    let ids = state.reader.find_trace_ids(&query).await?;
    let margin = state.trace_margin_ms();
    let documents = state.reader.spans(&ids, start / 1000 - margin, end / 1000 + margin).await?;
    result(&assemble(documents, &ids, raw, state.max_skew_micros(), state.config.max_spans_per_trace))
}
