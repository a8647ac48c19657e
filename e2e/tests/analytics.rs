//! The analytics role against the real Kafka and Elasticsearch: fixture traces with known links,
//! errors and histograms; a worker killed with SIGKILL again and again writes exactly what an
//! uninterrupted one writes; backfill overwrites instead of adding.
//!
//! Records are produced straight to Kafka with chosen timestamps (the analytics clock), so every
//! figure is known in advance.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::common::v1::{any_value::Value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{span, ResourceSpans, ScopeSpans, Span, Status, TracesData};
use prost::Message;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use skein_core::SkeinConfig;
use skein_e2e::*;
use skein_schemas::kafka_record::{trace_key, ENCODING_HEADER, ENCODING_OTLP_PROTO};
use skein_schemas::sketch::DurationSketch;

const MS: u64 = 1_000_000;

/// (key, record timestamp ms, value)
type Record = (String, i64, Vec<u8>);

fn make_span(
    trace: [u8; 16],
    id: u64,
    parent: Option<u64>,
    name: &str,
    kind: span::SpanKind,
    duration_ms: u64,
) -> Span {
    otlp_span(trace, id, parent, name, kind, 1_700_000_000_000_000_000, duration_ms * MS)
}

fn record(trace: [u8; 16], ts: i64, parts: Vec<(&str, Vec<Span>)>) -> Record {
    let data = TracesData {
        resource_spans: parts
            .into_iter()
            .map(|(service, spans)| ResourceSpans {
                resource: Some(Resource { attributes: vec![attr("service.name", service)], ..Default::default() }),
                scope_spans: vec![ScopeSpans { spans, ..Default::default() }],
                ..Default::default()
            })
            .collect(),
    };
    (trace_key(&trace), ts, data.encode_to_vec())
}

async fn produce(config: &SkeinConfig, records: &[Record]) {
    skein_core::kafka::ensure_topics(&config.kafka).await.expect("topics");
    let producer: FutureProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &config.kafka.brokers)
        .set("linger.ms", "20")
        .set("enable.idempotence", "true")
        .create()
        .expect("producer");
    let mut pending = Vec::new();
    for (key, ts, value) in records {
        let headers = OwnedHeaders::new().insert(Header { key: ENCODING_HEADER, value: Some(ENCODING_OTLP_PROTO) });
        let record =
            FutureRecord::to(&config.kafka.spans_topic).key(key).payload(value).timestamp(*ts).headers(headers);
        pending.push(producer.send_result(record).map_err(|(e, _)| e).expect("enqueued"));
        if pending.len() >= 10_000 {
            for delivery in pending.drain(..) {
                delivery.await.expect("delivered").expect("acknowledged");
            }
        }
    }
    for delivery in pending {
        delivery.await.expect("delivered").expect("acknowledged");
    }
}

/// Start of the current minute, minus `minutes`: recent enough for the broker, old enough that
/// a marker carrying "now" closes everything.
fn minutes_ago(minutes: i64) -> i64 {
    let now = chrono::Utc::now().timestamp_millis();
    now - now.rem_euclid(60_000) - minutes * 60_000
}

/// Sum callCount / errorCount per (parent, child) over every dependencies document.
async fn dependency_totals(es: &Es, config: &SkeinConfig) -> BTreeMap<(String, String), (u64, u64)> {
    let pattern = format!("{}-jaeger-dependencies-*", config.elasticsearch.index_prefix);
    let mut totals = BTreeMap::new();
    for (_, doc) in es.documents(&pattern).await {
        for link in doc["dependencies"].as_array().cloned().unwrap_or_default() {
            let key = (link["parent"].as_str().unwrap().to_string(), link["child"].as_str().unwrap().to_string());
            let entry = totals.entry(key).or_insert((0, 0));
            entry.0 += link["callCount"].as_u64().unwrap();
            entry.1 += link["errorCount"].as_u64().unwrap();
        }
    }
    totals
}

