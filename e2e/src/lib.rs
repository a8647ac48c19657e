//! Harness for end-to-end tests against the real Kafka and Elasticsearch started by `make up`
//! (or the OpenSearch of `make test-opensearch`, see [`ELASTICSEARCH`]).
//! Each test gets its own topics, consumer group and index prefix, so tests run in parallel.

pub mod certs;

use std::net::TcpStream;
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value::Value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use skein_core::role::RunningRole;
use skein_core::SkeinConfig;
use tokio_util::sync::CancellationToken;

pub mod tls_servers;

pub const KAFKA: &str = "127.0.0.1:9092";

/// The search backend the tests write to and read from: the shared Elasticsearch of `make up`,
/// or another one named by `SKEIN_E2E_ELASTICSEARCH` when the tests are built (`make
/// test-opensearch` sets it to the OpenSearch of `scripts/infra/opensearch.sh`). A constant,
/// so tests use it in `format!` and as `&str` alike; cargo rebuilds the tests when it changes.
pub const ELASTICSEARCH: &str = match option_env!("SKEIN_E2E_ELASTICSEARCH") {
    Some(url) => url,
    None => "http://127.0.0.1:9200",
};

/// The product expected at [`ELASTICSEARCH`]: `elasticsearch`, or what `SKEIN_E2E_BACKEND` said
/// when the tests were built (`make test-opensearch`: `opensearch`).
pub const BACKEND: &str = match option_env!("SKEIN_E2E_BACKEND") {
    Some(product) => product,
    None => "elasticsearch",
};

/// `host:port` of [`ELASTICSEARCH`], for raw TCP (proxies, reachability).
pub fn elasticsearch_addr() -> &'static str {
    let rest = ELASTICSEARCH.split_once("://").map_or(ELASTICSEARCH, |(_, rest)| rest);
    rest.split('/').next().unwrap_or(rest)
}

/// Which product answers at [`ELASTICSEARCH`], as skein itself detects it.
pub async fn backend() -> skein_core::elasticsearch::Backend {
    let config = skein_core::config::ElasticsearchConfig { url: ELASTICSEARCH.into(), ..Default::default() };
    let client = skein_core::elasticsearch::client(&config).expect("client builds");
    skein_core::elasticsearch::detect_backend(&client, &config.url).await.expect("the search backend answers")
}

/// Fail loudly when the servers are missing: these tests never skip silently.
pub fn require_servers() {
    if let Ok(runtime) = std::env::var("SKEIN_E2E_ELASTICSEARCH") {
        // The URL is compiled in: a binary built for another backend must not test this one.
        assert_eq!(runtime, ELASTICSEARCH, "these tests were built for {ELASTICSEARCH}: run them through cargo test");
    }
    for (name, addr) in [("Kafka", KAFKA), ("Elasticsearch", elasticsearch_addr())] {
        if TcpStream::connect_timeout(&addr.parse().unwrap(), Duration::from_secs(2)).is_err() {
            panic!(
                "{name} is not reachable at {addr}: run `make up` first (or `make test`, which does; \
                 for OpenSearch `make test-opensearch`)"
            );
        }
    }
}

/// Analytics that closes a trace 1 s after its last span and flushes every 200 ms, idle
/// partitions after 300 ms: a test sees its documents within seconds.
pub fn quick_analytics(config: &mut SkeinConfig) {
    config.analytics.trace_idle_ms = 1_000;
    config.analytics.idle_partition_ms = 300;
    config.analytics.flush_interval_ms = 200;
}

/// A configuration isolated from every other test: own topics, group, index prefix, free ports.
pub fn isolated_config(name: &str) -> SkeinConfig {
    let id: u32 = rand::random();
    let tag = format!("e2e-{name}-{id:08x}");
    let mut config = SkeinConfig::default();
    config.kafka.brokers = KAFKA.into();
    config.kafka.spans_topic = format!("{tag}-spans");
    config.kafka.dlq_topic = format!("{tag}-dlq");
    config.kafka.partitions = 3;
    config.elasticsearch.url = ELASTICSEARCH.into();
    config.elasticsearch.index_prefix = tag.clone();
    config.ingester.group_id = format!("{tag}-ingester");
    config.ingester.bulk_flush_interval_ms = 50;
    config.ingester.commit_interval_ms = 200;
    config.ingester.retry_max_backoff_ms = 1000;
    let any = "127.0.0.1:0".parse().unwrap();
    config.collector.otlp_grpc_listen = any;
    config.collector.otlp_http_listen = any;
    config.collector.admin_listen = any;
    config.ingester.admin_listen = any;
    config.analytics.group_id = format!("{tag}-analytics");
    config.analytics.admin_listen = any;
    config.query.listen = any;
    config.query.admin_listen = any;
    let port0 = skein_core::config::Listen(Some(any));
    let c = &mut config.collector;
    (c.jaeger_grpc_listen, c.jaeger_thrift_http_listen, c.zipkin_listen, c.sampling_http_listen) =
        (port0, port0, port0, port0);
    (c.jaeger_compact_udp_listen, c.jaeger_binary_udp_listen) = (port0, port0);
    let a = &mut config.agent;
    (a.compact_udp_listen, a.binary_udp_listen, a.sampling_http_listen, a.admin_listen) = (port0, port0, port0, any);
    // The fixtures' spans start in November 2023 (`span`), so their documents land in known
    // indices; the tests of the time bounds set them back.
    config.collector.max_span_age_ms = 0;
    config.log.level = "warn".into();
    config
}

