//! Jaeger's alias mode against the real Elasticsearch: `skein indices rollover init`, spans
//! written through the write aliases before and after a rollover, read back through skein's
//! query API and through Jaeger 2's own query service in alias mode; `lookback` takes the old
//! index out of the read alias; without the aliases the writing roles refuse to start and no
//! index takes an alias's name.

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use serde_json::{json, Value};
use skein_core::elasticsearch::bulk::{BulkAction, BulkBody};
use skein_core::elasticsearch::rollover::{parse_conditions, IndexRollover, LookbackUnit};
use skein_core::SkeinConfig;
use skein_e2e::*;
use skein_schemas::elasticsearch::RolledFamily;
use skein_schemas::jaeger::TraceIdFormat;

const WAIT: Duration = Duration::from_secs(60);

fn now_ns() -> u64 {
    chrono::Utc::now().timestamp_nanos_opt().unwrap() as u64
}

fn alias_config(name: &str) -> SkeinConfig {
    let mut config = isolated_config(name);
    config.elasticsearch.use_aliases = true;
    // Jaeger 2 looks trace ids up only in their 32-character form.
    config.elasticsearch.trace_id_format = TraceIdFormat::Full;
    quick_analytics(&mut config);
    config
}

fn maintenance(config: &SkeinConfig) -> IndexRollover {
    let client = skein_core::elasticsearch::client(&config.elasticsearch).expect("client");
    IndexRollover::new(client, &config.elasticsearch)
}

/// The indices an alias points at, sorted; empty when there is no such alias.
async fn alias_indices(alias: &str) -> Vec<String> {
    let response = reqwest::get(format!("{ELASTICSEARCH}/_alias/{alias}")).await.expect("Elasticsearch answers");
    if response.status() == 404 {
        return Vec::new();
    }
    let body: Value = response.json().await.expect("JSON");
    let mut indices: Vec<String> = body.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default();
    indices.sort();
    indices
}

/// True when an index (or alias) of that name exists.
async fn exists(name: &str) -> bool {
    let response = reqwest::Client::new().head(format!("{ELASTICSEARCH}/{name}")).send().await.expect("answers");
    response.status() == 200
}

/// A web → api trace that started an hour ago.
fn trace_body(trace: [u8; 16], operation: &str) -> Vec<u8> {
    let t0 = now_ns() - 3_600_000_000_000;
    let root = otlp_span(trace, 1, None, operation, SpanKind::Server, t0, 50_000_000);
    let call = otlp_span(trace, 2, Some(1), "call api", SpanKind::Client, t0 + 1_000_000, 40_000_000);
    let server = otlp_span(trace, 3, Some(2), "POST /orders", SpanKind::Server, t0 + 2_000_000, 30_000_000);
    export_body(vec![("web", vec![root, call]), ("api", vec![server])])
}

