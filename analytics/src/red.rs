//! RED metrics (rate, errors, duration) per (service, operation, kind) on the analytics role's
//! `/metrics`, named and labelled as the OpenTelemetry Collector's spanmetrics connector names them,
//! so Jaeger's Monitor tab (Prometheus metrics store with `normalize_calls`/`normalize_duration`)
//! and existing alerts work unchanged. Spans are counted in the read loop into a local table, and
//! folded into the shared, rendered table at each flush: no lock or registry lookup per span.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustc_hash::FxHashMap;
use skein_schemas::span_kind;

use crate::names::Names;

/// Upper bounds of the duration buckets, ms (the spanmetrics connector's defaults).
const BUCKETS_MS: [f64; 16] =
    [2.0, 4.0, 6.0, 8.0, 10.0, 50.0, 100.0, 200.0, 400.0, 800.0, 1000.0, 1400.0, 2000.0, 5000.0, 10000.0, 15000.0];

#[derive(Clone, Default)]
struct Counts {
    calls: u64,
    sum_ms: f64,
    /// Per bucket (not cumulative), the last slot is +Inf.
    buckets: [u64; BUCKETS_MS.len() + 1],
}

impl Counts {
    fn add(&mut self, other: &Counts) {
        self.calls += other.calls;
        self.sum_ms += other.sum_ms;
        for (a, b) in self.buckets.iter_mut().zip(other.buckets) {
            *a += b;
        }
    }
}

/// (service, operation, kind, error)
type LocalKey = (u32, u32, u8, bool);
/// (service, operation, kind label, status label)
type SharedKey = (String, String, &'static str, &'static str);

/// Counts since the last flush, keyed by interned names.
#[derive(Default)]
pub struct RedLocal {
    counts: FxHashMap<LocalKey, Counts>,
}

impl RedLocal {
    pub fn observe(&mut self, service: u32, operation: u32, k: u8, error: bool, duration_nanos: u64) {
        let ms = duration_nanos as f64 / 1e6;
        let counts = self.counts.entry((service, operation, k, error)).or_default();
        counts.calls += 1;
        counts.sum_ms += ms;
        let slot = BUCKETS_MS.partition_point(|bound| *bound < ms);
        counts.buckets[slot] += 1;
    }
}

/// The cumulative table `/metrics` renders.
#[derive(Clone)]
pub struct RedMetrics {
    inner: Arc<Mutex<Shared>>,
}

struct Shared {
    max_series: usize,
    series: BTreeMap<SharedKey, Counts>,
    dropped_spans: u64,
    /// Dropped spans not yet in a warning, and when the last warning was logged.
    unreported_spans: u64,
    warned_at: Option<Instant>,
}

/// At most one warning about the series limit per this long.
const WARN_EVERY: Duration = Duration::from_secs(10);

fn kind_label(k: u8) -> &'static str {
    span_kind::from_otlp(i32::from(k)).as_str_name()
}

fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

