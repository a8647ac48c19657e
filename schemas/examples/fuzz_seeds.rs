//! Writes the seed corpus of the fuzz targets (fuzz/corpus/<target>/) from skein's own encoders:
//! `cargo run -p skein-schemas --example fuzz_seeds -- fuzz/corpus`. Run it again when a format
//! gains a field; the seeds are committed, small, and only a starting point for libFuzzer.

use std::net::Ipv4Addr;
use std::path::Path;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    any_value::Value, AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{span, ResourceSpans, ScopeSpans, Span, Status};
use prost::Message;
use skein_schemas::jaeger::api_v2::{self, PostSpansRequest};
use skein_schemas::jaeger::model::{self, Batch, Log, Process, RefType, SpanRef, Tag, TagValue};
use skein_schemas::jaeger::thrift::{encode_agent_message, encode_batch};
use skein_schemas::kafka_record::records_for_otlp;
use skein_schemas::thrift::Protocol;
use skein_schemas::zipkin::{self, proto};

fn kv(key: &str, value: Value) -> KeyValue {
    KeyValue { key: key.into(), value: Some(AnyValue { value: Some(value) }), ..Default::default() }
}

fn text(value: &str) -> Value {
    Value::StringValue(value.into())
}

/// Two services, two scopes, two traces; every attribute value type, events, links, statuses.
fn otlp_request() -> ExportTraceServiceRequest {
    let span = |trace: u8, id: u8, parent: Option<u8>, name: &str, kind: span::SpanKind| Span {
        trace_id: vec![trace; 16],
        span_id: vec![id; 8],
        parent_span_id: parent.map(|p| vec![p; 8]).unwrap_or_default(),
        name: name.into(),
        kind: kind as i32,
        start_time_unix_nano: 1_544_712_660_000_000_000 + u64::from(id) * 1_000_000,
        end_time_unix_nano: 1_544_712_660_500_000_000 + u64::from(id) * 1_000_000,
        trace_state: "vendor=1".into(),
        flags: 0x101,
        ..Default::default()
    };
    let mut root = span(1, 1, None, "GET /dispatch", span::SpanKind::Server);
    root.attributes = vec![
        kv("http.method", text("GET")),
        kv("http.status_code", Value::IntValue(200)),
        kv("sampler.param", Value::BoolValue(true)),
        kv("ratio", Value::DoubleValue(0.25)),
        kv("payload", Value::BytesValue(vec![0, 1, 2, 255])),
        kv("list", Value::ArrayValue(ArrayValue { values: vec![AnyValue { value: Some(text("a")) }] })),
        kv("map", Value::KvlistValue(KeyValueList { values: vec![kv("inner", Value::IntValue(-3))] })),
    ];
    root.events = vec![span::Event {
        time_unix_nano: 1_544_712_660_100_000_000,
        name: "cache miss".into(),
        attributes: vec![kv("key", text("customer:123"))],
        dropped_attributes_count: 0,
    }];
    root.links = vec![span::Link { trace_id: vec![2; 16], span_id: vec![9; 8], ..Default::default() }];
    let mut child = span(1, 2, Some(1), "SQL SELECT", span::SpanKind::Client);
    child.attributes = vec![kv("peer.service", text("mysql")), kv("error", Value::BoolValue(true))];
    child.status = Some(Status { code: 2, message: "timeout".into() });
    let other = span(2, 3, None, "publish", span::SpanKind::Producer);
    let resource = |service: &str| Resource {
        attributes: vec![kv("service.name", text(service)), kv("host.name", text("node-1"))],
        ..Default::default()
    };
    let scope = |name: &str| InstrumentationScope { name: name.into(), version: "1.2.0".into(), ..Default::default() };
    ExportTraceServiceRequest {
        resource_spans: vec![
            ResourceSpans {
                resource: Some(resource("frontend")),
                scope_spans: vec![
                    ScopeSpans { scope: Some(scope("http")), spans: vec![root], schema_url: String::new() },
                    ScopeSpans { scope: Some(scope("sql")), spans: vec![child], schema_url: String::new() },
                ],
                schema_url: "https://opentelemetry.io/schemas/1.21.0".into(),
            },
            ResourceSpans {
                resource: Some(resource("queue")),
                scope_spans: vec![ScopeSpans { scope: None, spans: vec![other], schema_url: String::new() }],
                schema_url: String::new(),
            },
        ],
    }
}

