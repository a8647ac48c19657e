//! The ingester's metrics, named in one place.

use std::time::Duration;

pub fn records_consumed(count: u64) {
    metrics::counter!("skein_ingester_records_consumed_total").increment(count);
}

pub fn documents_indexed(count: u64) {
    metrics::counter!("skein_ingester_documents_indexed_total").increment(count);
}

pub fn bulk_latency(elapsed: Duration) {
    metrics::histogram!("skein_ingester_bulk_latency_seconds").record(elapsed.as_secs_f64());
}

/// Bulk retries by cause: `transport` (no answer), `status` (whole request refused for now: 408,
/// 429, 5xx), `refused` (whole request refused for good: other 4xx), `items` (some items refused
/// for now), `denied` (items denied until an operator acts).
pub fn bulk_retry(cause: &'static str) {
    metrics::counter!("skein_ingester_bulk_retries_total", "cause" => cause).increment(1);
}

/// Records sent to the DLQ by kind (`decode`, `rejected`, `out_of_range`).
pub fn dead_letters(kind: &'static str) {
    metrics::counter!("skein_ingester_dlq_records_total", "kind" => kind).increment(1);
}

pub fn consumer_lag(topic: &str, partition: i32, lag: i64) {
    metrics::gauge!("skein_ingester_consumer_lag_records", "topic" => topic.to_string(), "partition" => partition.to_string())
        .set(lag as f64);
}

pub fn paused(paused: bool) {
    metrics::gauge!("skein_ingester_partitions_paused").set(if paused { 1.0 } else { 0.0 });
}

pub fn commits(count: u64) {
    metrics::counter!("skein_ingester_offset_commits_total").increment(count);
}

pub fn pending_records(count: usize) {
    metrics::gauge!("skein_ingester_pending_records").set(count as f64);
}

/// Bulk writes waiting for an operator (denied items, requests refused for good).
pub fn writes_blocked(count: usize) {
    metrics::gauge!("skein_ingester_writes_blocked").set(count as f64);
}

/// Offset commits Kafka did not take (they are offered again on the next commit tick).
pub fn commit_failures(count: u64) {
    metrics::counter!("skein_ingester_offset_commit_failures_total").increment(count);
}

/// Spans not indexed because their day is outside the retained days, by `side`
/// (`before_retained_days`, `after_tomorrow`); their records are in the DLQ.
pub fn spans_outside_retention(side: &'static str) {
    metrics::counter!("skein_ingester_spans_outside_retention_total", "side" => side).increment(1);
}

/// Indices the daily clean deleted.
pub fn retention_indices_deleted(count: u64) {
    metrics::counter!("skein_retention_indices_deleted_total").increment(count);
}

/// One check of the daily clean by outcome: `cleaned` (this instance cleaned), `done_today`,
/// `held_elsewhere` (another instance holds the lease), `failed`.
pub fn retention_run(outcome: &'static str) {
    metrics::counter!("skein_retention_checks_total", "outcome" => outcome).increment(1);
}

/// When this instance last finished a clean, seconds since the epoch.
pub fn retention_last_success(at_ms: i64) {
    metrics::gauge!("skein_retention_last_success_timestamp_seconds").set(at_ms as f64 / 1000.0);
}
