//! The ingester's metrics, named in one place.

use std::time::Duration;

use skein_core::elasticsearch::bulk::RetryCause;
use skein_schemas::dlq::DeadLetterKind;

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

/// Records sent to the DLQ by kind (`decode`, `rejected`, `out_of_range`, `invalid_tenant`).
pub fn dead_letters(kind: &'static str) {
    metrics::counter!("skein_ingester_dlq_records_total", "kind" => kind).increment(1);
}

pub fn consumer_lag(topic: &str, partition: i32, lag: i64) {
    metrics::gauge!("skein_ingester_consumer_lag_records", "topic" => topic.to_string(), "partition" => partition.to_string())
        .set(lag as f64);
}

/// How far behind a partition is in time ([`crate::lag::seconds_behind`]).
pub fn consumer_lag_seconds(topic: &str, partition: i32, seconds: f64) {
    metrics::gauge!("skein_ingester_consumer_lag_seconds", "topic" => topic.to_string(), "partition" => partition.to_string())
        .set(seconds);
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

/// Retry causes of [`bulk_retry`] and kinds of [`dead_letters`]: started at zero, so the first
/// retry or dead letter is an increase Prometheus sees (a series that appears at 1 is not).
const BULK_RETRY_CAUSES: [RetryCause; 5] =
    [RetryCause::Transport, RetryCause::Status, RetryCause::Refused, RetryCause::Items, RetryCause::Denied];
const DEAD_LETTER_KINDS: [DeadLetterKind; 4] =
    [DeadLetterKind::Decode, DeadLetterKind::Rejected, DeadLetterKind::OutOfRange, DeadLetterKind::InvalidTenant];

/// Describe the ingester's metrics and start every series that does not depend on a partition at
/// zero, so `/metrics` lists them from the start.
pub fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!("skein_ingester_records_consumed_total", "Kafka records read from the spans topic");
    describe_counter!("skein_ingester_documents_indexed_total", "Span and service documents Elasticsearch stored");
    describe_histogram!("skein_ingester_bulk_latency_seconds", Unit::Seconds, "Duration of one bulk request");
    describe_counter!(
        "skein_ingester_bulk_retries_total",
        "Bulk retries by cause: transport, status (408/429/5xx), refused (other 4xx), items (some items refused for now), denied (until an operator acts)"
    );
    describe_counter!(
        "skein_ingester_dlq_records_total",
        "Records sent to the dead-letter topic, by kind (decode, rejected, out_of_range, invalid_tenant)"
    );
    describe_gauge!(
        "skein_ingester_consumer_lag_records",
        "Records of a partition not yet committed (librdkafka statistics, every 5 s)"
    );
    describe_gauge!(
        "skein_ingester_consumer_lag_seconds",
        Unit::Seconds,
        "How far behind a partition is in time: 0 when caught up, else the age of the newest record read (its Kafka timestamp)"
    );
    describe_gauge!(
        "skein_ingester_partitions_paused",
        "1 while the ingester paused its partitions (bulk writers busy)"
    );
    describe_counter!("skein_ingester_offset_commits_total", "Partition offsets committed");
    describe_gauge!("skein_ingester_pending_records", "Records read but not yet durable in Elasticsearch");
    describe_gauge!(
        "skein_ingester_writes_blocked",
        "Bulk writes waiting for an operator (denied items, requests refused for good, e.g. a write block)"
    );
    describe_counter!("skein_ingester_offset_commit_failures_total", "Offset commits Kafka did not take");
    describe_counter!(
        "skein_ingester_spans_outside_retention_total",
        "Spans not indexed because their day is outside the retained days, by side (before_retained_days, after_tomorrow); their records are in the DLQ"
    );
    describe_counter!(
        "skein_retention_indices_deleted_total",
        "Indices the daily clean (elasticsearch.retention_days) deleted"
    );
    describe_counter!(
        "skein_retention_checks_total",
        "Checks of the daily clean by outcome (cleaned, done_today, held_elsewhere, failed)"
    );
    describe_gauge!(
        "skein_retention_last_success_timestamp_seconds",
        Unit::Seconds,
        "When this instance last finished the daily clean"
    );
    metrics::counter!("skein_ingester_records_consumed_total").increment(0);
    metrics::counter!("skein_ingester_documents_indexed_total").increment(0);
    let _ = metrics::histogram!("skein_ingester_bulk_latency_seconds");
    for cause in BULK_RETRY_CAUSES {
        metrics::counter!("skein_ingester_bulk_retries_total", "cause" => cause.label()).increment(0);
    }
    for kind in DEAD_LETTER_KINDS {
        metrics::counter!("skein_ingester_dlq_records_total", "kind" => kind.as_str()).increment(0);
    }
    paused(false);
    commits(0);
    pending_records(0);
    writes_blocked(0);
    commit_failures(0);
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_dead_letter_kind_and_retry_cause_is_on_metrics_at_zero_with_its_help() {
        skein_core::telemetry::prometheus();
        super::describe();
        let text = skein_core::telemetry::render_metrics();
        for line in [
            "# HELP skein_ingester_dlq_records_total ",
            r#"skein_ingester_dlq_records_total{kind="decode"} 0"#,
            r#"skein_ingester_dlq_records_total{kind="rejected"} 0"#,
            r#"skein_ingester_bulk_retries_total{cause="denied"} 0"#,
            "# TYPE skein_ingester_bulk_latency_seconds histogram",
            "skein_ingester_writes_blocked 0",
        ] {
            assert!(text.contains(line), "{line:?} not in:\n{text}");
        }
    }
}
