//! The collector's metrics, named in one place.

use std::time::Duration;

/// Spans that arrived, before validation.
pub fn spans_received(transport: &'static str, count: usize) {
    metrics::counter!("skein_collector_spans_received_total", "transport" => transport).increment(count as u64);
}

/// Spans acknowledged by Kafka.
pub fn spans_accepted(transport: &'static str, count: usize) {
    metrics::counter!("skein_collector_spans_accepted_total", "transport" => transport).increment(count as u64);
}

/// Spans refused, by the transport they came in on and why: validation (`invalid_trace_id`,
/// `invalid_span_id`, `end_before_start`, `span_too_large`, `malformed_span`), the time bounds
/// (`too_old`, `too_far_in_future`) or Kafka
/// (`overloaded`, `kafka_unavailable`, `record_too_large`). One family for every receiver.
pub fn spans_rejected(transport: &'static str, reason: &'static str, count: usize) {
    metrics::counter!("skein_collector_spans_rejected_total", "transport" => transport, "reason" => reason)
        .increment(count as u64);
}

/// Records Kafka acknowledged.
pub fn records_produced(count: usize) {
    metrics::counter!("skein_collector_records_produced_total").increment(count as u64);
}

/// Time from handing a request's records to the producer until Kafka acknowledged the last one.
pub fn produce_latency(elapsed: Duration) {
    metrics::histogram!("skein_collector_produce_latency_seconds").record(elapsed.as_secs_f64());
}

/// Bytes of requests waiting for Kafka.
pub fn in_flight_bytes(delta: f64) {
    metrics::gauge!("skein_collector_in_flight_bytes").increment(delta);
}

/// Requests by transport and outcome (`ok`, `partial`, `invalid`, `overloaded`, `unavailable`, ...).
pub fn request(transport: &'static str, outcome: &'static str) {
    metrics::counter!("skein_collector_requests_total", "transport" => transport, "outcome" => outcome).increment(1);
}
