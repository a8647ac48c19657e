//! The UI in a real Chromium against the real stack: fixture traces sent through the real collector,
//! indexed by the real ingester, links and latency written by the real analytics worker, a poison
//! record dead-lettered; then `ui/browser-tests/run.mjs` (Playwright driving Debian's Chromium)
//! checks every view against what the fixture implies and saves screenshots under
//! `target/ui-screenshots/`.
//!
//! The fixture and every figure the browser must show are written here, once, and handed to the
//! browser tests as JSON, so the two cannot disagree about what was sent.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::trace::v1::{span::SpanKind, Span, Status};
use serde_json::{json, Value};
use skein_e2e::*;

const MS: u64 = 1_000_000;
const WAIT: Duration = Duration::from_secs(90);

/// One fixture span: where it sits in its trace and what the browser should show for it.
struct FixtureSpan {
    service: &'static str,
    span: Span,
}

/// A fixture trace, spans listed in the order the waterfall must show them (depth first, children
/// by start time).
struct FixtureTrace {
    name: &'static str,
    id: [u8; 16],
    spans: Vec<FixtureSpan>,
}

struct Builder {
    trace: [u8; 16],
    base_ns: u64,
    next_id: u64,
    spans: Vec<FixtureSpan>,
}

impl Builder {
    fn new(trace: [u8; 16], base_ns: u64) -> Self {
        Self { trace, base_ns, next_id: 1, spans: Vec::new() }
    }

    /// Add a span starting `offset_ms` after the trace's base, lasting `duration_ms`; its id.
    #[allow(clippy::too_many_arguments)]
    fn span(
        &mut self,
        service: &'static str,
        name: &str,
        kind: SpanKind,
        parent: Option<u64>,
        offset_ms: u64,
        duration_ms: u64,
        error: bool,
        attributes: Vec<KeyValue>,
    ) -> u64 {
        let id = (u64::from(self.trace[15]) << 40) | self.next_id;
        self.next_id += 1;
        let mut span = otlp_span(self.trace, id, parent, name, kind, self.base_ns + offset_ms * MS, duration_ms * MS);
        span.attributes = attributes;
        if error {
            span.status = Some(Status { code: 2, message: "card declined".into() });
        }
        self.spans.push(FixtureSpan { service, span });
        id
    }

    fn build(self, name: &'static str) -> FixtureTrace {
        FixtureTrace { name, id: self.trace, spans: self.spans }
    }
}

fn trace_id(tag: u8) -> [u8; 16] {
    let mut id = random_trace_id();
    id[15] = tag;
    id
}

/// frontend GET /checkout → cart POST /cart, and → payment POST /charge (an error when `declined`).
fn checkout(base_ns: u64, tag: u8, declined: bool) -> FixtureTrace {
    let mut b = Builder::new(trace_id(tag), base_ns);
    let attrs = if declined { vec![attr("customer.tier", "gold")] } else { vec![attr("customer.tier", "silver")] };
    let root = b.span("frontend", "GET /checkout", SpanKind::Server, None, 0, 120, false, attrs);
    let to_cart = b.span("frontend", "POST /cart", SpanKind::Client, Some(root), 10, 50, false, vec![]);
    b.span("cart", "POST /cart", SpanKind::Server, Some(to_cart), 12, 45, false, vec![]);
    let to_payment = b.span("frontend", "POST /charge", SpanKind::Client, Some(root), 70, 40, false, vec![]);
    b.span("payment", "POST /charge", SpanKind::Server, Some(to_payment), 72, 35, declined, vec![]);
    b.build(if declined { "checkout-declined" } else { "checkout" })
}

fn home(base_ns: u64, tag: u8, duration_ms: u64) -> FixtureTrace {
    let mut b = Builder::new(trace_id(tag), base_ns);
    b.span("frontend", "GET /home", SpanKind::Server, None, 0, duration_ms, false, vec![]);
    b.build("home")
}

/// 10,000 spans of one service: a root and a tree with ten children per span.
fn big(base_ns: u64, tag: u8, spans: usize) -> FixtureTrace {
    let mut b = Builder::new(trace_id(tag), base_ns);
    let mut ids = vec![b.span("bulk", "batch", SpanKind::Server, None, 0, 5_000, false, vec![])];
    for i in 1..spans {
        let parent = ids[(i - 1) / 10];
        let depth = (i as f64).log10().floor() as u64;
        let id = b.span(
            "bulk",
            &format!("item-{}", i % 20),
            SpanKind::Internal,
            Some(parent),
            depth + (i as u64 % 7),
            3,
            false,
            vec![],
        );
        ids.push(id);
    }
    b.build("big")
}

/// The request for one trace: one resource per service, spans in fixture order.
fn export(trace: &FixtureTrace) -> Vec<u8> {
    let mut by_service: BTreeMap<&str, Vec<Span>> = BTreeMap::new();
    for s in &trace.spans {
        by_service.entry(s.service).or_default().push(s.span.clone());
    }
    export_body(by_service.into_iter().collect())
}