/// Run one of the real-client programs of `e2e/clients` (installed by `scripts/clients.sh`) and
/// parse the JSON line it prints. `program` is `python:<script>` or a Go binary name.
pub fn run_client(program: &str, args: &[&str]) -> serde_json::Value {
    let (succeeded, value, stderr) = client_output(program, args, &[]);
    assert!(succeeded && value["ok"] == true, "{program} {args:?} failed: {value}\nstderr: {stderr}");
    value
}

/// [`run_client`] with extra environment variables (the SDKs' `OTEL_*` settings), returning the
/// JSON line whether the client succeeded or not (`ok` says which).
pub fn run_client_with_env(program: &str, args: &[&str], env: &[(&str, &str)]) -> serde_json::Value {
    client_output(program, args, env).1
}

fn client_output(program: &str, args: &[&str], env: &[(&str, &str)]) -> (bool, serde_json::Value, String) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let setup = std::process::Command::new("bash")
        .arg(root.join("scripts/clients.sh"))
        .arg("setup")
        .output()
        .expect("scripts/clients.sh runs");
    assert!(setup.status.success(), "client set-up failed: {}", String::from_utf8_lossy(&setup.stderr));
    let cache = std::env::var("SKEIN_CACHE_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| std::path::PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/skein"));
    let mut command = match program.strip_prefix("python:") {
        Some(script) => {
            let mut command = std::process::Command::new(cache.join("venv-clients/bin/python"));
            command.arg(root.join("e2e/clients/python").join(script));
            command
        }
        None => std::process::Command::new(root.join("e2e/clients/go/bin").join(program)),
    };
    let output =
        command.args(args).envs(env.iter().copied()).output().unwrap_or_else(|e| panic!("{program} runs: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))
        .unwrap_or_else(|| panic!("{program} printed no JSON line; stderr: {stderr}"));
    let value: serde_json::Value = serde_json::from_str(line).expect("client prints JSON");
    (output.status.success(), value, stderr)
}

/// A running collector and/or ingester in this process.
pub struct Pipeline {
    pub shutdown: CancellationToken,
    pub collector: Option<RunningRole<skein_collector::CollectorAddresses>>,
    pub ingester: Option<RunningRole>,
    pub analytics: Option<RunningRole>,
    pub query: Option<RunningRole<skein_query::QueryAddresses>>,
}

impl Pipeline {
    pub async fn start(config: &SkeinConfig, collector: bool, ingester: bool) -> Self {
        skein_core::telemetry::init_logging(&config.log);
        skein_core::telemetry::prometheus();
        let shutdown = CancellationToken::new();
        let collector = if collector {
            let running = skein_collector::start(config, shutdown.clone()).await.expect("collector starts");
            wait_ready("collector", &running.readiness).await;
            Some(running)
        } else {
            None
        };
        let ingester = if ingester {
            let running = skein_ingester::start(config, shutdown.clone()).await.expect("ingester starts");
            wait_ready("ingester", &running.readiness).await;
            Some(running)
        } else {
            None
        };
        Self { shutdown, collector, ingester, analytics: None, query: None }
    }

    /// Every role in this process: collector, ingester, analytics and query.
    pub async fn start_all(config: &SkeinConfig) -> Self {
        let mut pipeline = Self::start(config, true, true).await;
        let analytics = skein_analytics::start(config, pipeline.shutdown.clone()).await.expect("analytics starts");
        wait_ready("analytics", &analytics.readiness).await;
        pipeline.analytics = Some(analytics);
        let query = skein_query::start(config, pipeline.shutdown.clone()).await.expect("query starts");
        pipeline.query = Some(query);
        pipeline
    }

    /// Base URL of the query API.
    pub fn query_url(&self) -> String {
        format!("http://{}", self.query.as_ref().expect("query running").addresses.api)
    }

    /// Only the analytics worker, in this process.
    pub async fn start_with_analytics(config: &SkeinConfig) -> Self {
        skein_core::telemetry::init_logging(&config.log);
        skein_core::telemetry::prometheus();
        let shutdown = CancellationToken::new();
        let running = skein_analytics::start(config, shutdown.clone()).await.expect("analytics starts");
        wait_ready("analytics", &running.readiness).await;
        Self { shutdown, collector: None, ingester: None, analytics: Some(running), query: None }
    }

    pub fn grpc_endpoint(&self) -> String {
        format!("http://{}", self.collector.as_ref().expect("collector running").addresses.otlp_grpc)
    }

    pub fn http_url(&self) -> String {
        format!("http://{}/v1/traces", self.collector.as_ref().expect("collector running").addresses.otlp_http)
    }

    /// POST an OTLP/protobuf body to the collector's HTTP receiver; panics unless it answers 200.
    pub async fn send_otlp_http(&self, body: Vec<u8>) {
        let response = reqwest::Client::new()
            .post(self.http_url())
            .header("content-type", "application/x-protobuf")
            .body(body)
            .send()
            .await
            .expect("collector answers");
        let status = response.status();
        assert_eq!(status, 200, "{}", response.text().await.unwrap_or_default());
    }

    /// Stop everything and wait for the drain and final commit; a role that had failed by
    /// itself fails the test.
    pub async fn stop(self) {
        self.shutdown.cancel();
        let mut failed = Vec::new();
        if let Some(collector) = self.collector {
            failed.extend(collector.join().await.err().map(|e| format!("collector: {e}")));
        }
        if let Some(ingester) = self.ingester {
            failed.extend(ingester.join().await.err().map(|e| format!("ingester: {e}")));
        }
        if let Some(analytics) = self.analytics {
            failed.extend(analytics.join().await.err().map(|e| format!("analytics: {e}")));
        }
        if let Some(query) = self.query {
            failed.extend(query.join().await.err().map(|e| format!("query: {e}")));
        }
        assert!(failed.is_empty(), "roles failed while the test ran: {}", failed.join("; "));
    }
}

async fn wait_ready(role: &str, readiness: &skein_core::telemetry::Readiness) {
    wait_until(&format!("{role} ready"), Duration::from_secs(60), || {
        let ready = readiness.is_ready();
        async move { ready }
    })
    .await;
}

/// Read the first dead letter of the test's DLQ topic: its key, value and headers by name.
pub async fn first_dead_letter(
    config: &SkeinConfig,
) -> (Option<Vec<u8>>, Option<Vec<u8>>, std::collections::HashMap<String, String>) {
    use rdkafka::consumer::{Consumer, StreamConsumer};
    use rdkafka::message::{Headers, Message};
    let consumer: StreamConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &config.kafka.brokers)
        .set("group.id", format!("{}-dlq-reader", config.ingester.group_id))
        .set("auto.offset.reset", "earliest")
        .create()
        .expect("DLQ reader");
    consumer.subscribe(&[&config.kafka.dlq_topic]).expect("subscribe to the DLQ");
    let letter = tokio::time::timeout(Duration::from_secs(90), consumer.recv())
        .await
        .expect("a dead letter arrives")
        .expect("DLQ record");
    let headers = letter
        .headers()
        .map(|headers| {
            headers
                .iter()
                .filter_map(|h| h.value.map(|v| (h.key.to_string(), String::from_utf8_lossy(v).into_owned())))
                .collect()
        })
        .unwrap_or_default();
    (letter.key().map(<[u8]>::to_vec), letter.payload().map(<[u8]>::to_vec), headers)
}

