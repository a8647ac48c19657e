//! The analytics role's own metrics (the RED metrics of the spans it reads are in [`crate::red`]).

use crate::partition::Counters;

pub fn documents_written(n: u64) {
    metrics::counter!("skein_analytics_documents_written_total").increment(n);
}

pub fn documents_refused(n: u64) {
    metrics::counter!("skein_analytics_documents_refused_total").increment(n);
}

/// Documents not written because their bucket's day is outside the retained days
/// (`elasticsearch.retention_days`, nothing after tomorrow).
pub fn documents_outside_retention(n: u64) {
    metrics::counter!("skein_analytics_documents_outside_retention_total").increment(n);
}

pub fn write_retries(n: u64) {
    metrics::counter!("skein_analytics_write_retries_total").increment(n);
}

/// How long one live flush took (documents, checkpoints, commit).
pub fn flush_duration(elapsed: std::time::Duration) {
    metrics::histogram!("skein_analytics_flush_duration_seconds").record(elapsed.as_secs_f64());
}

pub fn markers_sent(partition: i32) {
    metrics::counter!("skein_analytics_watermark_markers_sent_total", "partition" => partition.to_string())
        .increment(1);
}

pub fn commits(n: u64) {
    metrics::counter!("skein_analytics_offset_commits_total").increment(n);
}

/// Per-partition gauges after a flush.
pub fn partition_state(partition: i32, open_traces: usize, buffered_spans: usize, watermark_ms: i64) {
    let p = partition.to_string();
    metrics::gauge!("skein_analytics_open_traces", "partition" => p.clone()).set(open_traces as f64);
    metrics::gauge!("skein_analytics_buffered_spans", "partition" => p.clone()).set(buffered_spans as f64);
    if watermark_ms > 0 {
        metrics::gauge!("skein_analytics_watermark_seconds", "partition" => p).set(watermark_ms as f64 / 1000.0);
    }
}

/// Add the counts a partition gathered since the last call.
pub fn counters(delta: &Counters) {
    let add = |name: &'static str, n: u64| {
        if n > 0 {
            metrics::counter!(name).increment(n);
        }
    };
    add("skein_analytics_records_total", delta.records);
    add("skein_analytics_markers_read_total", delta.markers);
    add("skein_analytics_records_undecodable_total", delta.undecodable_records);
    add("skein_analytics_spans_total", delta.spans);
    add("skein_analytics_late_spans_total", delta.late_spans);
    add("skein_analytics_spans_over_trace_limit_total", delta.spans_dropped_from_links);
    add("skein_analytics_replayed_spans_skipped_total", delta.replayed_spans_skipped);
    for (reason, n) in [
        ("idle", delta.traces_closed_idle),
        ("max_age", delta.traces_closed_max_age),
        ("span_limit", delta.traces_closed_span_limit),
        ("capacity", delta.traces_closed_capacity),
    ] {
        if n > 0 {
            metrics::counter!("skein_analytics_traces_closed_total", "reason" => reason).increment(n);
        }
    }
}

/// A newer owner of `partition` refused this worker's write: it stopped writing the partition.
pub fn fenced(partition: i32) {
    metrics::counter!("skein_analytics_fenced_total", "partition" => partition.to_string()).increment(1);
}

/// This worker took ownership of `partition` at `epoch`.
pub fn epoch(partition: i32, epoch: u64) {
    metrics::gauge!("skein_analytics_partition_epoch", "partition" => partition.to_string()).set(epoch as f64);
}

/// Describe the analytics role's metrics and start every series that does not depend on a
/// partition at zero, so `/metrics` lists them from the start (per-partition gauges appear with
/// the first flush of the partition).
pub fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!("skein_analytics_documents_written_total", "Analytics documents Elasticsearch stored");
    describe_counter!("skein_analytics_documents_refused_total", "Analytics documents Elasticsearch refused for good");
    describe_counter!("skein_analytics_write_retries_total", "Analytics bulk writes retried");
    describe_histogram!(
        "skein_analytics_flush_duration_seconds",
        Unit::Seconds,
        "Duration of one live flush (documents, checkpoints, commit)"
    );
    describe_counter!(
        "skein_analytics_watermark_markers_sent_total",
        "Watermark markers this worker wrote, by partition"
    );
    describe_counter!("skein_analytics_offset_commits_total", "Partition offsets committed");
    describe_gauge!("skein_analytics_open_traces", "Traces still being assembled, by partition");
    describe_gauge!("skein_analytics_buffered_spans", "Spans held in open traces, by partition");
    describe_gauge!(
        "skein_analytics_watermark_seconds",
        Unit::Seconds,
        "Event-time watermark of a partition (Unix seconds): buckets before it are final"
    );
    describe_counter!("skein_analytics_records_total", "Kafka records read");
    describe_counter!("skein_analytics_markers_read_total", "Watermark markers read");
    describe_counter!(
        "skein_analytics_records_undecodable_total",
        "Records analytics could not decode or whose tenant header names no tenant (skipped)"
    );
    describe_counter!("skein_analytics_spans_total", "Spans read");
    describe_counter!("skein_analytics_late_spans_total", "Spans older than their partition's watermark");
    describe_counter!(
        "skein_analytics_spans_over_trace_limit_total",
        "Spans left out of dependency links because their trace reached its span limit"
    );
    describe_counter!("skein_analytics_replayed_spans_skipped_total", "Spans skipped as already counted (replay)");
    describe_counter!(
        "skein_analytics_traces_closed_total",
        "Traces closed, by reason (idle, max_age, span_limit, capacity)"
    );
    describe_counter!("skein_analytics_fenced_total", "Writes refused because a newer owner took the partition");
    describe_gauge!("skein_analytics_partition_epoch", "Ownership epoch of a partition this worker holds");
    for name in [
        "skein_analytics_documents_written_total",
        "skein_analytics_documents_refused_total",
        "skein_analytics_write_retries_total",
        "skein_analytics_offset_commits_total",
        "skein_analytics_records_total",
        "skein_analytics_markers_read_total",
        "skein_analytics_records_undecodable_total",
        "skein_analytics_spans_total",
        "skein_analytics_late_spans_total",
        "skein_analytics_spans_over_trace_limit_total",
        "skein_analytics_replayed_spans_skipped_total",
    ] {
        metrics::counter!(name).increment(0);
    }
    for reason in ["idle", "max_age", "span_limit", "capacity"] {
        metrics::counter!("skein_analytics_traces_closed_total", "reason" => reason).increment(0);
    }
    let _ = metrics::histogram!("skein_analytics_flush_duration_seconds");
}
