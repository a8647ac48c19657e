//! Topics written by someone else (`kafka.encoding`): a real Jaeger 2 collector (built by
//! `scripts/jaeger.sh`) takes OTLP and publishes it to Kafka with its `kafka` exporter in one
//! encoding per test; skein's ingester and analytics read that topic. The same spans sent to
//! skein's own collector are the reference: the span documents must be the same (ids and bodies)
//! and so must the dependency links.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value::Value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link, SpanKind};
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use prost::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use skein_core::config::RecordEncoding;
use skein_core::SkeinConfig;
use skein_e2e::{
    first_dead_letter, free_port, isolated_config, quick_analytics, require_servers, wait_until, Es, Pipeline,
};

const TRACES: u64 = 4;
/// Spans per trace: frontend (server, client) → api (server, client) → db (server).
const SPANS_PER_TRACE: u64 = 5;

fn value(value: Value) -> Option<AnyValue> {
    Some(AnyValue { value: Some(value) })
}

fn attribute(key: &str, v: Value) -> KeyValue {
    KeyValue { key: key.into(), value: value(v), ..Default::default() }
}

/// The fixture: `TRACES` traces of three services with what Jaeger's span model carries: kinds,
/// string / int / double / bool attributes, an event, an error status, a link, a trace state,
/// scope name and version, resource attributes.
fn fixture(now_ns: u64) -> ExportTraceServiceRequest {
    let mut by_service: BTreeMap<&str, Vec<Span>> = BTreeMap::new();
    for t in 0..TRACES {
        let trace_id: Vec<u8> = [0x5c, 0xe1, 0x00, t as u8].repeat(4);
        let id = |n: u64| (0x1000 * (t + 1) + n).to_be_bytes().to_vec();
        let start = now_ns - 60_000_000_000 + t * 1_000_000_000;
        let span = |n: u64, parent: Option<u64>, name: &str, kind: SpanKind, offset_ms: u64, duration_ms: u64| Span {
            trace_id: trace_id.clone(),
            span_id: id(n),
            parent_span_id: parent.map(id).unwrap_or_default(),
            name: name.into(),
            kind: kind as i32,
            start_time_unix_nano: start + offset_ms * 1_000_000,
            end_time_unix_nano: start + (offset_ms + duration_ms) * 1_000_000,
            attributes: vec![
                attribute("http.method", Value::StringValue("GET".into())),
                attribute("retries", Value::IntValue(t as i64)),
                attribute("ratio", Value::DoubleValue(0.5 + t as f64)),
                attribute("cached", Value::BoolValue(t % 2 == 0)),
            ],
            ..Default::default()
        };
        let mut root = span(1, None, "GET /checkout", SpanKind::Server, 0, 90);
        root.trace_state = "vendor=skein".into();
        root.events.push(Event {
            time_unix_nano: start + 5_000_000,
            name: "cache miss".into(),
            attributes: vec![attribute("key", Value::StringValue(format!("cart-{t}")))],
            ..Default::default()
        });
        if t > 0 {
            // Follows from the previous trace's root.
            root.links.push(Link {
                trace_id: [0x5c, 0xe1, 0x00, t as u8 - 1].repeat(4),
                span_id: (0x1000 * t + 1).to_be_bytes().to_vec(),
                ..Default::default()
            });
        }
        let call_api = span(2, Some(1), "call api", SpanKind::Client, 10, 70);
        let api = span(3, Some(2), "POST /orders", SpanKind::Server, 12, 60);
        let mut call_db = span(4, Some(3), "INSERT orders", SpanKind::Client, 20, 40);
        let db = span(5, Some(4), "insert", SpanKind::Server, 22, 35);
        if t == 1 {
            call_db.status = Some(Status { code: StatusCode::Error as i32, message: "deadlock".into() });
        }
        by_service.entry("frontend").or_default().extend([root, call_api]);
        by_service.entry("api").or_default().extend([api, call_db]);
        by_service.entry("db").or_default().push(db);
    }
    ExportTraceServiceRequest {
        resource_spans: by_service
            .into_iter()
            .map(|(service, spans)| ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![
                        attribute("service.name", Value::StringValue(service.into())),
                        attribute("host.name", Value::StringValue(format!("{service}-1"))),
                        attribute("deployment.environment", Value::StringValue("e2e".into())),
                    ],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    scope: Some(InstrumentationScope {
                        name: "skein-e2e".into(),
                        version: "1.2.3".into(),
                        ..Default::default()
                    }),
                    spans,
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            })
            .collect(),
    }
}