/// Poll `check` until it holds, or panic naming `what`.
pub async fn wait_until<F, Fut>(what: &str, timeout: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if check().await {
            return;
        }
        if Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A string attribute.
pub fn attr(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(Value::StringValue(value.into())) }),
        ..Default::default()
    }
}

/// A span with fixed, known fields.
pub fn span(trace_id: [u8; 16], span_id: u64, parent: Option<u64>, name: &str) -> Span {
    Span {
        trace_id: trace_id.to_vec(),
        span_id: span_id.to_be_bytes().to_vec(),
        parent_span_id: parent.map(|p| p.to_be_bytes().to_vec()).unwrap_or_default(),
        name: name.into(),
        kind: 2,
        start_time_unix_nano: 1_700_000_000_000_000_000 + span_id * 1_000,
        end_time_unix_nano: 1_700_000_000_500_000_000 + span_id * 1_000,
        attributes: vec![attr("http.method", "GET")],
        ..Default::default()
    }
}

/// A span of a given kind, start (ns since the epoch) and duration (ns), with no attributes.
pub fn otlp_span(
    trace: [u8; 16],
    id: u64,
    parent: Option<u64>,
    name: &str,
    kind: opentelemetry_proto::tonic::trace::v1::span::SpanKind,
    start_ns: u64,
    duration_ns: u64,
) -> Span {
    Span {
        trace_id: trace.to_vec(),
        span_id: id.to_be_bytes().to_vec(),
        parent_span_id: parent.map(|p| p.to_be_bytes().to_vec()).unwrap_or_default(),
        name: name.into(),
        kind: kind as i32,
        start_time_unix_nano: start_ns,
        end_time_unix_nano: start_ns + duration_ns,
        ..Default::default()
    }
}