fn links(expected: &[(&str, &str, u64, u64)]) -> BTreeMap<(String, String), (u64, u64)> {
    expected.iter().map(|(p, c, n, e)| ((p.to_string(), c.to_string()), (*n, *e))).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixture_traces_give_exact_dependency_links_error_counts_and_histograms() {
    require_servers();
    let mut config = isolated_config("analytics-fixture");
    config.kafka.partitions = 1; // one clock for every fixture trace
    quick_analytics(&mut config);
    config.analytics.trace_max_age_ms = 20_000;
    config.analytics.max_spans_per_trace = 7;
    config.analytics.admin_listen = free_port();
    let base = minutes_ago(3);
    let mut t = base;
    let mut next = || {
        t += 10;
        t
    };
    use span::SpanKind::{Client, Consumer, Producer, Server};
    let id = |n: u8| [n; 16];
    let mut records = Vec::new();
    // Chain A → B → C.
    records.push(record(
        id(1),
        next(),
        vec![
            (
                "A",
                vec![make_span(id(1), 1, None, "a-in", Server, 50), make_span(id(1), 2, Some(1), "a-out", Client, 40)],
            ),
            (
                "B",
                vec![
                    make_span(id(1), 3, Some(2), "b-in", Server, 30),
                    make_span(id(1), 4, Some(3), "b-out", Client, 20),
                ],
            ),
            ("C", vec![make_span(id(1), 5, Some(4), "c-in", Server, 10)]),
        ],
    ));
    // Fan-out D → E, F, G with client spans of 10, 20, 30 ms.
    let d: Vec<Span> = std::iter::once(make_span(id(2), 1, None, "d-in", Server, 100))
        .chain((2..=4).map(|n| make_span(id(2), n, Some(1), "d-out", Client, (n - 1) * 10)))
        .collect();
    records.push(record(
        id(2),
        next(),
        vec![
            ("D", d),
            ("E", vec![make_span(id(2), 5, Some(2), "e-in", Server, 5)]),
            ("F", vec![make_span(id(2), 6, Some(3), "f-in", Server, 5)]),
            ("G", vec![make_span(id(2), 7, Some(4), "g-in", Server, 5)]),
        ],
    ));
    // Zipkin shared span: H's client half and I's server half share span id 2.
    records.push(record(
        id(3),
        next(),
        vec![
            ("H", vec![make_span(id(3), 1, None, "h-in", Server, 9), make_span(id(3), 2, Some(1), "h-out", Client, 8)]),
            ("I", vec![make_span(id(3), 2, Some(1), "i-in", Server, 7)]),
        ],
    ));
    // FOLLOWS_FROM: K's consumer span has no parent and links to J's producer span.
    let mut k = make_span(id(4), 2, None, "k-in", Consumer, 3);
    k.links = vec![span::Link { trace_id: id(4).to_vec(), span_id: 1u64.to_be_bytes().to_vec(), ..Default::default() }];
    records.push(record(
        id(4),
        next(),
        vec![("J", vec![make_span(id(4), 1, None, "j-out", Producer, 2)]), ("K", vec![k])],
    ));
    // Leaf with peer.service.
    let mut query = make_span(id(5), 2, Some(1), "l-query", Client, 4);
    query.attributes.push(attr("peer.service", "postgres"));
    records.push(record(id(5), next(), vec![("L", vec![make_span(id(5), 1, None, "l-in", Server, 6), query])]));
    // Errors: M's client span has status ERROR, N's server span error=true.
    let mut m_out = make_span(id(6), 2, Some(1), "m-out", Client, 4);
    m_out.status = Some(Status { code: 2, ..Default::default() });
    let mut n_in = make_span(id(6), 3, Some(2), "n-in", Server, 3);
    n_in.attributes.push(KeyValue {
        key: "error".into(),
        value: Some(AnyValue { value: Some(Value::BoolValue(true)) }),
        ..Default::default()
    });
    records.push(record(
        id(6),
        next(),
        vec![("M", vec![make_span(id(6), 1, None, "m-in", Server, 5), m_out]), ("N", vec![n_in])],
    ));
    // Self-call: O's server span under O's server span.
    records.push(record(
        id(7),
        next(),
        vec![(
            "O",
            vec![make_span(id(7), 1, None, "o-in", Server, 5), make_span(id(7), 2, Some(1), "o-again", Server, 2)],
        )],
    ));
    // Orphan: P's parent never arrives.
    records.push(record(id(8), next(), vec![("P", vec![make_span(id(8), 2, Some(99), "p-in", Server, 5)])]));
    // Late: S's server span arrives 5 s after R's trace went idle (1 s): it starts a new part of the
    // trace, where its parent is missing.
    records.push(record(
        id(9),
        next(),
        vec![(
            "R",
            vec![make_span(id(9), 1, None, "r-in", Server, 5), make_span(id(9), 2, Some(1), "r-out", Client, 4)],
        )],
    ));
    // Above the span limit (7): 5 spans, then 3 more of the same trace; the second record starts a
    // new part, whose V spans miss their U parents.
    let u: Vec<Span> = std::iter::once(make_span(id(10), 1, None, "u-in", Server, 9))
        .chain((2..=5).map(|n| make_span(id(10), n, Some(1), "u-out", Client, 3)))
        .collect();
    records.push(record(id(10), next(), vec![("U", u)]));
    let v: Vec<Span> = (6..=8).map(|n| make_span(id(10), n, Some(n - 4), "v-in", Server, 2)).collect();
    records.push(record(id(10), next(), vec![("V", v)]));
    // Something else keeps the clock moving past R's idle gap, then the late span.
    records.push(record(id(11), base + 3_000, vec![("W", vec![make_span(id(11), 1, None, "w-in", Server, 1)])]));
    records.push(record(id(9), base + 5_000, vec![("S", vec![make_span(id(9), 3, Some(2), "s-in", Server, 3)])]));
    produce(&config, &records).await;

    let expected = links(&[
        ("A", "A", 1, 0),
        ("A", "B", 1, 0),
        ("B", "B", 1, 0),
        ("B", "C", 1, 0),
        ("D", "D", 3, 0),
        ("D", "E", 1, 0),
        ("D", "F", 1, 0),
        ("D", "G", 1, 0),
        ("H", "H", 1, 0),
        ("H", "I", 1, 0),
        ("J", "K", 1, 0),
        ("L", "L", 1, 0),
        ("L", "postgres", 1, 0),
        ("M", "M", 1, 1),
        ("M", "N", 1, 1),
        ("O", "O", 1, 0),
        ("R", "R", 1, 0),
        ("U", "U", 4, 0),
    ]);
    let pipeline = Pipeline::start_with_analytics(&config).await;
    let es = Es::default();
    let mut last = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(90);
    while Instant::now() < deadline {
        last = dependency_totals(&es, &config).await;
        if last == expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(last, expected, "dependency links (callCount, errorCount)");

    // The Jaeger document itself: one per bucket and partition, Jaeger's fields plus ours.
    let deps = es.documents(&format!("{}-jaeger-dependencies-*", config.elasticsearch.index_prefix)).await;
    assert_eq!(deps.len(), 1, "one 15-minute bucket, one partition");
    let (doc_id, doc) = &deps[0];
    let bucket = base - base.rem_euclid(900_000);
    assert_eq!(doc_id, &format!("{}:900:{}:0:{bucket}", config.analytics.group_id, config.kafka.spans_topic));
    assert_eq!(doc["group"], config.analytics.group_id.as_str());
    assert_eq!(doc["timestamp"], skein_schemas::analytics::bucket_timestamp(bucket));
    let first = &doc["dependencies"][0];
    assert_eq!(
        (first["parent"].as_str(), first["child"].as_str(), first["source"].as_str()),
        (Some("A"), Some("A"), Some("skein"))
    );

    // Latency series: every span counted once, sketches agree with counts, quantiles within 1%.
    let metrics = es.all_documents(&format!("{}-skein-metrics-*", config.elasticsearch.index_prefix)).await;
    let mut calls: BTreeMap<(String, String, String), u64> = BTreeMap::new();
    let mut d_out = DurationSketch::new();
    let mut link_de = None;
    let mut operation_links: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for doc in metrics.values() {
        let sketch: DurationSketch = serde_json::from_value(doc["durationSketch"].clone()).expect("sketch");
        assert_eq!(sketch.count(), doc["calls"].as_u64().unwrap(), "sketch holds every call: {doc}");
        if doc["series"] == "operation" {
            let key = (
                doc["service"].as_str().unwrap().into(),
                doc["operation"].as_str().unwrap().into(),
                doc["spanKind"].as_str().unwrap().into(),
            );
            *calls.entry(key).or_default() += doc["calls"].as_u64().unwrap();
            if doc["operation"] == "d-out" {
                d_out.merge(&sketch);
            }
        } else if doc["series"] == "link" && doc["parent"] == "D" && doc["child"] == "E" {
            link_de = Some(doc.clone());
        } else if doc["series"] == "operation_link" {
            let key = format!(
                "{}:{} → {}:{}",
                doc["service"].as_str().unwrap(),
                doc["operation"].as_str().unwrap(),
                doc["child"].as_str().unwrap(),
                doc["childOperation"].as_str().unwrap()
            );
            let entry = operation_links.entry(key).or_default();
            entry.0 += doc["calls"].as_u64().unwrap();
            entry.1 += doc["errors"].as_u64().unwrap();
        }
    }
    let call = |s: &str, o: &str, k: &str| calls.get(&(s.to_string(), o.to_string(), k.to_string())).copied();
    assert_eq!(call("D", "d-out", "client"), Some(3));
    assert_eq!(call("U", "u-out", "client"), Some(4));
    assert_eq!(call("V", "v-in", "server"), Some(3), "spans over the trace limit still count as calls");
    assert_eq!(call("S", "s-in", "server"), Some(1), "a late span still counts as a call");
    assert_eq!(call("M", "m-out", "client"), Some(1));
    assert_eq!(calls.values().sum::<u64>(), 37, "every fixture span exactly once");
    let p50 = d_out.quantile(0.5).unwrap();
    assert!((p50 - 20e6).abs() <= 0.01 * 20e6, "p50 of 10/20/30 ms is 20 ms within 1%: {p50}");
    // Operation-level links: the same calls as the service links, one level finer.
    let expected_operation_links: BTreeMap<String, (u64, u64)> = [
        ("A:a-in → A:a-out", 1, 0),
        ("A:a-out → B:b-in", 1, 0),
        ("B:b-in → B:b-out", 1, 0),
        ("B:b-out → C:c-in", 1, 0),
        ("D:d-in → D:d-out", 3, 0),
        ("D:d-out → E:e-in", 1, 0),
        ("D:d-out → F:f-in", 1, 0),
        ("D:d-out → G:g-in", 1, 0),
        ("H:h-in → H:h-out", 1, 0),
        ("H:h-out → I:i-in", 1, 0),
        ("J:j-out → K:k-in", 1, 0),
        ("L:l-in → L:l-query", 1, 0),
        ("L:l-query → postgres:", 1, 0),
        ("M:m-in → M:m-out", 1, 1),
        ("M:m-out → N:n-in", 1, 1),
        ("O:o-in → O:o-again", 1, 0),
        ("R:r-in → R:r-out", 1, 0),
        ("U:u-in → U:u-out", 4, 0),
    ]
    .into_iter()
    .map(|(key, calls, errors)| (key.to_string(), (calls, errors)))
    .collect();
    assert_eq!(operation_links, expected_operation_links, "operation links (calls, errors)");
    let link_de = link_de.expect("D → E latency series");
    assert_eq!(link_de["durationSumNanos"], 10 * MS, "measured on the calling side (D's 10 ms client span)");

    // The same RED figures on /metrics, named like the spanmetrics connector's.
    let text = reqwest::get(format!("http://{}/metrics", config.analytics.admin_listen))
        .await
        .expect("metrics answer")
        .text()
        .await
        .unwrap();
    let line = r#"traces_span_metrics_calls_total{service_name="D",span_name="d-out",span_kind="SPAN_KIND_CLIENT",status_code="STATUS_CODE_UNSET"} 3"#;
    assert!(text.contains(line), "missing {line}");
    assert!(text.contains(
        r#"service_name="M",span_name="m-out",span_kind="SPAN_KIND_CLIENT",status_code="STATUS_CODE_ERROR"} 1"#
    ));
    assert!(
        text.contains("skein_analytics_late_spans_total 1"),
        "late span counted: {}",
        text.lines().filter(|l| l.starts_with("skein_analytics")).collect::<Vec<_>>().join("\n")
    );
    assert!(text.contains("skein_analytics_traces_closed_total{reason=\"span_limit\"} 1"));
    pipeline.stop().await;
    es.delete(&format!("{}-*", config.elasticsearch.index_prefix)).await;
}

/// A generated stream: many interleaved traces over 20 minutes of record time, 3 partitions.
fn generated_stream(base: i64, traces: u64) -> Vec<Record> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut rng = move |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    let services = ["web", "api", "auth", "db", "cache", "queue"];
    let kinds = [span::SpanKind::Server, span::SpanKind::Client, span::SpanKind::Producer, span::SpanKind::Consumer];
    let mut records = Vec::new();
    for t in 0..traces {
        let ts = base + (t as i64 * 1_200_000) / traces as i64;
        let mut trace = [0u8; 16];
        trace[..8].copy_from_slice(&(t + 1).to_be_bytes());
        trace[8..].copy_from_slice(&(t * 7919 + 3).to_be_bytes());
        let spans = 1 + rng(7);
        let mut part = Vec::new();
        for s in 1..=spans {
            let parent = if s == 1 { None } else { Some(1 + rng(s - 1)) };
            let mut sp = make_span(trace, s, parent, &format!("op{}", rng(4)), kinds[rng(4) as usize], 1 + rng(400));
            if rng(12) == 0 {
                sp.status = Some(Status { code: 2, ..Default::default() });
            }
            part.push((services[rng(6) as usize], sp));
        }
        // One or two records per trace, the second a little later.
        let split = if spans > 2 && rng(2) == 0 { spans as usize / 2 } else { part.len() };
        let (a, b) = part.split_at(split);
        for (i, chunk) in [a, b].into_iter().enumerate() {
            if chunk.is_empty() {
                continue;
            }
            let parts = chunk.iter().map(|(svc, sp)| (*svc, vec![sp.clone()])).collect();
            records.push(record(trace, ts + i as i64 * (50 + rng(400) as i64), parts));
        }
    }
    records.sort_by_key(|(_, ts, _)| *ts);
    records
}

fn skein_binary() -> std::path::PathBuf {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("repo root");
    let binary = root.join("target/debug/skein");
    assert!(binary.exists(), "{} is missing: run `cargo build -p skein` (make e2e does)", binary.display());
    binary
}

/// `skein analytics` as its own process, configured through SKEIN_* variables.
fn spawn_analytics(config: &SkeinConfig, extra: &[&str]) -> Child {
    let a = &config.analytics;
    Command::new(skein_binary())
        .arg("analytics")
        .args(extra)
        .env("SKEIN_KAFKA__BROKERS", &config.kafka.brokers)
        .env("SKEIN_KAFKA__SPANS_TOPIC", &config.kafka.spans_topic)
        .env("SKEIN_KAFKA__DLQ_TOPIC", &config.kafka.dlq_topic)
        .env("SKEIN_KAFKA__PARTITIONS", config.kafka.partitions.to_string())
        .env("SKEIN_ELASTICSEARCH__URL", &config.elasticsearch.url)
        .env("SKEIN_ELASTICSEARCH__INDEX_PREFIX", &config.elasticsearch.index_prefix)
        .env("SKEIN_ANALYTICS__GROUP_ID", &a.group_id)
        .env("SKEIN_ANALYTICS__ADMIN_LISTEN", a.admin_listen.to_string())
        .env("SKEIN_ANALYTICS__TRACE_IDLE_MS", a.trace_idle_ms.to_string())
        .env("SKEIN_ANALYTICS__TRACE_MAX_AGE_MS", a.trace_max_age_ms.to_string())
        .env("SKEIN_ANALYTICS__MAX_OPEN_TRACES", a.max_open_traces.to_string())
        .env("SKEIN_ANALYTICS__BUCKET_SECONDS", a.bucket_seconds.to_string())
        .env("SKEIN_ANALYTICS__DEPENDENCIES_BUCKET_SECONDS", a.dependencies_bucket_seconds.to_string())
        .env("SKEIN_ANALYTICS__FLUSH_INTERVAL_MS", a.flush_interval_ms.to_string())
        .env("SKEIN_ANALYTICS__IDLE_PARTITION_MS", a.idle_partition_ms.to_string())
        .env("SKEIN_LOG__LEVEL", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("skein analytics starts")
}

fn partition_ends(config: &SkeinConfig) -> i64 {
    (0..config.kafka.partitions).map(|p| partition_end(config, p)).sum()
}

/// Wait until the group has committed everything in the topic (markers included) and it stays so.
async fn wait_caught_up(config: &SkeinConfig, group: &str, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    let mut stable = 0;
    while Instant::now() < deadline {
        if group_committed_total(config, group) >= partition_ends(config) {
            stable += 1;
            if stable >= 6 {
                return;
            }
        } else {
            stable = 0;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("analytics group {group} did not catch up within {timeout:?}");
}

fn crash_config(name: &str) -> SkeinConfig {
    let mut config = isolated_config(name);
    config.analytics.trace_idle_ms = 2_000;
    config.analytics.trace_max_age_ms = 30_000;
    config.analytics.max_open_traces = 500;
    config.analytics.bucket_seconds = 5;
    config.analytics.dependencies_bucket_seconds = 60;
    config.analytics.flush_interval_ms = 250;
    config.analytics.idle_partition_ms = 500;
    config.analytics.admin_listen = free_port();
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkilled_worker_writes_exactly_what_an_uninterrupted_one_writes_and_backfill_overwrites() {
    require_servers();
    let clean = crash_config("analytics-crash");
    let base = minutes_ago(25);
    produce(&clean, &generated_stream(base, 40_000)).await;
    let es = Es::default();

    // Uninterrupted run.
    let mut worker = spawn_analytics(&clean, &[]);
    wait_caught_up(&clean, &clean.analytics.group_id, Duration::from_secs(240)).await;
    let _ = worker.kill();
    let _ = worker.wait();
    let expected = es.analytics_documents(&clean.elasticsearch.index_prefix).await;
    assert!(expected.len() > 1000, "the stream produces many documents: {}", expected.len());

    // Same topic, another group and prefix, killed with SIGKILL while it works.
    let mut crashing = clean.clone();
    let tag: u32 = rand::random();
    crashing.analytics.group_id = format!("{}-crashing-{tag:08x}", clean.analytics.group_id);
    crashing.elasticsearch.index_prefix = format!("{}-crashing", clean.elasticsearch.index_prefix);
    crashing.analytics.admin_listen = free_port();
    let end = partition_ends(&crashing);
    let mut kills_mid_stream = 0;
    for round in 0..6 {
        let mut worker = spawn_analytics(&crashing, &[]);
        let started = Instant::now();
        let before = group_committed_total(&crashing, &crashing.analytics.group_id);
        // Kill once it has made progress past where it started, or after a while regardless. The
        // first worker must join the new group and commit once, however slow the machine is:
        // every later round counts only from a commit between the start and the end.
        let patience =
            if round == 0 { Duration::from_secs(30) } else { Duration::from_millis(1_500 + 700 * round as u64) };
        loop {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let now = group_committed_total(&crashing, &crashing.analytics.group_id);
            if (now > before && started.elapsed() > Duration::from_millis(400)) || started.elapsed() > patience {
                break;
            }
        }
        worker.kill().expect("SIGKILL"); // std's kill is SIGKILL on Unix
        let _ = worker.wait();
        let committed = group_committed_total(&crashing, &crashing.analytics.group_id);
        if committed > 0 && committed < end {
            kills_mid_stream += 1;
        }
    }
    assert!(kills_mid_stream >= 3, "only {kills_mid_stream} kills landed mid-stream");
    let mut worker = spawn_analytics(&crashing, &[]);
    wait_caught_up(&crashing, &crashing.analytics.group_id, Duration::from_secs(240)).await;
    let _ = worker.kill();
    let _ = worker.wait();
    let actual = es.analytics_documents(&crashing.elasticsearch.index_prefix).await;
    let missing: Vec<_> = expected.keys().filter(|k| !actual.contains_key(*k)).take(5).collect();
    let extra: Vec<_> = actual.keys().filter(|k| !expected.contains_key(*k)).take(5).collect();
    assert!(missing.is_empty() && extra.is_empty(), "missing {missing:?}, extra {extra:?}");
    for (key, doc) in &expected {
        assert_eq!(&actual[key], doc, "{key:?} differs after SIGKILLs");
    }

    // Backfill over the whole range into the first prefix: same documents, none added.
    let from = base.to_string();
    let to = (base + 21 * 60_000).to_string();
    let status = spawn_analytics(&clean, &["--from", &from, "--to", &to]).wait().expect("backfill runs");
    assert!(status.success(), "backfill exits cleanly");
    let after = es.analytics_documents(&clean.elasticsearch.index_prefix).await;
    assert_eq!(after.len(), expected.len(), "backfill overwrote, it did not add");
    assert!(after == expected, "backfill recomputed the same figures");

    // Backfill into an empty prefix recomputes the complete buckets of the range from Kafka.
    let mut fresh = clean.clone();
    fresh.elasticsearch.index_prefix = format!("{}-backfill", clean.elasticsearch.index_prefix);
    let status = spawn_analytics(&fresh, &["--from", &from, "--to", &to]).wait().expect("backfill runs");
    assert!(status.success());
    let recomputed = es.analytics_documents(&fresh.elasticsearch.index_prefix).await;
    assert!(recomputed.len() > 1000);
    for (key, doc) in &recomputed {
        assert_eq!(expected.get(key), Some(doc), "backfilled {key:?} differs from the live run");
    }
    for prefix in
        [&clean.elasticsearch.index_prefix, &crashing.elasticsearch.index_prefix, &fresh.elasticsearch.index_prefix]
    {
        es.delete(&format!("{prefix}-*")).await;
    }
}

/// A checkpoint Elasticsearch refuses for good is never taken as written: the worker stops with a
/// failure exit (so a supervisor restarts it and someone looks) and commits no offset past it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_checkpoint_stops_the_worker_with_a_failure_exit_and_commits_nothing() {
    require_servers();
    let config = crash_config("analytics-refused");
    // A state index that takes the owner documents' fields and no other: the worker takes its
    // partitions, then every checkpoint is refused with a 400.
    let state =
        skein_schemas::elasticsearch::IndexNames::new(&config.elasticsearch.index_prefix).analytics_state_index();
    let keyword = serde_json::json!({"type": "keyword"});
    let created = reqwest::Client::new()
        .put(format!("{ELASTICSEARCH}/{state}"))
        .json(&serde_json::json!({
            "settings": {"number_of_replicas": 0},
            "mappings": {"dynamic": "strict", "properties": {
                "group": keyword, "topic": keyword, "partition": {"type": "integer"}, "epoch": {"type": "long"}
            }}
        }))
        .send()
        .await
        .expect("elasticsearch answers");
    assert!(created.status().is_success(), "cannot create {state}: {}", created.text().await.unwrap_or_default());
    produce(&config, &generated_stream(minutes_ago(25), 300)).await;

    let mut worker = spawn_analytics(&config, &[]);
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = worker.try_wait().expect("worker status") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = worker.kill();
            panic!("the worker kept running although it cannot save a checkpoint");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(!status.success(), "a failed worker exits non-zero, not {status}");
    assert_eq!(
        group_committed_total(&config, &config.analytics.group_id),
        0,
        "no offset is committed past an unsaved checkpoint"
    );
    Es::default().delete(&format!("{}*", config.elasticsearch.index_prefix)).await;
}

async fn get_document(index: &str, id: &str) -> serde_json::Value {
    let url = format!("{ELASTICSEARCH}/{index}/_doc/{}", id.replace(':', "%3A"));
    reqwest::get(url).await.expect("elasticsearch answers").json().await.expect("json")
}

/// Two owners of one partition, driven through the store against the real Elasticsearch: the
/// older one (a zombie) cannot overwrite what the newer one wrote, documents or checkpoints, and
/// is told its partition is fenced; what the newer one has not written yet it may still write,
/// and the newer one overwrites it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zombie_owners_writes_are_refused_and_the_new_owners_documents_survive() {
    use skein_analytics::documents::Document;
    use skein_analytics::fence::Fence;
    use skein_analytics::store::{checkpoint_id, Store, StoredCheckpoint};
    require_servers();
    let config = isolated_config("analytics-fence");
    let names = skein_schemas::elasticsearch::IndexNames::new(&config.elasticsearch.index_prefix);
    let client = skein_core::elasticsearch::client(&config.elasticsearch).expect("client");
    let backoff = skein_core::retry::Backoff { initial: Duration::from_millis(50), max: Duration::from_millis(200) };
    let store = Store::new(client, names.analytics_state_index(), backoff);
    let shutdown = tokio_util::sync::CancellationToken::new();
    let (group, topic) = (config.analytics.group_id.as_str(), config.kafka.spans_topic.as_str());

    let zombie = store.take_epoch(group, topic, 0, &shutdown).await.expect("first owner");
    let owner = store.take_epoch(group, topic, 0, &shutdown).await.expect("second owner");
    assert_eq!((zombie, owner), (1, 2), "each owner takes the next epoch");
    let other = store.take_epoch(group, topic, 1, &shutdown).await.expect("another partition");
    assert_eq!(other, 1, "epochs are per partition");

    let index = names.metrics_index(0);
    // A document an older release wrote (internal versioning) is overwritten by any owner.
    let legacy = reqwest::Client::new()
        .put(format!("{ELASTICSEARCH}/{index}/_doc/legacy?refresh=true"))
        .json(&serde_json::json!({"calls": 1}))
        .send()
        .await
        .expect("elasticsearch answers");
    assert!(legacy.status().is_success());
    let doc = |id: &str, calls: u64, partition: i32, epoch: u64| Document {
        index: index.clone(),
        id: id.to_string(),
        body: serde_json::to_vec(&serde_json::json!({"calls": calls})).unwrap(),
        fence: Some(Fence { partition, epoch }),
    };
    let fenced = store.write(&[doc("final", 3, 0, owner), doc("legacy", 2, 0, zombie)], &shutdown).await.unwrap();
    assert!(fenced.is_empty(), "{fenced:?}");
    assert_eq!(get_document(&index, "legacy").await["_source"]["calls"], 2, "a pre-fencing document is overwritten");

    // The zombie's late provisional write of the owner's final document is refused.
    let fenced = store
        .write(&[doc("final", 2, 0, zombie), doc("early", 1, 0, zombie), doc("elsewhere", 1, 1, other)], &shutdown)
        .await
        .unwrap();
    assert_eq!(fenced.into_iter().collect::<Vec<_>>(), vec![0], "only the zombie's partition is fenced");
    assert_eq!(get_document(&index, "final").await["_source"]["calls"], 3, "the new owner's document survives");
    assert_eq!(get_document(&index, "elsewhere").await["_source"]["calls"], 1, "another partition is not fenced");
    // What the zombie wrote first, the owner overwrites.
    assert!(store.write(&[doc("early", 5, 0, owner)], &shutdown).await.unwrap().is_empty());
    assert_eq!(get_document(&index, "early").await["_source"]["calls"], 5);

    // Checkpoints likewise.
    let settings = skein_analytics::worker::settings(&config);
    let checkpoint = |epoch: u64, watermark: i64| StoredCheckpoint {
        group: group.into(),
        topic: topic.into(),
        partition: 0,
        epoch,
        checkpoint: skein_analytics::partition::PartitionCheckpoint {
            resume: skein_analytics::partition::Mark { offset: 42, watermark },
            finalized_through: 0,
            dependencies: None,
            spanning: Vec::new(),
            settings: settings.clone(),
        },
    };
    let id = checkpoint_id(group, topic, 0, 42);
    let saved = store.save_checkpoints(&[(id.clone(), checkpoint(owner, 7))], &shutdown).await.expect("saved");
    assert!(saved.is_empty());
    let lost = store.save_checkpoints(&[(id.clone(), checkpoint(zombie, 5))], &shutdown).await.expect("not an error");
    assert_eq!(lost.into_iter().collect::<Vec<_>>(), vec![0]);
    let stored = store.load_checkpoint(&id, &shutdown).await.expect("checkpoint");
    assert_eq!(stored.epoch, owner, "the new owner's checkpoint survives");
    Es::default().delete(&format!("{}-*", config.elasticsearch.index_prefix)).await;
}

/// Sum of `calls` of the operation series of `service` in a prefix's metrics documents, per group.
async fn operation_calls(es: &Es, prefix: &str, service: &str) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for doc in es.all_documents(&format!("{prefix}-skein-metrics-*")).await.values() {
        if doc["series"] == "operation" && doc["service"] == service {
            let group = doc["group"].as_str().unwrap_or("<none>").to_string();
            *out.entry(group).or_default() += doc["calls"].as_u64().unwrap();
        }
    }
    out
}

/// Sum of `callCount` per (group, parent, child) over a prefix's dependencies documents.
async fn dependency_calls(es: &Es, prefix: &str) -> BTreeMap<(String, String, String), u64> {
    let mut out = BTreeMap::new();
    for (_, doc) in es.documents(&format!("{prefix}-jaeger-dependencies-*")).await {
        let group = doc["group"].as_str().unwrap_or("<none>").to_string();
        for link in doc["dependencies"].as_array().cloned().unwrap_or_default() {
            let key = (group.clone(), link["parent"].as_str().unwrap().into(), link["child"].as_str().unwrap().into());
            *out.entry(key).or_default() += link["callCount"].as_u64().unwrap();
        }
    }
    out
}

/// A front → back call, one record.
fn call_record(trace: [u8; 16], ts: i64) -> Record {
    use span::SpanKind::{Client, Server};
    record(
        trace,
        ts,
        vec![
            ("front", vec![make_span(trace, 1, None, "in", Server, 9), make_span(trace, 2, Some(1), "out", Client, 8)]),
            ("back", vec![make_span(trace, 3, Some(2), "b-in", Server, 7)]),
        ],
    )
}

/// Two configurations over one topic and one index prefix (another group, another bucket width)
/// each keep a complete set of their own documents, and the query service reads only its
/// configuration's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_configurations_sharing_a_prefix_keep_their_own_documents_and_the_query_reads_one() {
    require_servers();
    let mut first = isolated_config("analytics-two-configs");
    first.kafka.partitions = 1;
    quick_analytics(&mut first);
    first.analytics.trace_max_age_ms = 20_000;
    let mut second = first.clone();
    second.analytics.group_id = format!("{}-second", first.analytics.group_id);
    second.analytics.bucket_seconds = 30;
    let base = minutes_ago(3);
    let records: Vec<Record> = (0..5u8).map(|n| call_record([n + 1; 16], base + i64::from(n) * 100)).collect();
    produce(&first, &records).await;

    let one = Pipeline::start_with_analytics(&first).await;
    let two = Pipeline::start_with_analytics(&second).await;
    wait_caught_up(&first, &first.analytics.group_id, Duration::from_secs(90)).await;
    wait_caught_up(&second, &second.analytics.group_id, Duration::from_secs(90)).await;
    let es = Es::default();
    let prefix = &first.elasticsearch.index_prefix;
    let (g1, g2) = (first.analytics.group_id.clone(), second.analytics.group_id.clone());
    let calls = operation_calls(&es, prefix, "front").await;
    let each = |n: u64| [(g1.clone(), n), (g2.clone(), n)].into_iter().collect::<BTreeMap<_, _>>();
    // `in` and `out`: two front spans a call.
    assert_eq!(calls, each(10), "each configuration's latency series are whole");
    let links = dependency_calls(&es, prefix).await;
    let expected: BTreeMap<_, _> = [g1.clone(), g2.clone()]
        .into_iter()
        .flat_map(|g| [((g.clone(), "front".into(), "back".into()), 5), ((g, "front".into(), "front".into()), 5)])
        .collect();
    assert_eq!(links, expected, "each configuration's dependency links are whole");

    // The query service of the first configuration counts each call once.
    let shutdown = tokio_util::sync::CancellationToken::new();
    let query = skein_query::start(&first, shutdown.clone()).await.expect("query starts");
    let end_ms = chrono::Utc::now().timestamp_millis() + 60_000;
    let url = format!("http://{}/api/dependencies?endTs={end_ms}&lookback=86400000", query.addresses.api);
    let (status, answer) = get_json(&url).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["data"],
        serde_json::json!([
            {"parent": "front", "child": "back", "callCount": 5, "errorCount": 0},
            {"parent": "front", "child": "front", "callCount": 5, "errorCount": 0}
        ]),
        "the query reads its own configuration's documents only"
    );
    shutdown.cancel();
    let _ = query.join().await;
    one.stop().await;
    two.stop().await;
    es.delete(&format!("{prefix}-*")).await;
}

