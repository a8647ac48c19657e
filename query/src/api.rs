//! Jaeger's `/api` HTTP endpoints (the ones Jaeger UI and Grafana's Jaeger data source call), with
//! Jaeger's envelope `{data, total, limit, offset, errors}`.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use skein_core::config::QueryConfig;
use skein_schemas::jaeger::ui::{normalize_trace_id, parse_trace_id, span_from_document, UiSpan, UiTrace};

use crate::adjust::adjust;
use crate::error::{bad_param, QueryError};
use crate::params::Params;
use crate::reader::{Reader, TraceQuery};

/// What handlers share.
pub struct Api {
    pub reader: Reader,
    pub config: QueryConfig,
}

type Shared = State<Arc<Api>>;

pub fn router(api: Arc<Api>) -> Router {
    Router::new()
        .route("/api/services", get(services))
        .route("/api/services/{service}/operations", get(service_operations))
        .route("/api/operations", get(operations))
        .route("/api/traces", get(search))
        .route("/api/traces/{trace_id}", get(trace_by_id))
        .route("/api/dependencies", get(dependencies))
        .route("/api/metrics/{metric}", get(crate::metrics::metrics))
        .route("/api/skein/graph", get(crate::graph::service_graph))
        .route("/api/skein/graph/operations", get(crate::graph::operation_graph))
        .route("/analytics/v1/dependencies", get(crate::graph::deep_dependencies))
        .with_state(api.clone())
        .merge(crate::v3::router(api))
}

/// Jaeger's envelope, fields in Jaeger's order.
#[derive(serde::Serialize)]
pub struct Envelope<T> {
    pub data: T,
    pub total: usize,
    pub limit: usize,
    pub offset: usize,
    pub errors: Option<Vec<Value>>,
}

/// A success answer.
pub fn envelope<T: serde::Serialize>(data: T, total: usize) -> Response {
    Json(Envelope { data, total, limit: 0, offset: 0, errors: None }).into_response()
}

fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

async fn services(State(api): Shared) -> Result<Response, QueryError> {
    let services = api.reader.services(now_micros() / 1000, api.config.services_lookback_days).await?;
    let total = services.len();
    Ok(envelope(services, total))
}

async fn service_operations(State(api): Shared, Path(service): Path<String>) -> Result<Response, QueryError> {
    let operations = api.reader.operations(&service, now_micros() / 1000, api.config.services_lookback_days).await?;
    let total = operations.len();
    // Jaeger answers `null` for a service without operations.
    let data = if operations.is_empty() { Value::Null } else { json!(operations) };
    Ok(envelope(data, total))
}

/// Jaeger's `span.kind` values a client may filter operations by.
const SPAN_KINDS: [&str; 6] = ["server", "client", "producer", "consumer", "internal", "unspecified"];

async fn operations(State(api): Shared, RawQuery(query): RawQuery) -> Result<Response, QueryError> {
    let params = Params::parse(query.as_deref());
    let service =
        params.get("service").ok_or_else(|| QueryError::BadParameter("parameter 'service' is required".into()))?;
    let kind = params.get("spanKind");
    if let Some(kind) = kind {
        if !SPAN_KINDS.contains(&kind) {
            return Err(bad_param("spanKind", format!("unsupported span kind: '{kind}'")));
        }
    }
    let stored_kind = kind.filter(|k| *k != "unspecified");
    let pairs = api
        .reader
        .operations_with_kind(service, stored_kind, now_micros() / 1000, api.config.services_lookback_days)
        .await?;
    let data: Vec<Value> = pairs
        .into_iter()
        .filter(|(_, k)| kind != Some("unspecified") || k.is_empty())
        .map(|(name, span_kind)| json!({"name": name, "spanKind": span_kind}))
        .collect();
    let total = data.len();
    Ok(envelope(data, total))
}