/// Waterfall order: depth first from the roots, children by start time (then span id), as the UI
/// builds its tree.
fn tree_order(trace: &FixtureTrace) -> Vec<&FixtureSpan> {
    let parent_of = |s: &FixtureSpan| {
        (!s.span.parent_span_id.is_empty()).then(|| u64::from_be_bytes(s.span.parent_span_id[..8].try_into().unwrap()))
    };
    let id_of = |s: &FixtureSpan| u64::from_be_bytes(s.span.span_id[..8].try_into().unwrap());
    let mut children: BTreeMap<Option<u64>, Vec<&FixtureSpan>> = BTreeMap::new();
    for s in &trace.spans {
        children.entry(parent_of(s)).or_default().push(s);
    }
    for list in children.values_mut() {
        list.sort_by_key(|s| (s.span.start_time_unix_nano, format!("{:016x}", id_of(s))));
    }
    let mut out = Vec::new();
    let mut stack: Vec<&FixtureSpan> = children.get(&None).cloned().unwrap_or_default().into_iter().rev().collect();
    while let Some(s) = stack.pop() {
        out.push(s);
        if let Some(kids) = children.get(&Some(id_of(s))) {
            stack.extend(kids.iter().rev());
        }
    }
    out
}

fn hex_id(id: &[u8]) -> String {
    hex::encode(id)
}