fn minimal_request() -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: vec![Span {
                    trace_id: vec![7; 16],
                    span_id: vec![8; 8],
                    name: "op".into(),
                    start_time_unix_nano: 1,
                    end_time_unix_nano: 2,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn jaeger_batch() -> Batch {
    let tags = vec![
        Tag::string("http.method", "GET"),
        Tag { key: "sampler.param".into(), value: TagValue::Bool(true) },
        Tag { key: "http.status_code".into(), value: TagValue::Int64(200) },
        Tag { key: "ratio".into(), value: TagValue::Float64(0.5) },
        Tag { key: "blob".into(), value: TagValue::Binary(vec![1, 2, 3]) },
        Tag::string("span.kind", "server"),
    ];
    let span = |id: u8, parent: u8, name: &str| model::Span {
        trace_id: [0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8],
        span_id: [id; 8],
        parent_span_id: [parent; 8],
        operation_name: name.into(),
        references: Vec::new(),
        flags: 1,
        start_time_unix_nano: 1_544_712_660_000_000_000,
        duration_nanos: 5_000_000,
        tags: Vec::new(),
        logs: Vec::new(),
        process: None,
    };
    let mut root = span(1, 0, "HTTP GET /customer");
    root.tags = tags;
    root.logs = vec![Log {
        timestamp_unix_nano: 1_544_712_660_001_000_000,
        fields: vec![Tag::string("event", "lookup"), Tag::string("key", "123")],
    }];
    let mut child = span(2, 1, "SQL SELECT");
    child.references = vec![SpanRef { ref_type: RefType::FollowsFrom, trace_id: [9; 16], span_id: [9; 8] }];
    Batch {
        process: Process {
            service_name: "customer".into(),
            tags: vec![Tag::string("hostname", "node-1"), Tag::string("jaeger.version", "Go-2.30.0")],
        },
        spans: vec![root, child],
    }
}

fn zipkin_spans() -> Vec<zipkin::Span> {
    let endpoint = |service: &str| zipkin::Endpoint {
        service_name: Some(service.into()),
        ipv4: Some(Ipv4Addr::new(192, 168, 0, 1)),
        ipv6: None,
        port: Some(8080),
    };
    vec![
        zipkin::Span {
            trace_id: [1; 16],
            parent_id: None,
            id: [1; 8],
            kind: Some(zipkin::Kind::Server),
            name: Some("get /api".into()),
            timestamp: Some(1_544_712_660_000_000),
            duration: Some(1_500),
            local_endpoint: Some(endpoint("frontend")),
            remote_endpoint: Some(zipkin::Endpoint { ipv6: Some("::1".parse().unwrap()), ..Default::default() }),
            annotations: vec![zipkin::Annotation { timestamp: 1_544_712_660_000_100, value: "wr".into() }],
            tags: vec![("http.path".into(), "/api".into()), ("error".into(), "".into())],
            debug: false,
            shared: true,
        },
        zipkin::Span {
            trace_id: [0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2, 2, 2],
            parent_id: Some([1; 8]),
            id: [2; 8],
            kind: Some(zipkin::Kind::Client),
            name: Some("query".into()),
            timestamp: Some(1_544_712_660_000_200),
            duration: Some(700),
            local_endpoint: Some(endpoint("backend")),
            debug: true,
            ..Default::default()
        },
    ]
}

fn zipkin_proto(spans: &[zipkin::Span]) -> Vec<u8> {
    let endpoint = |e: &Option<zipkin::Endpoint>| {
        e.as_ref().map(|e| proto::ProtoEndpoint {
            service_name: e.service_name.clone().unwrap_or_default(),
            ipv4: e.ipv4.map(|ip| ip.octets().to_vec()).unwrap_or_default(),
            ipv6: e.ipv6.map(|ip| ip.octets().to_vec()).unwrap_or_default(),
            port: e.port.map(i32::from).unwrap_or_default(),
        })
    };
    let list = proto::ListOfSpans {
        spans: spans
            .iter()
            .map(|s| proto::ProtoSpan {
                trace_id: s.trace_id.to_vec(),
                parent_id: s.parent_id.map(|p| p.to_vec()).unwrap_or_default(),
                id: s.id.to_vec(),
                kind: match s.kind {
                    None => 0,
                    Some(zipkin::Kind::Client) => 1,
                    Some(zipkin::Kind::Server) => 2,
                    Some(zipkin::Kind::Producer) => 3,
                    Some(zipkin::Kind::Consumer) => 4,
                },
                name: s.name.clone().unwrap_or_default(),
                timestamp: s.timestamp.unwrap_or_default(),
                duration: s.duration.unwrap_or_default(),
                local_endpoint: endpoint(&s.local_endpoint),
                remote_endpoint: endpoint(&s.remote_endpoint),
                annotations: s
                    .annotations
                    .iter()
                    .map(|a| proto::ProtoAnnotation { timestamp: a.timestamp, value: a.value.clone() })
                    .collect(),
                tags: s.tags.iter().cloned().collect(),
                debug: s.debug,
                shared: s.shared,
            })
            .collect(),
    };
    list.encode_to_vec()
}

const QUERIES: &[&str] = &[
    "service=frontend&operation=HTTP%20GET%20%2Fdispatch&tags=%7B%22error%22%3A%22true%22%7D&start=1544712660000000&end=1544716260000000&limit=20&lookback=1h&minDuration=1.2ms&maxDuration=1h30m",
    "traceID=5b8efff798038103d269b633813fc60c&traceID=00000000000000000000000000000abc&traceID=ABC&raw=true",
    "endTs=1544716260000&lookback=3600000&service=a+b&service=&limit=-1&raw=0",
    "minDuration=-1.5us&maxDuration=300µs&start=x&end=253402300799999999",
];

const STRATEGIES: &[&str] = &[
    r#"{"service_strategies":[{"service":"foo","type":"probabilistic","param":0.8,"operation_strategies":[{"operation":"op1","type":"probabilistic","param":0.2}]},{"service":"bar","type":"ratelimiting","param":5}],"default_strategy":{"type":"probabilistic","param":0.5,"operation_strategies":[{"operation":"/health","type":"probabilistic","param":0.0}]}}"#,
    r#"{"default_strategy":{"type":"ratelimiting","param":100}}"#,
    "null",
];

fn write(dir: &Path, target: &str, name: &str, bytes: &[u8]) {
    let dir = dir.join(target);
    std::fs::create_dir_all(&dir).expect("corpus directory");
    std::fs::write(dir.join(name), bytes).expect("seed written");
}

fn main() {
    let dir = std::env::args().nth(1).expect("usage: fuzz_seeds <corpus directory>");
    let dir = Path::new(&dir);
    for (name, request) in [("full", otlp_request()), ("minimal", minimal_request())] {
        write(dir, "otlp_proto", &format!("{name}.pb"), &request.encode_to_vec());
        write(dir, "otlp_json", &format!("{name}.json"), &serde_json::to_vec(&request).expect("OTLP JSON"));
        for (index, record) in records_for_otlp(request, 1 << 20).0.iter().enumerate() {
            write(dir, "kafka_record", &format!("{name}-{index}.pb"), &record.value);
        }
    }
    write(dir, "otlp_proto", "empty.pb", b"");
    let batch = jaeger_batch();
    for (protocol, name) in [(Protocol::Binary, "binary"), (Protocol::Compact, "compact")] {
        write(dir, "jaeger_thrift_batch", &format!("{name}.thrift"), &encode_batch(&batch, protocol));
        write(dir, "jaeger_thrift_agent", &format!("{name}.thrift"), &encode_agent_message(&batch, protocol));
    }
    let post = PostSpansRequest { batch: Some(api_v2::Batch::from_model(&batch)) };
    write(dir, "jaeger_proto", "post_spans.pb", &post.encode_to_vec());
    let spans = zipkin_spans();
    write(dir, "zipkin_json", "spans.json", &zipkin::json::encode_spans(&spans));
    write(
        dir,
        "zipkin_json",
        "client.json",
        br#"[{"traceId":"5b8efff798038103","id":"eee19b7ec3c1b174","kind":"CLIENT","name":"get","timestamp":1544712660000000,"duration":3000,"localEndpoint":{"serviceName":"web","ipv4":"10.0.0.1","port":80},"tags":{"http.status_code":200,"sampled":true},"annotations":[]}]"#,
    );
    write(dir, "zipkin_proto", "spans.pb", &zipkin_proto(&spans));
    for (index, query) in QUERIES.iter().enumerate() {
        write(dir, "query_params", &format!("{index}.txt"), query.as_bytes());
    }
    for (index, file) in STRATEGIES.iter().enumerate() {
        write(dir, "sampling_strategies", &format!("{index}.json"), file.as_bytes());
    }
}