/// A request with one resource (service) and one scope.
pub fn request(service: &str, spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource { attributes: vec![attr("service.name", service)], ..Default::default() }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope { name: "e2e".into(), version: "1".into(), ..Default::default() }),
                spans,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

/// An OTLP/protobuf export body with one resource per `(service, spans)` part: `service.name`
/// and `host.name` = `<service>-host`.
pub fn export_body(parts: Vec<(&str, Vec<Span>)>) -> Vec<u8> {
    use prost::Message;
    ExportTraceServiceRequest {
        resource_spans: parts
            .into_iter()
            .map(|(service, spans)| ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![attr("service.name", service), attr("host.name", &format!("{service}-host"))],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans { spans, ..Default::default() }],
                ..Default::default()
            })
            .collect(),
    }
    .encode_to_vec()
}

/// A loopback address nothing listens on now (bound, then released): for a role whose address a
/// test must know before it starts, or for a server that is not there.
pub fn free_port() -> std::net::SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0").expect("free port").local_addr().expect("address")
}

/// GET a URL; its status and JSON body (`null` when the body is not JSON).
pub async fn get_json(url: &str) -> (u16, serde_json::Value) {
    let response = reqwest::get(url).await.unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(serde_json::Value::Null))
}

/// A random trace id whose high half is not zero.
pub fn random_trace_id() -> [u8; 16] {
    let mut id: [u8; 16] = rand::random();
    id[0] |= 0x80;
    id
}

/// Talks to the real Elasticsearch (the dev one from `make up`, or another at [`Es::at`]).
pub struct Es {
    http: reqwest::Client,
    base: String,
}

impl Default for Es {
    fn default() -> Self {
        Self::at(ELASTICSEARCH)
    }
}

impl Es {
    /// The Elasticsearch at `base` (`http://host:port`).
    pub fn at(base: &str) -> Self {
        Self { http: reqwest::Client::new(), base: base.trim_end_matches('/').to_string() }
    }

    /// Documents matching an index pattern, after a refresh (0 when no index exists yet).
    pub async fn count(&self, pattern: &str) -> u64 {
        let _ = self.http.post(format!("{}/{pattern}/_refresh?allow_no_indices=true", self.base)).send().await;
        let Ok(response) = self.http.get(format!("{}/{pattern}/_count?allow_no_indices=true", self.base)).send().await
        else {
            return 0;
        };
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        body["count"].as_u64().unwrap_or(0)
    }

    /// Every document `_source` with its `_id`.
    pub async fn documents(&self, pattern: &str) -> Vec<(String, serde_json::Value)> {
        self.all_documents(pattern).await.into_iter().map(|((_, id), doc)| (id, doc)).collect()
    }

    /// Every document of a pattern, however many (scrolling), keyed by index and id.
    pub async fn all_documents(
        &self,
        pattern: &str,
    ) -> std::collections::BTreeMap<(String, String), serde_json::Value> {
        let _ = self.http.post(format!("{}/{pattern}/_refresh?allow_no_indices=true", self.base)).send().await;
        let mut out = std::collections::BTreeMap::new();
        let mut body: serde_json::Value = self
            .http
            .post(format!("{}/{pattern}/_search?scroll=1m&allow_no_indices=true", self.base))
            .json(&serde_json::json!({"size": 5000, "query": {"match_all": {}}}))
            .send()
            .await
            .expect("search answers")
            .json()
            .await
            .expect("search returns JSON");
        loop {
            let hits = body["hits"]["hits"].as_array().cloned().unwrap_or_default();
            if hits.is_empty() {
                break;
            }
            for hit in hits {
                let key = (
                    hit["_index"].as_str().unwrap_or_default().to_string(),
                    hit["_id"].as_str().unwrap_or_default().to_string(),
                );
                out.insert(key, hit["_source"].clone());
            }
            let Some(scroll_id) = body["_scroll_id"].as_str().map(str::to_string) else { break };
            body = self
                .http
                .post(format!("{}/_search/scroll", self.base))
                .json(&serde_json::json!({"scroll": "1m", "scroll_id": scroll_id}))
                .send()
                .await
                .expect("scroll answers")
                .json()
                .await
                .expect("scroll returns JSON");
        }
        out
    }