/// Group span documents into traces (in `order`), adjusted unless `raw`.
pub(crate) fn assemble(documents: Vec<Value>, order: &[String], raw: bool, max_skew_micros: i64) -> Vec<UiTrace> {
    let mut by_trace: BTreeMap<String, Vec<UiSpan>> = BTreeMap::new();
    for doc in &documents {
        match span_from_document(doc) {
            Ok(span) => by_trace.entry(span.trace_id.clone()).or_default().push(span),
            Err(error) => tracing::warn!(%error, "skipping an unreadable span document"),
        }
    }
    let mut traces = Vec::new();
    for id in order {
        let Some(mut spans) = normalize_trace_id(id).and_then(|id| by_trace.remove(&id)) else { continue };
        let warnings = if raw { Vec::new() } else { adjust(&mut spans, max_skew_micros) };
        traces.push(UiTrace::new(spans, warnings));
    }
    traces
}

pub(crate) fn max_skew(api: &Api) -> i64 {
    api.config.max_clock_skew_adjust_ms as i64 * 1000
}

/// The window a trace looked up by id is read over: the client's `start`/`end` hints when they
/// are plausible µs (Grafana may send ms), else the last `max_span_age`.
pub(crate) fn id_window(api: &Api, params: &Params) -> Result<(i64, i64), QueryError> {
    let (start, end) = (params.int("start")?, params.int("end")?);
    let margin = api.config.max_trace_duration_hours as i64 * 3_600_000;
    let plausible = |t: Option<i64>| t.filter(|t| *t > 1_000_000_000_000_000);
    let now_ms = now_micros() / 1000;
    Ok(match (plausible(start), plausible(end)) {
        (Some(s), Some(e)) => (s / 1000 - margin, e / 1000 + margin),
        (Some(s), None) => (s / 1000 - margin, now_ms + margin),
        _ => (now_ms - api.config.max_span_age_hours as i64 * 3_600_000 - margin, now_ms + margin),
    })
}

pub(crate) fn parse_id(id: &str) -> Result<String, QueryError> {
    parse_trace_id(id)
        .and_then(|_| normalize_trace_id(id))
        .ok_or_else(|| QueryError::BadParameter(format!("cannot parse traceID param: {id:?} is not a hex trace id")))
}

