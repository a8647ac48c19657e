//! Spans per second, on one core, of each receiver's decode + conversion to an encoded OTLP
//! request (what the collector does before validation and Kafka), next to the OTLP path's own
//! wire-level read. `cargo run --release -p skein-schemas --example conversion_bench`

use std::time::Instant;

use opentelemetry_proto::tonic::trace::v1::TracesData;
use prost::Message;
use skein_schemas::jaeger::api_v2;
use skein_schemas::jaeger::model::{micros_to_nanos, Batch, Log, Process, Span, Tag, TagValue};
use skein_schemas::jaeger::thrift::{
    decode_agent_message, decode_batch, encode_agent_message, encode_batch, AgentMessage,
};
use skein_schemas::jaeger::to_otlp::{batch_to_otlp, Origin};
use skein_schemas::kafka_record::{records_for_otlp, records_for_wire_request};
use skein_schemas::otlp_wire::WireRequest;
use skein_schemas::thrift::Protocol;
use skein_schemas::zipkin;

const SPANS: usize = 500;

fn batch() -> Batch {
    let spans = (0..SPANS)
        .map(|i| {
            let mut tags: Vec<Tag> =
                (0..8).map(|a| Tag::string(format!("attribute.key.{a}"), format!("value-{i}-{a}-some-text"))).collect();
            tags.push(Tag { key: "http.status_code".into(), value: TagValue::Int64(200) });
            tags.push(Tag::string("span.kind", if i % 2 == 0 { "server" } else { "client" }));
            Span {
                trace_id: [(i / 10) as u8 + 1; 16],
                span_id: ((i + 1) as u64).to_be_bytes(),
                parent_span_id: if i % 10 == 0 { [0; 8] } else { ((i / 10 * 10 + 1) as u64).to_be_bytes() },
                operation_name: format!("GET /api/resource/{}", i % 20),
                references: vec![],
                flags: 1,
                start_time_unix_nano: micros_to_nanos(1_700_000_000_000_000 + i as i64),
                duration_nanos: micros_to_nanos(1_500),
                tags,
                logs: if i % 5 == 0 {
                    vec![Log {
                        timestamp_unix_nano: micros_to_nanos(1_700_000_000_000_100),
                        fields: vec![Tag::string("event", "retry")],
                    }]
                } else {
                    vec![]
                },
                process: None,
            }
        })
        .collect();
    Batch { process: Process { service_name: "frontend".into(), tags: vec![Tag::string("hostname", "host-1")] }, spans }
}

fn measure(label: &str, mut run: impl FnMut() -> usize) -> f64 {
    for _ in 0..20 {
        run();
    }
    let started = Instant::now();
    let mut spans = 0;
    while started.elapsed().as_secs_f64() < 2.0 {
        spans += run();
    }
    let rate = spans as f64 / started.elapsed().as_secs_f64();
    println!("  {label:<28} {rate:>10.0} spans/s per core");
    rate
}

fn main() {
    let batch = batch();
    let otlp = batch_to_otlp(batch.clone(), Origin::Thrift);
    let otlp_bytes = otlp.encode_to_vec();
    let compact = encode_agent_message(&batch, Protocol::Compact);
    let binary = encode_batch(&batch, Protocol::Binary);
    let grpc = api_v2::PostSpansRequest { batch: Some(api_v2::Batch::from_model(&batch)) }.encode_to_vec();
    let data = TracesData { resource_spans: otlp.resource_spans.clone() };
    let zipkin_spans: Vec<zipkin::Span> = data.resource_spans[0].scope_spans[0]
        .spans
        .iter()
        .map(|s| zipkin::Span {
            trace_id: s.trace_id.as_slice().try_into().unwrap(),
            parent_id: s.parent_span_id.as_slice().try_into().ok(),
            id: s.span_id.as_slice().try_into().unwrap(),
            kind: Some(zipkin::Kind::Server),
            name: Some(s.name.clone()),
            timestamp: Some(s.start_time_unix_nano / 1000),
            duration: Some(1500),
            local_endpoint: Some(zipkin::Endpoint { service_name: Some("frontend".into()), ..Default::default() }),
            tags: (0..9).map(|a| (format!("attribute.key.{a}"), format!("value-{a}-some-text"))).collect(),
            ..Default::default()
        })
        .collect();
    let zipkin_proto =
        zipkin::proto::ListOfSpans { spans: zipkin_spans.iter().map(Into::into).collect() }.encode_to_vec();
    let zipkin_json = serde_json::to_vec(
        &zipkin_spans
            .iter()
            .map(|s| {
                serde_json::json!({"traceId": hex::encode(s.trace_id), "parentId": s.parent_id.map(hex::encode),
                    "id": hex::encode(s.id), "kind": "SERVER", "name": s.name, "timestamp": s.timestamp,
                    "duration": s.duration, "localEndpoint": {"serviceName": "frontend"},
                    "tags": s.tags.iter().cloned().collect::<std::collections::BTreeMap<_, _>>()})
            })
            .collect::<Vec<_>>(),
    )
    .unwrap();

    println!("decode + convert + encode OTLP, {SPANS} spans/request, 10 tags/span:");
    let baseline = measure("OTLP (wire-level read only)", || WireRequest::parse(&otlp_bytes).unwrap().span_count());
    let records = |bytes: &[u8]| {
        let request = WireRequest::parse(bytes).unwrap();
        records_for_wire_request(&request, 900_000).0.len().min(1) * SPANS
    };
    measure("OTLP → Kafka records", || records(&otlp_bytes));
    measure("Jaeger gRPC → records (re-read)", || {
        let request = api_v2::PostSpansRequest::decode(grpc.as_slice()).unwrap();
        let b = request.batch.unwrap().into_model().unwrap();
        records(&batch_to_otlp(b, Origin::Proto).encode_to_vec())
    });
    measure("Jaeger gRPC → records (structs)", || {
        let request = api_v2::PostSpansRequest::decode(grpc.as_slice()).unwrap();
        let b = request.batch.unwrap().into_model().unwrap();
        records_for_otlp(batch_to_otlp(b, Origin::Proto), 900_000).0.len().min(1) * SPANS
    });
    let rows = [
        measure("Jaeger UDP compact", || {
            let AgentMessage::Batch(b) = decode_agent_message(&compact, Protocol::Compact).unwrap() else { panic!() };
            batch_to_otlp(b, Origin::Thrift).encode_to_vec().len().min(1) * SPANS
        }),
        measure("Jaeger Thrift binary", || {
            let b = decode_batch(&binary, Protocol::Binary).unwrap();
            batch_to_otlp(b, Origin::Thrift).encode_to_vec().len().min(1) * SPANS
        }),
        measure("Jaeger gRPC api_v2", || {
            let request = api_v2::PostSpansRequest::decode(grpc.as_slice()).unwrap();
            let b = request.batch.unwrap().into_model().unwrap();
            batch_to_otlp(b, Origin::Proto).encode_to_vec().len().min(1) * SPANS
        }),
        measure("Zipkin JSON", || {
            let spans = zipkin::json::decode_spans(&zipkin_json).unwrap();
            zipkin::to_otlp::spans_to_otlp(spans).encode_to_vec().len().min(1) * SPANS
        }),
        measure("Zipkin proto3", || {
            let spans = zipkin::proto::decode_spans(&zipkin_proto).unwrap();
            zipkin::to_otlp::spans_to_otlp(spans).encode_to_vec().len().min(1) * SPANS
        }),
    ];
    let _ = (baseline, rows);
}
