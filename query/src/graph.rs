//! The service graph from the analytics role's `skein-metrics-*` series (documented in
//! `docs/api.md`, "Graph"):
//!
//! - `GET /api/skein/graph`: services (their serving spans' calls and errors) and service links
//!   (calls, errors, p50/p95/p99 from merged sketches);
//! - `GET /api/skein/graph/operations?service=`: the operation links touching a service and the
//!   operations at their ends;
//! - `GET /analytics/v1/dependencies?service=&operation=`: the same operation links as Jaeger
//!   UI's deep dependency graph reads them.
//!
//! Each reads the documents of its time range ([`crate::reader::Reader::series_documents`]) and
//! hands them to the pure functions of [`aggregate`] and [`paths`].

pub mod aggregate;
pub mod paths;

use axum::extract::RawQuery;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use skein_schemas::analytics::{MetricsFields, SeriesKind};
use skein_schemas::span_kind::{self, SERVING};

use crate::error::{bad_param, QueryError};
use crate::params::Params;
use crate::state::{QueryState, Shared};

/// Window when the client names none: the last hour.
const DEFAULT_LOOKBACK_MS: i64 = 3_600_000;

const OPERATION_FIELDS: [&str; 5] = ["service", "operation", "spanKind", "calls", "errors"];
const LINK_FIELDS: [&str; 5] = ["parent", "child", "calls", "errors", "durationSketch"];
const OPERATION_LINK_FIELDS: [&str; 8] =
    ["service", "operation", "child", "childOperation", "calls", "errors", "durationSketch", "exemplarTraceId"];
/// The deep dependency graph needs no sketches.
const PATH_FIELDS: [&str; 7] =
    ["service", "operation", "child", "childOperation", "calls", "exemplarTraceId", "durationMaxNanos"];

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// `[endTs − lookback, endTs]` in ms (defaults: now, one hour).
fn window(params: &Params) -> Result<(i64, i64), QueryError> {
    let end = params.epoch_ms("endTs")?.unwrap_or_else(now_ms);
    let lookback = params.span_ms("lookback")?.unwrap_or(DEFAULT_LOOKBACK_MS);
    Ok((end.saturating_sub(lookback), end))
}

fn required<'a>(params: &'a Params, name: &str) -> Result<&'a str, QueryError> {
    params.get(name).ok_or_else(|| QueryError::BadParameter(format!("parameter '{name}' is required")))
}

/// `GET /api/skein/graph?endTs=<ms>&lookback=<ms>`.
pub async fn service_graph(Shared(state): Shared, RawQuery(query): RawQuery) -> Result<Response, QueryError> {
    let params = Params::parse(query.as_deref());
    let (start, end) = window(&params)?;
    let serving = vec![json!({"terms": {"spanKind": SERVING.map(span_kind::name)}})];
    let reader = &state.reader;
    let (operations, links, exemplars) = tokio::join!(
        reader.series_documents(SeriesKind::Operation, serving, &OPERATION_FIELDS, start, end),
        reader.series_documents(SeriesKind::Link, Vec::new(), &LINK_FIELDS, start, end),
        reader.service_link_exemplars(aggregate::EXEMPLARS_PER_SERVICE_LINK, start, end),
    );
    Ok(Json(aggregate::service_graph(&operations?, &links?, &exemplars?)).into_response())
}

/// Operation link documents with either end in `service`.
async fn operation_link_documents(
    state: &QueryState,
    service: &str,
    start: i64,
    end: i64,
) -> Result<Vec<MetricsFields>, QueryError> {
    let either_end = json!({"bool": {"should": [
        {"term": {"service": service}},
        {"term": {"child": service}}
    ], "minimum_should_match": 1}});
    state.reader.series_documents(SeriesKind::OperationLink, vec![either_end], &OPERATION_LINK_FIELDS, start, end).await
}

/// `GET /api/skein/graph/operations?service=<name>&endTs=<ms>&lookback=<ms>`.
pub async fn operation_graph(Shared(state): Shared, RawQuery(query): RawQuery) -> Result<Response, QueryError> {
    let params = Params::parse(query.as_deref());
    let service = required(&params, "service")?;
    let (start, end) = window(&params)?;
    let links = operation_link_documents(&state, service, start, end).await?;
    let services = aggregate::involved_services(service, &aggregate::operation_links(&links));
    let filter = vec![json!({"terms": {"service": services}})];
    let operations =
        state.reader.series_documents(SeriesKind::Operation, filter, &OPERATION_FIELDS, start, end).await?;
    Ok(Json(aggregate::operation_graph(service, &links, &operations)).into_response())
}

/// `GET /analytics/v1/dependencies?service=<name>[&operation=<name>][&start=<ms>&end=<ms>]`:
/// Jaeger UI's deep dependency graph. Jaeger UI sends `start=0&end=0`: 0 or nothing means the
/// last hour.
pub async fn deep_dependencies(Shared(state): Shared, RawQuery(query): RawQuery) -> Result<Response, QueryError> {
    let params = Params::parse(query.as_deref());
    let service = required(&params, "service")?;
    let operation = params.get("operation");
    let end = params.epoch_ms("end")?.filter(|t| *t > 0).unwrap_or_else(now_ms);
    let start = params.epoch_ms("start")?.filter(|t| *t > 0).unwrap_or(end.saturating_sub(DEFAULT_LOOKBACK_MS));
    if start > end {
        return Err(bad_param("start", "must not be after 'end'"));
    }
    // Paths may run through any service: read every operation link of the window.
    let docs = state.reader.series_documents(SeriesKind::OperationLink, Vec::new(), &PATH_FIELDS, start, end).await?;
    let links = aggregate::operation_links(&docs);
    Ok(Json(paths::deep_dependencies(&links, service, operation, paths::Bounds::default())).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_defaults_to_the_last_hour_and_names_a_bad_parameter() {
        let (start, end) = window(&Params::parse(Some("endTs=7200000&lookback=600000"))).unwrap();
        assert_eq!((start, end), (6_600_000, 7_200_000));
        let (start, end) = window(&Params::parse(Some("endTs=7200000"))).unwrap();
        assert_eq!(end - start, DEFAULT_LOOKBACK_MS);
        let error = window(&Params::parse(Some("lookback=-1"))).unwrap_err().to_string();
        assert!(error.contains("'lookback'"), "{error}");
        let error = window(&Params::parse(Some("endTs=soon"))).unwrap_err().to_string();
        assert!(error.contains("'endTs'"), "{error}");
        let error = required(&Params::parse(Some("service=")), "service").unwrap_err().to_string();
        assert_eq!(error, "parameter 'service' is required");
    }
}