async fn trace_by_id(
    State(api): Shared,
    Path(trace_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, QueryError> {
    let params = Params::parse(query.as_deref());
    let id = parse_id(&trace_id)?;
    let raw = params.boolean("raw")?;
    let (start, end) = id_window(&api, &params)?;
    let mut documents = api.reader.spans(std::slice::from_ref(&id), start, end).await?;
    if documents.is_empty() && (params.get("start").is_some() || params.get("end").is_some()) {
        // The hint may have been wrong (units, clock): look over the default window too.
        let (start, end) = id_window(&api, &Params::default())?;
        documents = api.reader.spans(std::slice::from_ref(&id), start, end).await?;
    }
    let traces = assemble(documents, &[id], raw, max_skew(&api));
    if traces.is_empty() {
        return Err(QueryError::TraceNotFound);
    }
    Ok(envelope(traces, 0))
}

/// The search of `GET /api/traces`, parsed and checked.
fn parse_search(api: &Api, params: &Params) -> Result<TraceQuery, QueryError> {
    let service =
        params.get("service").ok_or_else(|| QueryError::BadParameter("parameter 'service' is required".into()))?;
    let now = now_micros();
    let end = params.int("end")?.unwrap_or(now);
    let start = params.int("start")?.unwrap_or(end - 48 * 3_600_000_000);
    if start > end {
        return Err(QueryError::BadParameter("'start' should be before 'end'".into()));
    }
    let mut tags = BTreeMap::new();
    for tag in params.all("tag") {
        let (key, value) = tag.split_once(':').ok_or_else(|| {
            QueryError::BadParameter(format!("malformed 'tag' parameter, expecting key:value, received: {tag}"))
        })?;
        tags.insert(key.to_string(), value.to_string());
    }
    for json in params.all("tags") {
        let map: BTreeMap<String, Value> = serde_json::from_str(json)
            .map_err(|e| QueryError::BadParameter(format!("malformed 'tags' parameter, cannot unmarshal JSON: {e}")))?;
        for (key, value) in map {
            let value = match value {
                Value::String(s) => s,
                other => other.to_string(),
            };
            tags.insert(key, value);
        }
    }
    let min = params.duration_micros("minDuration")?;
    let max = params.duration_micros("maxDuration")?;
    if let (Some(min), Some(max)) = (min, max) {
        if max < min {
            return Err(QueryError::BadParameter("'maxDuration' should be greater than 'minDuration'".into()));
        }
    }
    let limit = match params.get("limit") {
        None => 100,
        Some(text) => {
            let limit: i64 = text.trim().parse().map_err(|e| bad_param("limit", format!("{e} ({text:?})")))?;
            if limit < 0 || limit as usize > api.config.max_search_limit {
                return Err(bad_param("limit", format!("must be between 0 and {}", api.config.max_search_limit)));
            }
            if limit == 0 {
                100
            } else {
                limit as usize
            }
        }
    };
    Ok(TraceQuery {
        service: service.to_string(),
        operation: params.get("operation").map(str::to_string),
        tags,
        start_micros: start,
        end_micros: end,
        min_duration_micros: min.filter(|m| *m > 0),
        max_duration_micros: max.filter(|m| *m > 0),
        limit,
    })
}

async fn search(State(api): Shared, RawQuery(query): RawQuery) -> Result<Response, QueryError> {
    let params = Params::parse(query.as_deref());
    let raw = params.boolean("raw")?;
    let ids = params.all("traceID");
    if !ids.is_empty() {
        // By id: other filters do not apply; missing traces are reported, not fatal.
        let ids: Vec<String> = ids.iter().map(|id| parse_id(id)).collect::<Result<_, _>>()?;
        let (start, end) = id_window(&api, &params)?;
        let documents = api.reader.spans(&ids, start, end).await?;
        let traces = assemble(documents, &ids, raw, max_skew(&api));
        let errors: Vec<Value> = ids
            .iter()
            .filter(|id| !traces.iter().any(|t| &t.trace_id == *id))
            .map(|id| json!({"msg": "trace not found", "traceID": id}))
            .collect();
        let errors = if errors.is_empty() { None } else { Some(errors) };
        return Ok(Json(Envelope { data: traces, total: 0, limit: 0, offset: 0, errors }).into_response());
    }
    let query = parse_search(&api, &params)?;
    let ids = api.reader.find_trace_ids(&query).await?;
    let margin = api.config.max_trace_duration_hours as i64 * 3_600_000;
    let documents =
        api.reader.spans(&ids, query.start_micros / 1000 - margin, query.end_micros / 1000 + margin).await?;
    let traces = assemble(documents, &ids, raw, max_skew(&api));
    Ok(envelope(traces, 0))
}

/// A dependency link as Jaeger answers it, plus `errorCount`.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Link {
    parent: String,
    child: String,
    call_count: u64,
    error_count: u64,
}

async fn dependencies(State(api): Shared, RawQuery(query): RawQuery) -> Result<Response, QueryError> {
    let params = Params::parse(query.as_deref());
    let end = params.int("endTs")?.unwrap_or(now_micros() / 1000);
    let lookback = params.int("lookback")?.unwrap_or(24 * 3_600_000);
    if lookback < 0 {
        return Err(bad_param("lookback", "must not be negative"));
    }
    let service = params.get("service");
    let mut links: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
    for doc in api.reader.dependencies(end - lookback, end).await? {
        for link in doc["dependencies"].as_array().cloned().unwrap_or_default() {
            let (Some(parent), Some(child)) = (link["parent"].as_str(), link["child"].as_str()) else { continue };
            if service.is_some_and(|s| s != parent && s != child) {
                continue;
            }
            let entry = links.entry((parent.to_string(), child.to_string())).or_default();
            entry.0 += link["callCount"].as_u64().unwrap_or(0);
            entry.1 += link["errorCount"].as_u64().unwrap_or(0);
        }
    }
    let data: Vec<Link> = links
        .into_iter()
        .map(|((parent, child), (call_count, error_count))| Link { parent, child, call_count, error_count })
        .collect();
    let total = data.len();
    Ok(envelope(data, total))
}