fn trace_json(trace: &FixtureTrace) -> Value {
    let ordered = tree_order(trace);
    let start = trace.spans.iter().map(|s| s.span.start_time_unix_nano).min().unwrap();
    let end = trace.spans.iter().map(|s| s.span.end_time_unix_nano).max().unwrap();
    let spans: Vec<Value> = ordered
        .iter()
        .take(50)
        .map(|s| {
            json!({
                "spanID": hex_id(&s.span.span_id),
                "service": s.service,
                "operation": s.span.name,
                "durationMicros": (s.span.end_time_unix_nano - s.span.start_time_unix_nano) / 1000,
            })
        })
        .collect();
    let errors = trace.spans.iter().filter(|s| s.span.status.as_ref().is_some_and(|st| st.code == 2)).count();
    json!({
        "name": trace.name,
        "traceID": hex_id(&trace.id),
        "spanCount": trace.spans.len(),
        "errorCount": errors,
        "durationMicros": (end - start) / 1000,
        "rootService": ordered[0].service,
        "rootOperation": ordered[0].span.name,
        "firstSpans": spans,
        "lastSpanID": hex_id(&ordered[ordered.len() - 1].span.span_id),
    })
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("repo root").to_path_buf()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_view_shows_the_fixture_in_real_chromium() {
    require_servers();
    let root = repo_root();
    let chromium = {
        let output = Command::new("bash").arg(root.join("scripts/ui.sh")).arg("chromium").output().expect("ui.sh runs");
        assert!(output.status.success(), "installing Chromium failed: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    };

    let mut config = isolated_config("ui");
    quick_analytics(&mut config);
    // The pipeline view scrapes the collector's /metrics: give the collector a known admin port.
    let collector_admin = free_port();
    config.collector.admin_listen = collector_admin;
    config.query.collector_metrics_urls = vec![format!("http://{collector_admin}/metrics")];
    let pipeline = Pipeline::start_all(&config).await;
    let base_url = pipeline.query_url();
    eprintln!("skein UI under test: {base_url}");

    // Spans started a minute ago, so the default search range (last hour) holds them.
    let base_ns = (chrono::Utc::now().timestamp_nanos_opt().unwrap() as u64) - 60_000 * MS;
    let traces = vec![
        checkout(base_ns, 1, false),
        checkout(base_ns + 2_000 * MS, 2, true),
        home(base_ns + 4_000 * MS, 3, 5),
        home(base_ns + 5_000 * MS, 4, 8),
        home(base_ns + 6_000 * MS, 5, 300),
        big(base_ns + 8_000 * MS, 6, 10_000),
    ];
    for trace in &traces {
        pipeline.send_otlp_http(export(trace)).await;
    }
    let total_spans: usize = traces.iter().map(|t| t.spans.len()).sum();

    // Every span searchable, by id.
    for trace in &traces {
        let url = format!("{base_url}/api/traces/{}", hex_id(&trace.id));
        let want = trace.spans.len();
        wait_until(&format!("trace {} indexed", trace.name), WAIT, || {
            let url = url.clone();
            async move { get_json(&url).await.1["data"][0]["spans"].as_array().is_some_and(|s| s.len() == want) }
        })
        .await;
    }
    // Analytics has closed the traces and written their links (payment's call counts them all).
    let graph_url = format!("{base_url}/api/skein/graph?lookback=3600000");
    wait_until("analytics links of every trace", WAIT, || {
        let url = graph_url.clone();
        async move {
            let graph = get_json(&url).await.1;
            let calls = |parent: &str, child: &str| {
                graph["links"].as_array().and_then(|links| {
                    links
                        .iter()
                        .find(|l| l["parent"] == parent && l["child"] == child)
                        .and_then(|l| l["calls"].as_u64())
                })
            };
            calls("frontend", "payment") == Some(2) && calls("bulk", "bulk") == Some(9_999)
        }
    })
    .await;

    // One poison record (not OTLP) straight into the spans topic: the ingester dead-letters it.
    {
        use rdkafka::producer::{FutureProducer, FutureRecord};
        let producer: FutureProducer =
            rdkafka::ClientConfig::new().set("bootstrap.servers", &config.kafka.brokers).create().expect("producer");
        producer
            .send(
                FutureRecord::to(&config.kafka.spans_topic).key("poison").payload(&b"\xffnot a span record"[..]),
                Duration::from_secs(10),
            )
            .await
            .map_err(|(e, _)| e)
            .expect("poison record produced");
    }
    let pipeline_url = format!("{base_url}/api/skein/pipeline");
    wait_until("the poison record dead-lettered and the ingester caught up", WAIT, || {
        let url = pipeline_url.clone();
        async move {
            let report = get_json(&url).await.1;
            let ingester_lag = report["kafka"]["groups"]
                .as_array()
                .and_then(|groups| groups.iter().find(|g| g["role"] == "ingester"))
                .and_then(|g| g["totalLag"].as_u64());
            report["kafka"]["deadLetters"]["records"] == 1 && ingester_lag == Some(0)
        }
    })
    .await;

    let by_name = |name: &str| traces.iter().filter(|t| t.name == name).map(|t| hex_id(&t.id)).collect::<Vec<_>>();
    let checkouts = [by_name("checkout"), by_name("checkout-declined")].concat();
    let frontend = [checkouts.clone(), by_name("home")].concat();
    let over_100ms = [checkouts.clone(), vec![hex_id(&traces[4].id)]].concat();
    let fixture = json!({
        "baseUrl": base_url,
        "totalSpans": total_spans,
        "traces": traces.iter().map(trace_json).collect::<Vec<_>>(),
        // What each search must find, exactly.
        "searches": [
            {"name": "service", "query": {"service": "frontend", "lookback": "1h"},
             "expect": frontend},
            {"name": "operation", "query": {"service": "frontend", "operation": "GET /home", "lookback": "1h"},
             "expect": by_name("home")},
            {"name": "tag", "query": {"service": "frontend", "tags": "customer.tier=gold", "lookback": "1h"},
             "expect": by_name("checkout-declined")},
            {"name": "duration", "query": {"service": "frontend", "minDuration": "100ms", "lookback": "1h"},
             "expect": over_100ms},
            {"name": "child service", "query": {"service": "payment", "lookback": "1h"},
             "expect": checkouts},
        ],
        // Service links: calls and errors over the two checkouts (spark's rules keep A → A links).
        "links": [
            {"parent": "frontend", "child": "cart", "calls": 2, "errors": 0},
            {"parent": "frontend", "child": "payment", "calls": 2, "errors": 1},
            {"parent": "frontend", "child": "frontend", "calls": 4, "errors": 0},
            {"parent": "bulk", "child": "bulk", "calls": 9_999, "errors": 0},
        ],
        "services": ["bulk", "cart", "frontend", "payment"],
        // Server spans per operation (the monitor's call counts).
        "operations": [
            {"service": "frontend", "operation": "GET /checkout", "calls": 2},
            {"service": "frontend", "operation": "GET /home", "calls": 3},
            {"service": "payment", "operation": "POST /charge", "calls": 2, "errors": 1},
        ],
        "deadLetters": 1,
        "partitions": config.kafka.partitions,
    });
    let fixture_path = std::env::temp_dir().join(format!("skein-ui-fixture-{}.json", std::process::id()));
    std::fs::write(&fixture_path, serde_json::to_vec_pretty(&fixture).unwrap()).expect("fixture written");
    let screenshots = root.join("target/ui-screenshots");
    std::fs::create_dir_all(&screenshots).expect("screenshot directory");

    let started = Instant::now();
    let status = Command::new("node")
        .arg(root.join("ui/browser-tests/run.mjs"))
        .env("SKEIN_UI_FIXTURE", &fixture_path)
        .env("SKEIN_CHROMIUM", &chromium)
        .env("SKEIN_UI_SCREENSHOTS", &screenshots)
        .current_dir(root.join("ui"))
        .status()
        .expect("node runs the browser tests");
    eprintln!("browser tests took {:?}; screenshots in {}", started.elapsed(), screenshots.display());
    assert!(
        status.success(),
        "browser tests failed (see their output above; screenshots in {})",
        screenshots.display()
    );
    pipeline.stop().await;
    Es::default().delete(&format!("{}-*", config.elasticsearch.index_prefix)).await;
}
