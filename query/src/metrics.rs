//! Jaeger's service performance monitoring API (`/api/metrics/latencies|calls|errors`, the Monitor
//! tab of Jaeger UI), answered from the analytics role's `skein-metrics-*` documents: call rates and
//! error rates from the per-bucket counts, latency quantiles from merged duration sketches.
//!
//! Each point at time `t` covers the buckets starting in `[t − ratePer, t)`, as a Prometheus
//! `rate(...[ratePer])` evaluated at `t` would.

use std::collections::BTreeMap;

use axum::extract::{Path, RawQuery};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::json;
use skein_schemas::sketch::DurationSketch;
use skein_schemas::span_kind::{self, SpanKind};

use crate::error::{bad_param, QueryError};
use crate::params::Params;
use crate::state::Shared;

/// Most points one answer may hold.
const MAX_POINTS: i64 = 10_000;

#[derive(Clone, Copy, PartialEq)]
enum Metric {
    Latencies,
    Calls,
    Errors,
}

/// Jaeger's `MetricFamily`, fields in its order.
#[derive(serde::Serialize)]
struct MetricFamily {
    name: String,
    r#type: &'static str,
    help: String,
    metrics: Vec<serde_json::Value>,
}

#[derive(Default)]
struct Totals {
    calls: u64,
    errors: u64,
    sketch: DurationSketch,
}

/// `GET /api/metrics/{latencies|calls|errors}`.
pub async fn metrics(
    Shared(state): Shared,
    Path(metric): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, QueryError> {
    let metric = match metric.as_str() {
        "latencies" => Metric::Latencies,
        "calls" => Metric::Calls,
        "errors" => Metric::Errors,
        other => {
            return Err(QueryError::BadParameter(format!("unknown metric '{other}': use latencies, calls or errors")))
        }
    };
    let params = Params::parse(query.as_deref());
    // Jaeger UI joins several services with commas.
    let services: Vec<String> =
        params.all("service").iter().flat_map(|s| s.split(',')).filter(|s| !s.is_empty()).map(str::to_string).collect();
    if services.is_empty() {
        return Err(bad_param("service", "please provide at least one service name"));
    }
    let mut kinds = Vec::new();
    for kind in params.all("spanKind") {
        // Jaeger UI sends OTLP's names (`SPAN_KIND_SERVER`).
        let kind = kind.trim_start_matches("SPAN_KIND_").to_ascii_lowercase();
        if span_kind::from_name(&kind).is_none() {
            return Err(bad_param("spanKind", format!("unsupported span kind: '{kind}'")));
        }
        kinds.push(kind);
    }
    if kinds.is_empty() {
        kinds.push(span_kind::name(SpanKind::Server).into());
    }
    let quantile = match metric {
        Metric::Latencies => {
            let text = params.get("quantile").ok_or_else(|| bad_param("quantile", "a quantile is required"))?;
            let q: f64 = text.parse().map_err(|e| bad_param("quantile", e))?;
            if !(0.0..=1.0).contains(&q) {
                return Err(bad_param("quantile", "must be between 0 and 1"));
            }
            q
        }
        _ => 0.0,
    };
    let by_operation = params.boolean("groupByOperation")?;
    let end = params.epoch_ms("endTs")?.unwrap_or_else(|| Utc::now().timestamp_millis());
    let lookback = params.span_ms("lookback")?.unwrap_or(3_600_000);
    let step = params.span_ms("step")?.unwrap_or(5_000);
    let rate_per = params.span_ms("ratePer")?.unwrap_or(600_000);
    for (name, value) in [("lookback", lookback), ("step", step), ("ratePer", rate_per)] {
        if value <= 0 {
            return Err(bad_param(name, "must be positive"));
        }
    }
    if lookback / step > MAX_POINTS {
        return Err(bad_param("step", format!("too small for the lookback: more than {MAX_POINTS} points")));
    }

    let documents =
        state.reader.metrics(&services, &kinds, end.saturating_sub(lookback).saturating_sub(rate_per), end).await?;
    // group → bucket start → totals
    let mut groups: BTreeMap<(String, Option<String>), BTreeMap<i64, Totals>> = BTreeMap::new();
    for doc in documents {
        let Some(start) = doc.timestamp.as_deref().and_then(|t| DateTime::parse_from_rfc3339(t).ok()) else {
            continue;
        };
        let service = doc.service.unwrap_or_default();
        let operation = by_operation.then(|| doc.operation.unwrap_or_default());
        let totals = groups.entry((service, operation)).or_default().entry(start.timestamp_millis()).or_default();
        totals.calls += doc.calls;
        totals.errors += doc.errors;
        if metric == Metric::Latencies {
            if let Some(sketch) = &doc.duration_sketch {
                totals.sketch.merge(sketch);
            }
        }
    }

    let mut series = Vec::new();
    for ((service, operation), buckets) in &groups {
        let mut points = Vec::new();
        let mut t = end.saturating_sub(lookback);
        while t <= end {
            let mut window = Totals::default();
            for (_, totals) in buckets.range(t.saturating_sub(rate_per)..t) {
                window.calls += totals.calls;
                window.errors += totals.errors;
                if metric == Metric::Latencies {
                    window.sketch.merge(&totals.sketch);
                }
            }
            let value = match metric {
                Metric::Calls => Some(window.calls as f64 / (rate_per as f64 / 1000.0)),
                Metric::Errors => (window.calls > 0).then(|| window.errors as f64 / window.calls as f64),
                Metric::Latencies => window.sketch.quantile(quantile).map(|ns| ns / 1e6),
            };
            let timestamp = DateTime::<Utc>::from_timestamp_millis(t)
                .unwrap_or_default()
                .to_rfc3339_opts(SecondsFormat::Secs, true);
            let value = value.map_or(json!("NaN"), |v| json!(v));
            points.push(json!({"gaugeValue": {"doubleValue": value}, "timestamp": timestamp}));
            t += step;
        }
        let mut labels = vec![json!({"name": "service_name", "value": service})];
        if let Some(operation) = operation {
            labels.push(json!({"name": "operation", "value": operation}));
        }
        series.push(json!({"labels": labels, "metricPoints": points}));
    }
    let scope = if by_operation { "service_operation" } else { "service" };
    let grouping = if by_operation { "service & operation" } else { "service" };
    let (name, help) = match metric {
        Metric::Latencies => {
            (format!("{scope}_latencies"), format!("{quantile:.2}th quantile latency, grouped by {grouping}"))
        }
        Metric::Calls => (format!("{scope}_call_rate"), format!("calls/sec, grouped by {grouping}")),
        Metric::Errors => (
            format!("{scope}_error_rate"),
            format!("error rate, computed as a fraction of errors/sec over calls/sec, grouped by {grouping}"),
        ),
    };
    Ok(Json(MetricFamily { name, r#type: "GAUGE", help, metrics: series }).into_response())
}