/// Trace ids found by a search answer (`data[].traceID`), sorted.
fn found_traces(answer: &Value) -> Vec<String> {
    let mut ids: Vec<String> = answer["data"]
        .as_array()
        .map(|traces| traces.iter().filter_map(|t| t["traceID"].as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    ids.sort();
    ids
}

/// Spans of the trace answered by `/api/traces/<id>` (0 when it is not found).
async fn trace_spans(base: &str, id: &str) -> usize {
    let (_, body) = get_json(&format!("{base}/api/traces/{id}")).await;
    body["data"][0]["spans"].as_array().map_or(0, Vec::len)
}

/// The Jaeger 2 binary: `SKEIN_JAEGER_BIN`, else what `scripts/jaeger.sh path` builds.
fn jaeger_binary() -> String {
    if let Ok(path) = std::env::var("SKEIN_JAEGER_BIN") {
        return path;
    }
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/jaeger.sh");
    let output = Command::new("bash").arg(&script).arg("path").output().expect("scripts/jaeger.sh runs");
    assert!(output.status.success(), "scripts/jaeger.sh path failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// Jaeger 2's query service alone, in alias mode, over `prefix`; killed when dropped.
struct JaegerQuery {
    child: Child,
    base: String,
    _config: tempfile_path::TempPath,
}

mod tempfile_path {
    /// A file removed when dropped.
    pub struct TempPath(pub std::path::PathBuf);
    impl Drop for TempPath {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

impl JaegerQuery {
    async fn start(prefix: &str) -> Self {
        let (http, grpc) = (free_port(), free_port());
        // Query only: no receiver, no exporter, no metrics port (another test may hold :8888).
        let config = format!(
            r#"service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces: {{ receivers: [nop], exporters: [nop] }}
  telemetry:
    metrics: {{ level: none }}
    logs: {{ level: warn }}
extensions:
  jaeger_query:
    storage: {{ traces: skein }}
    http: {{ endpoint: "{http}" }}
    grpc: {{ endpoint: "{grpc}" }}
  jaeger_storage:
    backends:
      skein:
        elasticsearch:
          server_urls: [{ELASTICSEARCH}]
          create_mappings: false
          use_aliases: true
          disable_health_check: true
          version: 9
          indices: {{ index_prefix: "{prefix}" }}
receivers: {{ nop: {{}} }}
exporters: {{ nop: {{}} }}
"#
        );
        let path = std::env::temp_dir().join(format!("skein-jaeger-query-{prefix}.yaml"));
        std::fs::File::create(&path).and_then(|mut f| f.write_all(config.as_bytes())).expect("config written");
        let log = std::fs::File::create(std::env::temp_dir().join(format!("skein-jaeger-query-{prefix}.log")))
            .expect("log file");
        let child = Command::new(jaeger_binary())
            .arg("--config")
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("jaeger starts");
        let base = format!("http://{http}");
        let probe = format!("{base}/api/services");
        // Not listening yet is expected for a while: only a 200 counts.
        wait_until("Jaeger's query answers", WAIT, || async {
            reqwest::get(&probe).await.is_ok_and(|response| response.status() == 200)
        })
        .await;
        Self { child, base, _config: tempfile_path::TempPath(path) }
    }
}

impl Drop for JaegerQuery {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_written_before_and_after_a_rollover_are_read_through_the_read_aliases_by_skein_and_jaeger() {
    require_servers();
    let config = alias_config("rollover");
    let prefix = config.elasticsearch.index_prefix.clone();
    let names = config.elasticsearch.index_names();
    let es = Es::default();
    let rollover = maintenance(&config);

    let first = rollover.init().await.expect("init");
    assert_eq!(first.len(), 3, "spans, services, dependencies: {first:?}");
    for report in &first {
        assert!(report.created_index && report.added_aliases.len() == 2, "{report:?}");
        let family = report.family;
        assert_eq!(alias_indices(&names.write_alias(family)).await, [names.first_rolled_index(family)]);
        assert_eq!(alias_indices(&names.read_alias(family)).await, [names.first_rolled_index(family)]);
    }
    let again = rollover.init().await.expect("init again");
    assert!(again.iter().all(|r| !r.created_index && r.added_aliases.is_empty()), "init is idempotent: {again:?}");

    let pipeline = Pipeline::start_all(&config).await;
    let base = pipeline.query_url();
    let (before, after) = ([0x7a; 16], [0x7b; 16]);
    let (before_id, after_id) = (hex::encode(before), hex::encode(after));
    let first_spans = names.first_rolled_index(RolledFamily::Span);
    pipeline.send_otlp_http(trace_body(before, "GET /before")).await;
    wait_until("the first trace in the first index", WAIT, || async { es.count(&first_spans).await >= 3 }).await;

    // A condition that does not hold leaves the aliases alone; Elasticsearch decides.
    let held_back = rollover.rollover(&parse_conditions(r#"{"max_docs": 1000000}"#).unwrap()).await.expect("rollover");
    assert!(held_back.iter().all(|r| !r.rolled_over), "{held_back:?}");
    let rolled = rollover.rollover(&parse_conditions("{}").unwrap()).await.expect("rollover");
    let second_spans = format!("{}-000002", names.rolled_base(RolledFamily::Span));
    for report in &rolled {
        assert!(report.rolled_over, "{report:?}");
        let family = report.family;
        let second = format!("{}-000002", names.rolled_base(family));
        assert_eq!(report.new_index, second);
        assert_eq!(
            alias_indices(&names.write_alias(family)).await,
            std::slice::from_ref(&second),
            "the write alias moved"
        );
        assert_eq!(
            alias_indices(&names.read_alias(family)).await,
            [names.first_rolled_index(family), second],
            "the read alias covers both"
        );
    }

    pipeline.send_otlp_http(trace_body(after, "GET /after")).await;
    wait_until("the second trace in the second index", WAIT, || async { es.count(&second_spans).await >= 3 }).await;
    assert_eq!(es.count(&first_spans).await, 3, "nothing more went to the first index");
    let daily = names.span_index(now_ns() / 1000 - 3_600_000_000);
    assert!(!exists(&daily).await, "no daily index {daily} in alias mode");

    // skein's query reads through the read aliases: both traces, both services. The service
    // documents are searchable after the next refresh of their index.
    let operations_url = format!("{base}/api/services/web/operations");
    wait_until("the second trace's operation listed", WAIT, || async {
        get_json(&operations_url).await.1["data"].as_array().is_some_and(|ops| ops.len() == 3)
    })
    .await;
    let (status, services) = get_json(&format!("{base}/api/services")).await;
    assert_eq!(status, 200, "{services}");
    assert_eq!(services["data"], json!(["api", "web"]));
    let (_, operations) = get_json(&format!("{base}/api/services/web/operations")).await;
    assert_eq!(operations["data"], json!(["GET /after", "GET /before", "call api"]));
    assert_eq!(trace_spans(&base, &before_id).await, 3);
    assert_eq!(trace_spans(&base, &after_id).await, 3);
    let now_us = now_ns() / 1000;
    let search = |base: &str| {
        format!("{base}/api/traces?service=web&start={}&end={now_us}&limit=20", now_us - 3 * 3_600_000_000)
    };
    let (_, found) = get_json(&search(&base)).await;
    assert_eq!(found_traces(&found), [before_id.clone(), after_id.clone()]);

    // Analytics writes dependencies through its write alias too, and skein reads them back.
    let end_ms = chrono::Utc::now().timestamp_millis() + 60_000;
    let dependencies = format!("{base}/api/dependencies?endTs={end_ms}&lookback=86400000");
    // Both traces' web → api calls, each counted once although a rollover came between them.
    let web_api = |data: &Value| {
        data.as_array()
            .and_then(|links| links.iter().find(|l| l["parent"] == "web" && l["child"] == "api"))
            .map(|l| l["callCount"].clone())
            .unwrap_or(Value::Null)
    };
    let mut last = Value::Null;
    for _ in 0..300 {
        last = get_json(&dependencies).await.1["data"].clone();
        if web_api(&last) == json!(2) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(web_api(&last), json!(2), "dependencies through the aliases: {last}");
    assert!(
        es.count(&format!("{}-*", names.rolled_base(RolledFamily::Dependencies))).await > 0,
        "dependencies documents are in the rolled indices"
    );
    assert!(!exists(&names.dependencies_index(end_ms)).await, "no daily dependencies index in alias mode");

    // Jaeger 2's query service in alias mode reads the same indices.
    let jaeger = JaegerQuery::start(&prefix).await;
    let (status, services) = get_json(&format!("{}/api/services", jaeger.base)).await;
    assert_eq!(status, 200, "{services}");
    let mut listed: Vec<String> = serde_json::from_value(services["data"].clone()).unwrap_or_default();
    listed.sort();
    assert_eq!(listed, ["api", "web"]);
    let (_, operations) = get_json(&format!("{}/api/services/web/operations", jaeger.base)).await;
    let mut operations: Vec<String> = serde_json::from_value(operations["data"].clone()).unwrap_or_default();
    operations.sort();
    assert_eq!(operations, ["GET /after", "GET /before", "call api"]);
    assert_eq!(trace_spans(&jaeger.base, &before_id).await, 3, "Jaeger finds the trace in the first index");
    assert_eq!(trace_spans(&jaeger.base, &after_id).await, 3, "Jaeger finds the trace in the second index");
    let (_, found) = get_json(&search(&jaeger.base)).await;
    assert_eq!(found_traces(&found), [before_id.clone(), after_id.clone()], "Jaeger's search finds both");

    // Lookback: every index older than the cut-off leaves the read alias except the one written.
    let later = chrono::Utc::now() + chrono::Duration::minutes(5);
    let reports = rollover.lookback(LookbackUnit::Minutes, 1, later).await.expect("lookback");
    for report in &reports {
        let family = report.family;
        assert_eq!(report.removed, [names.first_rolled_index(family)], "{report:?}");
        let second = format!("{}-000002", names.rolled_base(family));
        assert_eq!(alias_indices(&names.read_alias(family)).await, [second], "the write index stays readable");
    }
    assert!(exists(&first_spans).await, "lookback only narrows the alias; the index stays");
    assert_eq!(trace_spans(&base, &before_id).await, 0, "skein no longer reads the first index");
    assert_eq!(trace_spans(&base, &after_id).await, 3);
    let (_, found) = get_json(&search(&jaeger.base)).await;
    assert_eq!(found_traces(&found), std::slice::from_ref(&after_id), "nor does Jaeger");

    drop(jaeger);
    pipeline.stop().await;
    es.delete(&format!("{prefix}-*")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_write_aliases_the_writers_refuse_to_start_and_no_index_takes_an_aliass_name() {
    require_servers();
    let config = alias_config("noalias");
    let names = config.elasticsearch.index_names();
    skein_core::telemetry::init_logging(&config.log);
    skein_core::telemetry::prometheus();

    let shutdown = tokio_util::sync::CancellationToken::new();
    let ingester = skein_ingester::start(&config, shutdown.clone()).await.expect("admin endpoints up");
    let error = tokio::time::timeout(WAIT, ingester.join()).await.expect("ingester stops").unwrap_err().to_string();
    assert!(
        error.contains("aliases missing")
            && error.contains(&names.write_alias(RolledFamily::Span))
            && error.contains(&names.write_alias(RolledFamily::Service))
            && error.contains("run `skein indices rollover init`"),
        "{error}"
    );
    let shutdown = tokio_util::sync::CancellationToken::new();
    let analytics = skein_analytics::start(&config, shutdown.clone()).await.expect("admin endpoints up");
    let error = tokio::time::timeout(WAIT, analytics.join()).await.expect("analytics stops").unwrap_err().to_string();
    assert!(
        error.contains(&names.write_alias(RolledFamily::Dependencies)) && error.contains("skein indices rollover init"),
        "{error}"
    );

    // Maintenance before init says the same.
    let rollover = maintenance(&config);
    let error = rollover.rollover(&parse_conditions("{}").unwrap()).await.unwrap_err().to_string();
    assert!(error.contains("aliases missing") && error.contains("skein indices rollover init"), "{error}");
    let error = rollover.lookback(LookbackUnit::Days, 1, chrono::Utc::now()).await.unwrap_err().to_string();
    assert!(error.contains("aliases missing"), "{error}");

    // A write to a missing write alias (the alias deleted under a running ingester) is refused
    // instead of creating an index with the alias's name.
    let alias = names.write_alias(RolledFamily::Span);
    let body = BulkBody::of([BulkAction::Index { index: &alias, id: "x", source: br#"{"traceID":"x"}"# }]);
    let answer: Value = reqwest::Client::new()
        .post(format!("{ELASTICSEARCH}/_bulk"))
        .header("content-type", "application/x-ndjson")
        .body(body.into_bytes())
        .send()
        .await
        .expect("bulk answers")
        .json()
        .await
        .expect("JSON");
    assert_eq!(answer["items"][0]["index"]["status"], 404, "{answer}");
    assert!(!exists(&alias).await, "no index named {alias}");
    for family in RolledFamily::ALL {
        assert!(!exists(&names.write_alias(family)).await, "the roles created nothing named like an alias");
    }
    Es::default().delete(&format!("{}-*", config.elasticsearch.index_prefix)).await;
}
