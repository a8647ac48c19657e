//! What the span limits cost on the collector's fast path: a request like `make bench`'s (500
//! spans of 10 attributes) read at the wire level and cut into records, with and without
//! checking every span against the default limits. Run with
//! `cargo run --release -p skein-schemas --example limits_fast_path`.

use std::time::Instant;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value::Value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{span::Event, ResourceSpans, ScopeSpans, Span};
use prost::Message;
use skein_schemas::kafka_record::records_for_wire_request;
use skein_schemas::otlp_wire::WireRequest;
use skein_schemas::span_limits::{limit_wire_request, SpanLimits};

fn request() -> Vec<u8> {
    let attribute = |i: usize| KeyValue {
        key: format!("attribute.{i}"),
        value: Some(AnyValue { value: Some(Value::StringValue(format!("value of attribute {i}"))) }),
        ..Default::default()
    };
    let spans = (0..500u64)
        .map(|i| Span {
            trace_id: (i / 10 + 1).to_be_bytes().repeat(2),
            span_id: (i + 1).to_be_bytes().to_vec(),
            name: "GET /api/things/{id}".into(),
            start_time_unix_nano: 1_700_000_000_000_000_000,
            end_time_unix_nano: 1_700_000_000_001_000_000,
            attributes: (0..10).map(attribute).collect(),
            events: vec![Event { name: "log".into(), attributes: vec![attribute(1)], ..Default::default() }],
            ..Default::default()
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource { attributes: vec![attribute(0)], ..Default::default() }),
            scope_spans: vec![ScopeSpans { spans, ..Default::default() }],
            ..Default::default()
        }],
    }
    .encode_to_vec()
}

fn main() {
    let encoded = request();
    let limits = SpanLimits {
        span_attribute_count_limit: 1_000,
        attribute_value_length_limit: 131_072,
        span_event_count_limit: 1_000,
        span_link_count_limit: 1_000,
        event_attribute_count_limit: 1_000,
        link_attribute_count_limit: 1_000,
    };
    let rounds = 4_000;
    for with_limits in [false, true, false, true] {
        let started = Instant::now();
        let mut bytes = 0;
        for _ in 0..rounds {
            let mut request = WireRequest::parse(&encoded).expect("valid request");
            if with_limits {
                assert!(limit_wire_request(&mut request, &limits).is_empty());
            }
            let (records, _) = records_for_wire_request(&request, 900_000);
            bytes += records.iter().map(|r| r.value.len()).sum::<usize>();
        }
        let elapsed = started.elapsed().as_secs_f64();
        println!(
            "limits {:>5}: {:.0} spans/s on one core ({} bytes of records)",
            with_limits,
            (rounds * 500) as f64 / elapsed,
            bytes / rounds
        );
    }
}