/// A TCP proxy to Elasticsearch that can stall: while paused it cuts every connection, so a
/// writer behind it retries until it is resumed.
struct StallingProxy {
    url: String,
    paused: tokio::sync::watch::Sender<bool>,
}

impl StallingProxy {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (paused, watch) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let mut watch = watch.clone();
                if *watch.borrow() {
                    continue; // dropped: the connection is cut
                }
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(elasticsearch_addr()).await else { return };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = watch.wait_for(|paused| *paused) => {}
                    }
                });
            }
        });
        Self { url, paused }
    }

    fn pause(&self, paused: bool) {
        self.paused.send_replace(paused);
    }
}

fn metric(text: &str, name: &str) -> f64 {
    text.lines().filter(|l| l.starts_with(name)).filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok()).sum()
}

/// The issue's zombie, with real servers: a worker whose Elasticsearch stalls stops polling, is
/// evicted from the group past `max.poll.interval.ms`, and a second worker takes its partition
/// and writes the bucket's documents. When Elasticsearch comes back, the evicted worker's pending
/// write (the bucket as it knew it, older) is refused, it stops writing the partition, and the
/// new owner's documents stay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_evicted_while_elasticsearch_stalls_cannot_overwrite_its_successors_documents() {
    require_servers();
    let mut config = isolated_config("analytics-zombie");
    config.kafka.partitions = 1;
    config.kafka.librdkafka.insert("max.poll.interval.ms".into(), "6000".into());
    config.kafka.librdkafka.insert("session.timeout.ms".into(), "6000".into());
    quick_analytics(&mut config);
    config.analytics.trace_max_age_ms = 20_000;
    config.analytics.bucket_seconds = 60;
    config.analytics.dependencies_bucket_seconds = 60;
    config.analytics.retry_initial_backoff_ms = 100;
    config.analytics.retry_max_backoff_ms = 300;
    config.analytics.admin_listen = free_port();
    let proxy = StallingProxy::start().await;
    let mut zombie_config = config.clone();
    zombie_config.elasticsearch.url = proxy.url.clone();
    let mut owner_config = config.clone();
    owner_config.analytics.admin_listen = free_port();
    let es = Es::default();
    let prefix = config.elasticsearch.index_prefix.clone();
    let group = config.analytics.group_id.clone();
    // Records carry "now" (as the markers do), early in a minute, so the bucket stays open while
    // the zombie stalls.
    let in_minute = chrono::Utc::now().timestamp_millis().rem_euclid(60_000);
    if in_minute > 15_000 {
        tokio::time::sleep(Duration::from_millis((61_000 - in_minute) as u64)).await;
    }
    let now = || chrono::Utc::now().timestamp_millis();
    let front_calls = || {
        let (es, prefix, group) = (&es, prefix.clone(), group.clone());
        async move { operation_calls(es, &prefix, "front").await.get(&group).copied().unwrap_or(0) }
    };

    produce(&config, &[call_record([1; 16], now())]).await;
    let zombie = Pipeline::start_with_analytics(&zombie_config).await;
    let zombie_metrics = format!("http://{}/metrics", zombie_config.analytics.admin_listen);
    wait_until("the first worker's provisional documents", Duration::from_secs(30), || async {
        front_calls().await == 2
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1_500)).await; // its trace closes, links written

    // Elasticsearch stalls for the first worker: it reads a second call and its flush hangs.
    proxy.pause(true);
    let retries = || async {
        metric(
            &reqwest::get(&zombie_metrics).await.unwrap().text().await.unwrap(),
            "skein_analytics_write_retries_total",
        )
    };
    let before = retries().await;
    produce(&config, &[call_record([2; 16], now())]).await;
    wait_until("the first worker retrying a write", Duration::from_secs(20), || async { retries().await > before })
        .await;
    // A third call it never reads; the second worker takes the partition once the first is evicted.
    produce(&config, &[call_record([3; 16], now())]).await;
    let owner = Pipeline::start_with_analytics(&owner_config).await;
    wait_until("the new owner's documents", Duration::from_secs(60), || async { front_calls().await == 6 }).await;

    // Elasticsearch answers the first worker again: its stalled write (4 front calls) lands late.
    proxy.pause(false);
    let fenced = || async {
        metric(&reqwest::get(&zombie_metrics).await.unwrap().text().await.unwrap(), "skein_analytics_fenced_total")
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while fenced().await < 1.0 {
        assert_eq!(front_calls().await, 6, "the evicted worker overwrote the new owner's documents");
        assert!(Instant::now() < deadline, "the evicted worker was never fenced");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(front_calls().await, 6, "the new owner's documents survive the evicted worker");
    let state = skein_schemas::elasticsearch::IndexNames::new(&prefix).analytics_state_index();
    let owner_doc = get_document(&state, &skein_analytics::fence::owner_id(&group, &config.kafka.spans_topic, 0)).await;
    assert!(owner_doc["_source"]["epoch"].as_u64().unwrap() >= 2, "{owner_doc}");
    zombie.stop().await;
    owner.stop().await;
    es.delete(&format!("{prefix}-*")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_analytics_worker_whose_instance_id_is_taken_stops_with_an_error_naming_the_option() {
    require_servers();
    let mut config = isolated_config("analytics-instance-id");
    config.kafka.group_protocol = skein_core::config::GroupProtocol::Consumer;
    config.kafka.group_instance_id = Some("analytics-0".into());
    let first = Pipeline::start_with_analytics(&config).await;

    let shutdown = tokio_util::sync::CancellationToken::new();
    let second = skein_analytics::start(&config, shutdown.clone()).await.expect("analytics starts");
    let stopped = tokio::time::timeout(Duration::from_secs(60), second.join()).await;
    shutdown.cancel();
    let error = stopped.expect("the refused worker stops by itself").expect_err("and reports a failure");
    assert!(error.to_string().contains("kafka.group_instance_id"), "{error}");

    first.stop().await;
}
