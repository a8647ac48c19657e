//! Authentication of the listener groups and the query limits, with real clients (curl, the
//! OpenTelemetry Python SDK's OTLP exporters) against the real collector, query, Kafka and
//! Elasticsearch.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use skein_e2e::{
    export_body, free_port, isolated_config, random_trace_id, require_servers, span, wait_until, Es, Pipeline,
};

const TOKEN: &str = "e2e-token-0123456789abcdef0123456789";
const WRONG: &str = "e2e-token-0123456789abcdef012345678X";
const ROTATED: &str = "e2e-rotated-fedcba9876543210fedcba98";

/// A directory of credential files, removed afterwards.
struct Secrets(PathBuf);

impl Secrets {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("skein-e2e-auth-{:016x}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    /// Write then rename, as secret mounts and configuration tools replace files.
    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        let temp = self.0.join(format!(".{name}.tmp"));
        std::fs::write(&temp, text).unwrap();
        std::fs::rename(&temp, &path).unwrap();
        path
    }
}

impl Drop for Secrets {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// curl's answer: status, headers (lower-case names) and body.
struct Answer {
    status: u16,
    headers: String,
    body: String,
}

fn curl(args: &[&str]) -> Answer {
    let out = std::env::temp_dir().join(format!("skein-e2e-curl-{:016x}", rand::random::<u64>()));
    let output = Command::new("curl")
        .args(["-s", "-S", "-D", "-", "-o"])
        .arg(&out)
        .args(["-w", "\n%{http_code}"])
        .args(args)
        .output()
        .expect("curl runs");
    assert!(output.status.success(), "curl {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    let (headers, status) = stdout.rsplit_once('\n').unwrap();
    let body = std::fs::read_to_string(&out).unwrap_or_default();
    let _ = std::fs::remove_file(&out);
    Answer { status: status.trim().parse().unwrap(), headers: headers.to_ascii_lowercase(), body }
}

fn post_otlp(url: &str, body: &Path, auth: &[&str]) -> Answer {
    let data = format!("@{}", body.display());
    let mut args = vec!["-X", "POST", "-H", "content-type: application/x-protobuf", "--data-binary", &data];
    args.extend_from_slice(auth);
    args.push(url);
    curl(&args)
}

/// Run the Python OTLP exporter (e2e/clients/python/otlp_send.py) with `headers` as
/// OTEL_EXPORTER_OTLP_HEADERS; its JSON line, whether it succeeded or not.
fn python_otlp(protocol: &str, endpoint: &str, service: &str, headers: &str) -> Value {
    skein_e2e::run_client_with_env(
        "python:otlp_send.py",
        &["--protocol", protocol, "--endpoint", endpoint, "--service", service, "--timeout", "5"],
        &[("OTEL_EXPORTER_OTLP_HEADERS", headers)],
    )
}

async fn spans_in_elasticsearch(prefix: &str, trace_id: &str, expected: usize) {
    let es = Es::default();
    let pattern = format!("{prefix}-jaeger-span-*");
    let (es, pattern) = (&es, &pattern);
    // Stored as `trace_id_format: full` (the default) writes ids.
    let wanted = format!("{trace_id:0>32}");
    let wanted = &wanted;
    wait_until(
        &format!("{expected} spans of trace {trace_id} in Elasticsearch"),
        Duration::from_secs(60),
        move || async move {
            es.documents(pattern).await.iter().filter(|(_, doc)| doc["traceID"] == *wanted.as_str()).count() == expected
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn receivers_and_admin_take_only_the_tokens_and_users_of_their_files() {
    require_servers();
    let secrets = Secrets::new();
    let tokens = secrets.write("tokens", &format!("# exporters\n{TOKEN} shop-exporter\n"));
    let hash = bcrypt::hash("exporter-password", 4).unwrap();
    let users = secrets.write("users", &format!("exporter:{hash}\n"));
    let admin_tokens = secrets.write("admin-tokens", "e2e-admin-token-0123456789abcdef prometheus\n");
    let mut config = isolated_config("auth");
    config.listeners.receivers.auth.bearer_tokens_file = Some(tokens.clone());
    config.listeners.receivers.auth.basic_users_file = Some(users);
    config.listeners.receivers.auth.reload_interval_ms = 100;
    config.listeners.admin.auth.bearer_tokens_file = Some(admin_tokens);
    let admin = free_port();
    config.collector.admin_listen = admin;
    let pipeline = Pipeline::start(&config, true, true).await;
    let addresses = pipeline.collector.as_ref().unwrap().addresses;
    let http_url = format!("http://{}/v1/traces", addresses.otlp_http);
    let grpc_url = format!("http://{}", addresses.otlp_grpc);

    let body = secrets.write("body", "");
    std::fs::write(&body, export_body(vec![("curl-auth", vec![span(random_trace_id(), 1, None, "op")])])).unwrap();

    // curl: nothing, a wrong token, the token, basic auth, a wrong password.
    let refused = post_otlp(&http_url, &body, &[]);
    assert_eq!(refused.status, 401, "{}", refused.body);
    assert!(refused.headers.contains("www-authenticate: bearer realm=\"skein\""), "{}", refused.headers);
    assert!(refused.headers.contains("www-authenticate: basic realm=\"skein\""), "{}", refused.headers);
    assert!(refused.body.contains("send `Authorization: Bearer <token>`"), "{}", refused.body);
    let bearer = |token: &str| format!("authorization: Bearer {token}");
    assert_eq!(post_otlp(&http_url, &body, &["-H", &bearer(WRONG)]).status, 401);
    let accepted = post_otlp(&http_url, &body, &["-H", &bearer(TOKEN)]);
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    assert_eq!(post_otlp(&http_url, &body, &["-u", "exporter:exporter-password"]).status, 200);
    let wrong_password = post_otlp(&http_url, &body, &["-u", "exporter:guess"]);
    assert_eq!(wrong_password.status, 401);
    assert!(wrong_password.body.starts_with("the user name or password is not valid"), "{}", wrong_password.body);

    // The OpenTelemetry Python SDK, configured as applications are: OTEL_EXPORTER_OTLP_HEADERS.
    let header = format!("authorization=Bearer%20{TOKEN}");
    for (protocol, endpoint) in [("grpc", grpc_url.as_str()), ("http", http_url.as_str())] {
        let sent = python_otlp(protocol, endpoint, &format!("py-otlp-auth-{protocol}"), &header);
        assert_eq!(sent["ok"], true, "{protocol}: {sent}");
        let trace_id = sent["trace_id"].as_str().unwrap();
        spans_in_elasticsearch(
            &config.elasticsearch.index_prefix,
            trace_id,
            sent["span_count"].as_u64().unwrap() as usize,
        )
        .await;
        let refused = python_otlp(protocol, endpoint, "py-otlp-refused", &format!("authorization=Bearer%20{WRONG}"));
        assert_eq!(refused["ok"], false, "{protocol}: a wrong token must fail the export: {refused}");
        let errors = refused["errors"].to_string();
        let expected = if protocol == "grpc" { "UNAUTHENTICATED" } else { "401" };
        assert!(errors.contains(expected), "{protocol}: the exporter reports {expected}: {errors}");
    }

    // Rotation: the file is rewritten, the old token stops working and the new one works.
    secrets.write("tokens", &format!("{ROTATED} shop-exporter\n"));
    wait_until("the rotated token accepted", Duration::from_secs(30), || {
        let answer = post_otlp(&http_url, &body, &["-H", &bearer(ROTATED)]);
        async move { answer.status == 200 }
    })
    .await;
    assert_eq!(post_otlp(&http_url, &body, &["-H", &bearer(TOKEN)]).status, 401, "the old token is gone");
    let sent = python_otlp("grpc", &grpc_url, "py-otlp-rotated", &format!("authorization=Bearer%20{ROTATED}"));
    assert_eq!(sent["ok"], true, "{sent}");
    // A broken rewrite keeps the credentials in force.
    secrets.write("tokens", "short\n");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(post_otlp(&http_url, &body, &["-H", &bearer(ROTATED)]).status, 200);

    // Admin: probes open, /metrics behind its own token, refusals counted by group and reason.
    assert_eq!(curl(&[&format!("http://{admin}/healthz")]).status, 200);
    assert_eq!(curl(&[&format!("http://{admin}/readyz")]).status, 200);
    assert_eq!(curl(&[&format!("http://{admin}/metrics")]).status, 401);
    assert_eq!(curl(&["-H", &bearer(TOKEN), &format!("http://{admin}/metrics")]).status, 401, "groups are apart");
    let metrics =
        curl(&["-H", "authorization: Bearer e2e-admin-token-0123456789abcdef", &format!("http://{admin}/metrics")]);
    assert_eq!(metrics.status, 200);
    assert!(
        metrics.body.contains(r#"skein_auth_refused_total{group="receivers",reason="invalid_token"}"#),
        "{}",
        metrics.body
    );
    assert!(metrics.body.contains(r#"skein_auth_reload_failures_total{group="receivers"}"#), "{}", metrics.body);
    pipeline.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_query_api_needs_credentials_and_holds_its_limits() {
    require_servers();
    let secrets = Secrets::new();
    let hash = bcrypt::hash("reader-password", 4).unwrap();
    let users = secrets.write("users", &format!("reader:{hash}\n"));
    let mut config = isolated_config("auth-query");
    config.listeners.query.auth.basic_users_file = Some(users);
    config.query.max_lookback_ms = 3_600_000;
    config.query.max_spans_per_trace = 2;
    let pipeline = Pipeline::start_all(&config).await;
    let trace = random_trace_id();
    let spans = vec![span(trace, 1, None, "root"), span(trace, 2, Some(1), "a"), span(trace, 3, Some(1), "b")];
    pipeline.send_otlp_http(export_body(vec![("query-auth", spans)])).await;
    let hex_id = hex::encode(trace);
    spans_in_elasticsearch(&config.elasticsearch.index_prefix, &hex_id, 3).await;
    let base = pipeline.query_url();

    let refused = curl(&[&format!("{base}/api/services")]);
    assert_eq!(refused.status, 401);
    assert!(refused.headers.contains("www-authenticate: basic realm=\"skein\""), "{}", refused.headers);
    let envelope: Value = serde_json::from_str(&refused.body).unwrap();
    assert!(envelope["errors"][0]["msg"].as_str().unwrap().contains("Authorization: Basic"), "{envelope}");
    assert_eq!(curl(&[&format!("{base}/")]).status, 401, "the UI asks too, so the browser prompts once");
    let user = ["-u", "reader:reader-password"];
    let services = curl(&[user[0], user[1], &format!("{base}/api/services")]);
    assert_eq!(services.status, 200, "{}", services.body);
    // The fixture's services are from 2023, older than query.services_lookback_days: an empty list.
    assert_eq!(serde_json::from_str::<Value>(&services.body).unwrap()["errors"], Value::Null, "{}", services.body);

    // The fixture's spans are from November 2023, far beyond an hour of lookback.
    let (start, end) = (1_699_999_000_000_000_i64, 1_700_001_000_000_000_i64);
    let search = curl(&[user[0], user[1], &format!("{base}/api/traces?service=query-auth&start={start}&end={end}")]);
    assert_eq!(search.status, 400, "{}", search.body);
    assert!(search.body.contains("query.max_lookback_ms"), "{}", search.body);
    let recent = chrono::Utc::now().timestamp_micros() - 60_000_000;
    let search = curl(&[user[0], user[1], &format!("{base}/api/traces?service=query-auth&start={recent}")]);
    assert_eq!(search.status, 200, "a search within the lookback is answered: {}", search.body);

    let by_id = curl(&[user[0], user[1], &format!("{base}/api/traces/{hex_id}?start={start}&end={end}")]);
    assert_eq!(by_id.status, 200, "{}", by_id.body);
    let by_id: Value = serde_json::from_str(&by_id.body).unwrap();
    let found = &by_id["data"][0];
    assert_eq!(found["spans"].as_array().unwrap().len(), 2, "truncated to query.max_spans_per_trace");
    assert_eq!(found["warnings"][0], "trace truncated: 2 of its 3 spans are shown (query.max_spans_per_trace)");
    pipeline.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_elasticsearch_that_does_not_answer_in_time_is_a_504() {
    // A server that accepts connections and never answers: what an overloaded cluster looks like.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = silent.local_addr().unwrap();
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((stream, _)) = silent.accept().await {
            open.push(stream);
        }
    });
    let mut config = isolated_config("auth-timeout");
    config.elasticsearch.url = format!("http://{address}");
    config.query.request_timeout_ms = 300;
    let shutdown = tokio_util::sync::CancellationToken::new();
    let query = skein_query::start(&config, shutdown.clone()).await.expect("query starts");
    let answer = curl(&[&format!("http://{}/api/traces?service=x", query.addresses.api)]);
    assert_eq!(answer.status, 504, "{}", answer.body);
    assert!(answer.body.contains("query.request_timeout_ms"), "{}", answer.body);
    shutdown.cancel();
    let _ = query.join().await;
    held.abort();
}