    /// The analytics documents of an index prefix (dependency links and latency aggregates,
    /// checkpoints left out), keyed by index name without the prefix and id, the group that wrote
    /// them (in ids and bodies) replaced by `<group>`: two runs into two prefixes, by two groups,
    /// compare equal when they wrote the same figures.
    pub async fn analytics_documents(
        &self,
        prefix: &str,
    ) -> std::collections::BTreeMap<(String, String), serde_json::Value> {
        let mut out = std::collections::BTreeMap::new();
        for pattern in ["jaeger-dependencies-*", "skein-metrics-*"] {
            for ((index, id), mut doc) in self.all_documents(&format!("{prefix}-{pattern}")).await {
                let group = doc["group"].as_str().expect("analytics documents name their group").to_string();
                let id = id
                    .strip_prefix(&format!("{group}:"))
                    .map(|rest| format!("<group>:{rest}"))
                    .expect("id starts with the group");
                doc["group"] = "<group>".into();
                out.insert((index.trim_start_matches(&format!("{prefix}-")).to_string(), id), doc);
            }
        }
        out
    }

    /// Delete this test's indices.
    pub async fn delete(&self, pattern: &str) {
        let _ = self.http.delete(format!("{}/{pattern}", self.base)).send().await;
    }
}

/// Committed offsets of the ingester group on the spans topic, summed over partitions.
pub fn committed_total(config: &SkeinConfig) -> i64 {
    group_committed_total(config, &config.ingester.group_id)
}

/// Committed offsets of `group` on the spans topic, summed over partitions (-1 counted as 0).
pub fn group_committed_total(config: &SkeinConfig, group: &str) -> i64 {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::{Offset, TopicPartitionList};
    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &config.kafka.brokers)
        .set("group.id", group)
        .create()
        .expect("consumer client");
    let mut list = TopicPartitionList::new();
    for partition in 0..config.kafka.partitions {
        list.add_partition(&config.kafka.spans_topic, partition);
    }
    // On a fresh broker the group coordinator may not be ready yet (NotCoordinator): retry a while.
    let mut attempts = 0;
    let committed = loop {
        match consumer.committed_offsets(list.clone(), Duration::from_secs(10)) {
            Ok(committed) => break committed,
            Err(error) if attempts < 100 => {
                attempts += 1;
                eprintln!("committed offsets not available yet ({error}); retrying");
                std::thread::sleep(Duration::from_millis(300));
            }
            Err(error) => panic!("committed offsets of {group}: {error}"),
        }
    };
    committed
        .elements()
        .iter()
        .map(|e| match e.offset() {
            Offset::Offset(n) => n,
            _ => 0,
        })
        .sum()
}

/// The high watermark of one partition of the spans topic.
pub fn partition_end(config: &SkeinConfig, partition: i32) -> i64 {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let consumer: BaseConsumer =
        rdkafka::ClientConfig::new().set("bootstrap.servers", &config.kafka.brokers).create().expect("consumer client");
    consumer.fetch_watermarks(&config.kafka.spans_topic, partition, Duration::from_secs(10)).expect("watermarks").1
}

/// Records in the topic, summed over partitions (high watermarks).
pub fn topic_end_total(config: &SkeinConfig, topic: &str) -> i64 {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let consumer: BaseConsumer =
        rdkafka::ClientConfig::new().set("bootstrap.servers", &config.kafka.brokers).create().expect("consumer client");
    let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10)).expect("metadata");
    let partitions = metadata.topics()[0].partitions().len() as i32;
    (0..partitions).map(|p| consumer.fetch_watermarks(topic, p, Duration::from_secs(10)).expect("watermarks").1).sum()
}

/// Run `scripts/infra/<server>.sh <action>` (stop / start), panicking with its output on failure.
pub fn infra(server: &str, action: &str) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("repo root");
    let script = root.join("scripts/infra").join(format!("{server}.sh"));
    let output = std::process::Command::new("bash").arg(&script).arg(action).output().expect("infra script runs");
    if !output.status.success() {
        panic!(
            "{} {action} failed:\n{}\n{}",
            script.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// Resident memory of this process in bytes.
pub fn resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}