impl RedMetrics {
    pub fn new(max_series: usize) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Shared {
                max_series,
                series: BTreeMap::new(),
                dropped_spans: 0,
                unreported_spans: 0,
                warned_at: None,
            })),
        }
    }

    /// Fold the loop's counts in and reset them.
    pub fn fold(&self, local: &mut RedLocal, names: &Names) {
        let mut shared = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        for ((service, operation, k, error), counts) in local.counts.drain() {
            let status = if error { "STATUS_CODE_ERROR" } else { "STATUS_CODE_UNSET" };
            let key = (names.name(service).to_string(), names.name(operation).to_string(), kind_label(k), status);
            let at_limit = shared.series.len() >= shared.max_series;
            match shared.series.get_mut(&key) {
                Some(existing) => existing.add(&counts),
                None if !at_limit => {
                    shared.series.insert(key, counts);
                }
                None => {
                    shared.dropped_spans += counts.calls;
                    shared.unreported_spans += counts.calls;
                }
            }
        }
        if shared.unreported_spans > 0 && shared.warned_at.is_none_or(|at| at.elapsed() >= WARN_EVERY) {
            tracing::warn!(
                max_series = shared.max_series,
                spans = shared.unreported_spans,
                "analytics.max_metric_series reached: spans of new series are left off /metrics (skein-metrics documents still count them)"
            );
            shared.unreported_spans = 0;
            shared.warned_at = Some(Instant::now());
        }
    }

    /// Prometheus text exposition of the table.
    pub fn render(&self) -> String {
        let shared = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut out = String::new();
        out.push_str("# HELP traces_span_metrics_calls_total Spans read by skein analytics.\n");
        out.push_str("# TYPE traces_span_metrics_calls_total counter\n");
        let label = |(service, operation, k, status): &SharedKey| {
            format!(
                "service_name=\"{}\",span_name=\"{}\",span_kind=\"{k}\",status_code=\"{status}\"",
                escape(service),
                escape(operation)
            )
        };
        for (key, counts) in &shared.series {
            let _ = writeln!(out, "traces_span_metrics_calls_total{{{}}} {}", label(key), counts.calls);
        }
        out.push_str("# HELP traces_span_metrics_duration_milliseconds Span durations read by skein analytics.\n");
        out.push_str("# TYPE traces_span_metrics_duration_milliseconds histogram\n");
        for (key, counts) in &shared.series {
            let labels = label(key);
            let mut cumulative = 0;
            for (bound, n) in BUCKETS_MS.iter().zip(counts.buckets) {
                cumulative += n;
                let _ = writeln!(
                    out,
                    "traces_span_metrics_duration_milliseconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}"
                );
            }
            cumulative += counts.buckets[BUCKETS_MS.len()];
            let _ =
                writeln!(out, "traces_span_metrics_duration_milliseconds_bucket{{{labels},le=\"+Inf\"}} {cumulative}");
            let _ = writeln!(out, "traces_span_metrics_duration_milliseconds_sum{{{labels}}} {}", counts.sum_ms);
            let _ = writeln!(out, "traces_span_metrics_duration_milliseconds_count{{{labels}}} {}", counts.calls);
        }
        out.push_str("# HELP skein_analytics_red_series_dropped_total Spans not on /metrics because analytics.max_metric_series was reached.\n");
        out.push_str("# TYPE skein_analytics_red_series_dropped_total counter\n");
        let _ = writeln!(out, "skein_analytics_red_series_dropped_total {}", shared.dropped_spans);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_spanmetrics_names_with_cumulative_buckets_and_error_status() {
        let mut names = Names::default();
        let (svc, op) = (names.id("web"), names.id("GET \"/\""));
        let mut local = RedLocal::default();
        local.observe(svc, op, span_kind::SpanKind::Server as u8, false, 3_000_000);
        local.observe(svc, op, span_kind::SpanKind::Server as u8, false, 70_000_000);
        local.observe(svc, op, span_kind::SpanKind::Server as u8, true, 20_000_000_000);
        let metrics = RedMetrics::new(10);
        metrics.fold(&mut local, &names);
        let text = metrics.render();
        let ok =
            r#"service_name="web",span_name="GET \"/\"",span_kind="SPAN_KIND_SERVER",status_code="STATUS_CODE_UNSET""#;
        assert!(text.contains(&format!("traces_span_metrics_calls_total{{{ok}}} 2")), "{text}");
        assert!(text.contains(&format!("traces_span_metrics_duration_milliseconds_bucket{{{ok},le=\"4\"}} 1")));
        assert!(text.contains(&format!("traces_span_metrics_duration_milliseconds_bucket{{{ok},le=\"100\"}} 2")));
        assert!(text.contains("status_code=\"STATUS_CODE_ERROR\",le=\"+Inf\"} 1"));
    }

    #[test]
    fn series_beyond_the_limit_are_counted_not_shown() {
        let mut names = Names::default();
        let mut local = RedLocal::default();
        for i in 0..5 {
            let op = names.id(&format!("op{i}"));
            local.observe(0, op, 2, false, 1);
        }
        names.id("svc");
        let metrics = RedMetrics::new(3);
        metrics.fold(&mut local, &names);
        let text = metrics.render();
        assert_eq!(text.matches("traces_span_metrics_calls_total{").count(), 3);
        assert!(text.contains("skein_analytics_red_series_dropped_total 2"));
    }
}
