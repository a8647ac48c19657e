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
/// (`too_old`, `too_far_in_future`), the tenant's rate limit (`rate_limited`) or Kafka
/// (`overloaded`, `kafka_unavailable`, `record_too_large`). One family for every receiver.
pub fn spans_rejected(transport: &'static str, reason: &'static str, count: usize) {
    metrics::counter!("skein_collector_spans_rejected_total", "transport" => transport, "reason" => reason)
        .increment(count as u64);
}

/// Spans refused because their tenant was over its rate limit (`tenancy.rate_limits`).
pub fn spans_rate_limited(tenant: &str, count: usize) {
    metrics::counter!("skein_collector_tenant_spans_rate_limited_total", "tenant" => tenant.to_string())
        .increment(count as u64);
}

/// Spans that were over one of `collector.limits` (and were stored limited).
pub fn spans_limited(transport: &'static str, count: usize) {
    metrics::counter!("skein_collector_spans_limited_total", "transport" => transport).increment(count as u64);
}

/// Items a span limit removed, by the limit's option name: attributes, events or links dropped,
/// or string values cut (`attribute_value_length_limit`).
pub fn span_limit_applied(transport: &'static str, limit: &'static str, count: usize) {
    metrics::counter!("skein_collector_span_limits_total", "transport" => transport, "limit" => limit)
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

/// Describe the collector's metrics and start the series that do not depend on a request at
/// zero, so `/metrics` lists them from the start (dashboards and alerts see a 0, not nothing).
pub fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!("skein_collector_spans_received_total", "Spans that arrived, by transport, before validation");
    describe_counter!("skein_collector_spans_accepted_total", "Spans acknowledged by Kafka, by transport");
    describe_counter!(
        "skein_collector_spans_rejected_total",
        "Spans refused, by transport and reason (validation, or overloaded / kafka_unavailable / record_too_large)"
    );
    describe_counter!(
        "skein_collector_spans_limited_total",
        "Spans over one of collector.limits, stored with what the limits dropped or cut, by transport"
    );
    describe_counter!(
        "skein_collector_span_limits_total",
        "Attributes, events and links dropped and string values cut, by transport and the collector.limits option"
    );
    describe_counter!("skein_collector_records_produced_total", "Kafka records acknowledged");
    describe_counter!(
        "skein_collector_tenant_spans_rate_limited_total",
        "Spans refused because their tenant was over its rate limit (tenancy.rate_limits), by tenant"
    );
    describe_histogram!(
        "skein_collector_produce_latency_seconds",
        Unit::Seconds,
        "Time from handing a request's records to the producer until Kafka acknowledged the last one"
    );
    describe_gauge!(
        "skein_collector_in_flight_bytes",
        Unit::Bytes,
        "Bytes of requests waiting for Kafka (bounded by collector.max_in_flight_bytes)"
    );
    describe_counter!(
        "skein_collector_requests_total",
        "Requests by transport and outcome (ok, partial, invalid, malformed, overloaded, unavailable, ...)"
    );
    metrics::counter!("skein_collector_records_produced_total").increment(0);
    let _ = metrics::histogram!("skein_collector_produce_latency_seconds");
    metrics::gauge!("skein_collector_in_flight_bytes").increment(0.0);
}
