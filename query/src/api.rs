//! Jaeger's `/api` HTTP endpoints (the ones Jaeger UI and Grafana's Jaeger data source call), with
//! Jaeger's envelope `{data, total, limit, offset, errors}`.

use std::collections::BTreeMap;

use axum::extract::{Path, RawQuery};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use skein_schemas::span_kind::{self, SpanKind};

use crate::envelope::{envelope, Envelope};
use crate::error::{bad_param, QueryError};
use crate::params::Params;
use crate::reader::TraceQuery;
use crate::state::{QueryState, Shared};
use crate::traces::{assemble, id_window, parse_id};

fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

/// `GET /api/services`.
pub async fn services(Shared(state): Shared) -> Result<Response, QueryError> {
    let services = state.reader.services(now_micros() / 1000, state.config.services_lookback_days).await?;
    let total = services.len();
    Ok(envelope(services, total))
}

/// `GET /api/services/{service}/operations`.
pub async fn service_operations(Shared(state): Shared, Path(service): Path<String>) -> Result<Response, QueryError> {
    let operations =
        state.reader.operations(&service, now_micros() / 1000, state.config.services_lookback_days).await?;
    let total = operations.len();
    // Jaeger answers `null` for a service without operations.
    let data = if operations.is_empty() { Value::Null } else { json!(operations) };
    Ok(envelope(data, total))
}

/// `GET /api/operations?service=<name>[&spanKind=<kind>]`.
pub async fn operations(Shared(state): Shared, RawQuery(query): RawQuery) -> Result<Response, QueryError> {
    let params = Params::parse(query.as_deref());
    let service =
        params.get("service").ok_or_else(|| QueryError::BadParameter("parameter 'service' is required".into()))?;
    let kind = params
        .get("spanKind")
        .map(|name| {
            span_kind::from_name(name).ok_or_else(|| bad_param("spanKind", format!("unsupported span kind: '{name}'")))
        })
        .transpose()?;
    // Unspecified spans have no `span.kind` tag: read them all and keep those without one.
    let stored_kind = kind.and_then(span_kind::jaeger_tag);
    let pairs = state
        .reader
        .operations_with_kind(service, stored_kind, now_micros() / 1000, state.config.services_lookback_days)
        .await?;
    let data: Vec<Value> = pairs
        .into_iter()
        .filter(|(_, k)| kind != Some(SpanKind::Unspecified) || k.is_empty())
        .map(|(name, stored)| json!({"name": name, "spanKind": stored}))
        .collect();
    let total = data.len();
    Ok(envelope(data, total))
}

/// `GET /api/traces/{trace_id}`.
pub async fn trace_by_id(
    Shared(state): Shared,
    Path(trace_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, QueryError> {
    let params = Params::parse(query.as_deref());
    let id = parse_id(&trace_id)?;
    let raw = params.boolean("raw")?;
    let (start, end) = id_window(&state, &params)?;
    let mut documents = state.reader.spans(std::slice::from_ref(&id), start, end).await?;
    if documents.is_empty() && (params.get("start").is_some() || params.get("end").is_some()) {
        // The hint may have been wrong (units, clock): look over the default window too.
        let (start, end) = id_window(&state, &Params::default())?;
        documents = state.reader.spans(std::slice::from_ref(&id), start, end).await?;
    }
    let traces = assemble(documents, &[id], raw, state.max_skew_micros(), state.config.max_spans_per_trace);
    if traces.is_empty() {
        return Err(QueryError::TraceNotFound);
    }
    Ok(envelope(traces, 0))
}

/// The search of `GET /api/traces`, parsed and checked.
fn parse_search(state: &QueryState, params: &Params) -> Result<TraceQuery, QueryError> {
    let service =
        params.get("service").ok_or_else(|| QueryError::BadParameter("parameter 'service' is required".into()))?;
    let now = now_micros();
    let end = params.epoch_micros("end")?.unwrap_or(now);
    let start = params.epoch_micros("start")?.unwrap_or(end.saturating_sub(48 * 3_600_000_000));
    if start > end {
        return Err(QueryError::BadParameter("'start' should be before 'end'".into()));
    }
    state.check_lookback("start", start)?;
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
            if limit < 0 || limit as usize > state.config.max_search_limit {
                return Err(bad_param("limit", format!("must be between 0 and {}", state.config.max_search_limit)));
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

/// `GET /api/traces`: by `traceID`, or a search.
pub async fn search(Shared(state): Shared, RawQuery(query): RawQuery) -> Result<Response, QueryError> {
    let params = Params::parse(query.as_deref());
    let raw = params.boolean("raw")?;
    let ids = params.all("traceID");
    if !ids.is_empty() {
        // By id: other filters do not apply; missing traces are reported, not fatal.
        let ids: Vec<String> = ids.iter().map(|id| parse_id(id)).collect::<Result<_, _>>()?;
        let (start, end) = id_window(&state, &params)?;
        let documents = state.reader.spans(&ids, start, end).await?;
        let traces = assemble(documents, &ids, raw, state.max_skew_micros(), state.config.max_spans_per_trace);
        let errors: Vec<Value> = ids
            .iter()
            .filter(|id| !traces.iter().any(|t| &t.trace_id == *id))
            .map(|id| json!({"msg": "trace not found", "traceID": id}))
            .collect();
        let errors = if errors.is_empty() { None } else { Some(errors) };
        return Ok(Json(Envelope { data: traces, total: 0, limit: 0, offset: 0, errors }).into_response());
    }
    let query = parse_search(&state, &params)?;
    let ids = state.reader.find_trace_ids(&query).await?;
    let margin = state.trace_margin_ms();
    let documents =
        state.reader.spans(&ids, query.start_micros / 1000 - margin, query.end_micros / 1000 + margin).await?;
    let traces = assemble(documents, &ids, raw, state.max_skew_micros(), state.config.max_spans_per_trace);
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

/// `GET /api/dependencies?endTs=<ms>&lookback=<ms>[&service=<name>]`.
pub async fn dependencies(Shared(state): Shared, RawQuery(query): RawQuery) -> Result<Response, QueryError> {
    let params = Params::parse(query.as_deref());
    let end = params.epoch_ms("endTs")?.unwrap_or(now_micros() / 1000);
    let lookback = params.span_ms("lookback")?.unwrap_or(24 * 3_600_000);
    state.check_lookback("lookback", end.saturating_sub(lookback).saturating_mul(1000))?;
    let service = params.get("service");
    let mut links: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
    for doc in state.reader.dependencies(end.saturating_sub(lookback), end).await? {
        for link in doc.dependencies {
            if service.is_some_and(|s| s != link.parent && s != link.child) {
                continue;
            }
            let entry = links.entry((link.parent, link.child)).or_default();
            entry.0 += link.call_count;
            entry.1 += link.error_count;
        }
    }
    let data: Vec<Link> = links
        .into_iter()
        .map(|((parent, child), (call_count, error_count))| Link { parent, child, call_count, error_count })
        .collect();
    let total = data.len();
    Ok(envelope(data, total))
}