/// The dependency links the fixture gives: (parent, child) → (calls, errors). A server span's
/// client child in the same service is a link of that service to itself; the one error, on
/// api's client span, counts on both links it is part of.
fn expected_links() -> BTreeMap<(String, String), (u64, u64)> {
    let link = |parent: &str, child: &str, errors| ((parent.to_string(), child.to_string()), (TRACES, errors));
    BTreeMap::from([
        link("frontend", "frontend", 0),
        link("frontend", "api", 0),
        link("api", "api", 1),
        link("api", "db", 1),
    ])
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `scripts/jaeger.sh path`: the Jaeger 2 binary, built on first use.
fn jaeger_binary() -> PathBuf {
    let output =
        Command::new("bash").arg(repo().join("scripts/jaeger.sh")).arg("path").output().expect("jaeger.sh runs");
    assert!(output.status.success(), "scripts/jaeger.sh path failed: {}", String::from_utf8_lossy(&output.stderr));
    PathBuf::from(String::from_utf8_lossy(&output.stdout).trim())
}

/// A Jaeger 2 collector: OTLP/HTTP on a free loopback port → `kafka` exporter → `topic`, in
/// `encoding`; killed on drop.
struct JaegerCollector {
    child: Child,
    otlp_http: std::net::SocketAddr,
    log: PathBuf,
}

impl JaegerCollector {
    async fn start(topic: &str, encoding: RecordEncoding) -> Self {
        let binary = jaeger_binary();
        let otlp_http = free_port();
        let dir = repo().join("target/e2e-jaeger");
        std::fs::create_dir_all(&dir).expect("target/e2e-jaeger");
        let config = dir.join(format!("{topic}.yaml"));
        let log = dir.join(format!("{topic}.log"));
        // One record per trace for the OTLP encodings (`partition_traces_by_id`), so that a trace
        // stays on one partition for analytics; Jaeger's encodings are keyed by trace id anyway.
        // No internal telemetry: its default port 8888 is shared with whatever else runs here.
        std::fs::write(
            &config,
            format!(
                r#"service:
  telemetry:
    logs:
      level: info
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [kafka]
receivers:
  otlp:
    protocols:
      http:
        endpoint: {otlp_http}
exporters:
  kafka:
    brokers: ["{kafka}"]
    partition_traces_by_id: true
    traces:
      topic: {topic}
      encoding: {encoding}
"#,
                kafka = skein_e2e::KAFKA,
                encoding = encoding.as_str(),
            ),
        )
        .expect("write the Jaeger config");
        let child = Command::new(&binary)
            .arg("--config")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).expect("log file"))
            .stderr(std::fs::File::create(log.with_extension("err.log")).expect("log file"))
            .spawn()
            .unwrap_or_else(|e| panic!("{} starts: {e}", binary.display()));
        let mut collector = Self { child, otlp_http, log };
        let address = otlp_http;
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while tokio::net::TcpStream::connect(address).await.is_err() {
            if let Ok(Some(status)) = collector.child.try_wait() {
                panic!("Jaeger exited with {status}; see {} and .err.log", collector.log.display());
            }
            assert!(std::time::Instant::now() < deadline, "Jaeger's OTLP receiver never listened on {address}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        collector
    }

    async fn send(&self, body: Vec<u8>) {
        let response = reqwest::Client::new()
            .post(format!("http://{}/v1/traces", self.otlp_http))
            .header("content-type", "application/x-protobuf")
            .body(body)
            .send()
            .await
            .expect("Jaeger answers");
        let status = response.status();
        assert_eq!(status, 200, "Jaeger refused the spans: {}", response.text().await.unwrap_or_default());
    }
}

impl Drop for JaegerCollector {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Span documents by `_id`, with the index name without the test's prefix.
async fn span_documents(es: &Es, config: &SkeinConfig, count: usize) -> BTreeMap<String, serde_json::Value> {
    let prefix = &config.elasticsearch.index_prefix;
    let pattern = format!("{prefix}-jaeger-span-*");
    wait_until(&format!("{count} span documents in {pattern}"), Duration::from_secs(90), || {
        let pattern = pattern.clone();
        async move { es.count(&pattern).await as usize >= count }
    })
    .await;
    es.documents(&pattern).await.into_iter().collect()
}

/// Sum of calls / errors per (parent, child) over the dependencies documents, once it equals
/// `expected` (or the timeout, after which the caller's comparison shows the difference).
async fn dependency_links(
    es: &Es,
    config: &SkeinConfig,
    expected: &BTreeMap<(String, String), (u64, u64)>,
) -> BTreeMap<(String, String), (u64, u64)> {
    let pattern = format!("{}-jaeger-dependencies-*", config.elasticsearch.index_prefix);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let now = link_totals(es, &pattern).await;
        if &now == expected || std::time::Instant::now() > deadline {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

async fn link_totals(es: &Es, pattern: &str) -> BTreeMap<(String, String), (u64, u64)> {
    let mut totals = BTreeMap::new();
    for (_, doc) in es.documents(pattern).await {
        for link in doc["dependencies"].as_array().cloned().unwrap_or_default() {
            let key = (link["parent"].as_str().unwrap().to_string(), link["child"].as_str().unwrap().to_string());
            let entry = totals.entry(key).or_insert((0, 0));
            entry.0 += link["callCount"].as_u64().unwrap();
            entry.1 += link["errorCount"].as_u64().unwrap();
        }
    }
    totals
}

/// What skein's own path (its collector, skein records) stores for the fixture.
async fn reference(body: &[u8]) -> (BTreeMap<String, serde_json::Value>, BTreeMap<(String, String), (u64, u64)>) {
    let mut config = isolated_config("foreign-reference");
    quick_analytics(&mut config);
    let pipeline = Pipeline::start_all(&config).await;
    pipeline.send_otlp_http(body.to_vec()).await;
    let es = Es::default();
    let spans = span_documents(&es, &config, (TRACES * SPANS_PER_TRACE) as usize).await;
    let links = dependency_links(&es, &config, &expected_links()).await;
    pipeline.stop().await;
    es.delete(&format!("{}-*", config.elasticsearch.index_prefix)).await;
    (spans, links)
}

/// The fixture through Jaeger 2 in `encoding`, read by skein's ingester and analytics.
async fn through_jaeger(
    encoding: RecordEncoding,
    body: &[u8],
) -> (BTreeMap<String, serde_json::Value>, BTreeMap<(String, String), (u64, u64)>) {
    let mut config = isolated_config(&format!("foreign-{}", encoding.as_str().replace('_', "-")));
    config.kafka.encoding = encoding;
    quick_analytics(&mut config);
    // Ingester and analytics only: the collector refuses a foreign encoding.
    let mut pipeline = Pipeline::start(&config, false, true).await;
    let analytics = skein_analytics::start(&config, pipeline.shutdown.clone()).await.expect("analytics starts");
    pipeline.analytics = Some(analytics);
    let jaeger = JaegerCollector::start(&config.kafka.spans_topic, encoding).await;
    jaeger.send(body.to_vec()).await;
    let es = Es::default();
    let spans = span_documents(&es, &config, (TRACES * SPANS_PER_TRACE) as usize).await;
    let links = dependency_links(&es, &config, &expected_links()).await;
    drop(jaeger);
    pipeline.stop().await;
    es.delete(&format!("{}-*", config.elasticsearch.index_prefix)).await;
    (spans, links)
}

/// Span documents keyed by index (prefix cut) and id, for a diff that names what differs.
fn assert_same_documents(
    encoding: RecordEncoding,
    expected: &BTreeMap<String, serde_json::Value>,
    actual: &BTreeMap<String, serde_json::Value>,
) {
    let by_span = |docs: &BTreeMap<String, serde_json::Value>| -> BTreeMap<String, (String, serde_json::Value)> {
        docs.iter()
            .map(|(id, doc)| {
                (
                    format!("{}/{}", doc["traceID"].as_str().unwrap(), doc["spanID"].as_str().unwrap()),
                    (id.clone(), doc.clone()),
                )
            })
            .collect()
    };
    let (expected, actual) = (by_span(expected), by_span(actual));
    assert_eq!(expected.keys().collect::<Vec<_>>(), actual.keys().collect::<Vec<_>>(), "{encoding:?}: the same spans");
    for (span, (expected_id, expected_doc)) in &expected {
        let (actual_id, actual_doc) = &actual[span];
        assert_eq!(actual_doc, expected_doc, "{encoding:?}: document of span {span}");
        assert_eq!(actual_id, expected_id, "{encoding:?}: _id of span {span}");
    }
}

async fn foreign_topic_matches_skeins_own_path(encoding: RecordEncoding) {
    require_servers();
    let now_ns = chrono::Utc::now().timestamp_nanos_opt().expect("in range") as u64;
    let body = fixture(now_ns).encode_to_vec();
    let (expected_spans, expected_links) = reference(&body).await;
    assert_eq!(expected_links, self::expected_links(), "skein's own path gives the fixture's links");
    let (spans, links) = through_jaeger(encoding, &body).await;
    assert_same_documents(encoding, &expected_spans, &spans);
    assert_eq!(links, expected_links, "{encoding:?}: dependency links");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jaeger_proto_topic_gives_the_documents_and_links_of_skeins_own_path() {
    foreign_topic_matches_skeins_own_path(RecordEncoding::JaegerProto).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jaeger_json_topic_gives_the_documents_and_links_of_skeins_own_path() {
    foreign_topic_matches_skeins_own_path(RecordEncoding::JaegerJson).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_proto_topic_gives_the_documents_and_links_of_skeins_own_path() {
    foreign_topic_matches_skeins_own_path(RecordEncoding::OtlpProto).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_json_topic_gives_the_documents_and_links_of_skeins_own_path() {
    foreign_topic_matches_skeins_own_path(RecordEncoding::OtlpJson).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_not_in_the_configured_encoding_goes_to_the_dead_letter_topic_and_the_next_one_is_indexed() {
    require_servers();
    let mut config = isolated_config("foreign-dlq");
    config.kafka.encoding = RecordEncoding::JaegerProto;
    config.kafka.partitions = 1;
    let pipeline = Pipeline::start(&config, false, true).await;
    let producer: FutureProducer =
        rdkafka::ClientConfig::new().set("bootstrap.servers", &config.kafka.brokers).create().expect("producer");
    // An OTLP/JSON batch where Jaeger protobuf spans are expected, then a good span.
    let now_ns = chrono::Utc::now().timestamp_nanos_opt().expect("in range") as u64;
    let wrong = br#"{"resourceSpans":[]}"#.to_vec();
    let good = skein_schemas::jaeger::api_v2::Span {
        trace_id: vec![7; 16],
        span_id: vec![8; 8],
        operation_name: "after the bad one".into(),
        start_time: Some(skein_schemas::jaeger::api_v2::Timestamp {
            seconds: (now_ns / 1_000_000_000) as i64,
            nanos: 0,
        }),
        duration: Some(skein_schemas::jaeger::api_v2::Duration { seconds: 0, nanos: 1_000 }),
        process: Some(skein_schemas::jaeger::api_v2::Process { service_name: "late".into(), tags: vec![] }),
        ..Default::default()
    }
    .encode_to_vec();
    for value in [wrong.clone(), good] {
        producer
            .send(FutureRecord::to(&config.kafka.spans_topic).key("k").payload(&value), Duration::from_secs(10))
            .await
            .map_err(|(e, _)| e)
            .expect("produced");
    }
    let (_, letter, headers) = first_dead_letter(&config).await;
    assert_eq!(letter, Some(wrong), "the original value is kept");
    assert_eq!(headers.get("skein.error-kind").map(String::as_str), Some("decode"));
    let reason = &headers["skein.error"];
    assert!(reason.contains("jaeger_proto"), "the reason names the setting: {reason}");
    let es = Es::default();
    let pattern = format!("{}-jaeger-span-*", config.elasticsearch.index_prefix);
    wait_until("the span after the bad record", Duration::from_secs(60), || {
        let pattern = pattern.clone();
        let es = &es;
        async move { es.count(&pattern).await == 1 }
    })
    .await;
    pipeline.stop().await;
    es.delete(&format!("{}-*", config.elasticsearch.index_prefix)).await;
}
