//! TLS and mTLS on the real listeners, with real clients: curl (`--cacert`, `--cert`, `--key`)
//! and the OpenTelemetry Python SDK's OTLP exporters (`OTEL_EXPORTER_OTLP_CERTIFICATE`,
//! `_CLIENT_CERTIFICATE`, `_CLIENT_KEY`) against the collector, query and admin ports, with the
//! spans reaching Elasticsearch; wrong CA, expired certificate and a missing client certificate
//! refused; a certificate rotated without restart; a connection flood bounded to loopback.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use skein_core::config::ClientAuth;
use skein_core::SkeinConfig;
use skein_e2e::certs::TestPki;
use skein_e2e::{free_port, isolated_config, require_servers, Es, Pipeline};

fn pki(name: &str) -> TestPki {
    let dir = std::env::temp_dir().join(format!("skein-tls-{name}-{:08x}", rand::random::<u32>()));
    TestPki::generate(&dir)
}

/// TLS on every group with `pki`'s server certificate; receivers check client certificates as `auth` says.
fn tls_config(name: &str, pki: &TestPki, auth: ClientAuth) -> SkeinConfig {
    let mut config = isolated_config(name);
    for group in [&mut config.listeners.receivers, &mut config.listeners.query, &mut config.listeners.admin] {
        group.tls.cert_file = Some(pki.server_cert.clone());
        group.tls.key_file = Some(pki.server_key.clone());
        group.tls.reload_interval_ms = 200;
    }
    if auth != ClientAuth::None {
        config.listeners.receivers.tls.client_ca_file = Some(pki.ca_cert.clone());
        config.listeners.receivers.tls.client_auth = Some(auth);
    }
    // A known admin address, for /metrics over TLS.
    config.collector.admin_listen = free_port();
    config
}

/// What curl did: its exit code, the body, and its messages (`-v` lines included).
struct Curl {
    code: i32,
    body: String,
    messages: String,
}

fn curl(args: &[&str]) -> Curl {
    let output = Command::new("curl")
        .args(["-sS", "-v", "--max-time", "20"])
        .args(args)
        .output()
        .expect("curl runs (apt-get install curl)");
    Curl {
        code: output.status.code().unwrap_or(-1),
        body: String::from_utf8_lossy(&output.stdout).into_owned(),
        messages: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn path(p: &Path) -> &str {
    p.to_str().expect("temp paths are UTF-8")
}

/// One OTLP/JSON span of a new trace that started now; returns the body and the trace id.
fn otlp_json(service: &str) -> (String, String) {
    let trace_id = hex::encode(skein_e2e::random_trace_id());
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let body = serde_json::json!({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
        "scopeSpans": [{"spans": [{
            "traceId": trace_id, "spanId": "00000000000000a1", "name": "curl-span", "kind": 2,
            "startTimeUnixNano": (now - 1_000_000).to_string(), "endTimeUnixNano": now.to_string(),
        }]}]
    }]});
    (body.to_string(), trace_id)
}

/// The span documents of `trace_id` once there are `expected` of them (60 s at most).
async fn spans_in_elasticsearch(config: &SkeinConfig, trace_id: &str, expected: usize) -> Vec<Value> {
    let pattern = format!("{}-jaeger-span-*", config.elasticsearch.index_prefix);
    let wanted = format!("{trace_id:0>32}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let found: Vec<Value> = Es::default()
            .documents(&pattern)
            .await
            .into_iter()
            .map(|(_, doc)| doc)
            .filter(|doc| doc["traceID"] == *wanted.as_str())
            .collect();
        if found.len() >= expected || tokio::time::Instant::now() > deadline {
            assert_eq!(found.len(), expected, "the spans of {trace_id} in Elasticsearch");
            return found;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

fn collector(pipeline: &Pipeline) -> skein_collector::CollectorAddresses {
    pipeline.collector.as_ref().expect("collector running").addresses
}

fn metric(name_and_labels: &[&str]) -> f64 {
    skein_core::telemetry::render_metrics()
        .lines()
        .filter(|line| !line.starts_with('#') && name_and_labels.iter().all(|part| line.contains(part)))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Run `e2e/clients/python/otlp_send.py` with `env`; the JSON line it printed and whether it succeeded.
fn python_otlp(protocol: &str, endpoint: &str, env: &[(&str, &Path)]) -> (bool, Value, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let setup =
        Command::new("bash").arg(root.join("scripts/clients.sh")).arg("python").output().expect("clients.sh runs");
    assert!(setup.status.success(), "client set-up failed: {}", String::from_utf8_lossy(&setup.stderr));
    let cache = std::env::var("SKEIN_CACHE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/skein"));
    let mut command = Command::new(cache.join("venv-clients/bin/python"));
    command.arg(root.join("e2e/clients/python/otlp_send.py")).args(["--protocol", protocol, "--endpoint", endpoint]);
    command.args(["--timeout", "10"]);
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().expect("python runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().rev().find(|l| l.starts_with('{')).unwrap_or("{}");
    let value: Value = serde_json::from_str(line).unwrap_or(Value::Null);
    let ok = output.status.success() && value["ok"] == true;
    (ok, value, format!("{line}\n{}", String::from_utf8_lossy(&output.stderr)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn curl_over_mtls_reaches_elasticsearch_and_reads_the_query_api_and_metrics_over_tls() {
    require_servers();
    let pki = pki("curl");
    let config = tls_config("tls-curl", &pki, ClientAuth::Required);
    let mut pipeline = Pipeline::start(&config, true, true).await;
    let query = skein_query::start(&config, pipeline.shutdown.clone()).await.expect("query starts");
    let query_addr = query.addresses.api;
    pipeline.query = Some(query);
    let otlp = format!("https://127.0.0.1:{}/v1/traces", collector(&pipeline).otlp_http.port());

    let (body, trace_id) = otlp_json("tls-curl");
    let (ca, cert, key) = (path(&pki.ca_cert), path(&pki.client_cert), path(&pki.client_key));
    let sent = curl(&[
        "--cacert",
        ca,
        "--cert",
        cert,
        "--key",
        key,
        "-H",
        "content-type: application/json",
        "--data",
        &body,
        &otlp,
    ]);
    assert_eq!(sent.code, 0, "{}", sent.messages);
    assert!(sent.messages.contains("< HTTP/2 200") || sent.messages.contains("< HTTP/1.1 200"), "{}", sent.messages);
    assert!(sent.messages.contains("subject: CN=skein test server"), "{}", sent.messages);
    spans_in_elasticsearch(&config, &trace_id, 1).await;

    // The query API and the UI over TLS (no client certificate asked there).
    let url = format!("https://localhost:{}/api/traces/{trace_id}", query_addr.port());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let trace = loop {
        let got = curl(&["--cacert", ca, &url]);
        assert_eq!(got.code, 0, "{}", got.messages);
        let answer: Value = serde_json::from_str(&got.body).unwrap_or(Value::Null);
        if answer["data"][0]["spans"].as_array().is_some_and(|spans| spans.len() == 1) {
            break answer;
        }
        assert!(tokio::time::Instant::now() < deadline, "the query API finds the trace: {}", got.body);
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert_eq!(trace["data"][0]["spans"][0]["operationName"], "curl-span");
    let ui = curl(&["--cacert", ca, &format!("https://127.0.0.1:{}/", query_addr.port())]);
    assert!(ui.code == 0 && ui.body.to_ascii_lowercase().contains("<html"), "the UI over TLS: {}", ui.messages);

    let metrics =
        curl(&["--cacert", ca, &format!("https://127.0.0.1:{}/metrics", config.collector.admin_listen.port())]);
    assert_eq!(metrics.code, 0, "{}", metrics.messages);
    assert!(metrics.body.contains("skein_listener_connections"), "admin /metrics over TLS");
    let plain = curl(&[&format!("http://127.0.0.1:{}/metrics", config.collector.admin_listen.port())]);
    assert_ne!(plain.code, 0, "plain HTTP on a TLS port gets no answer: {}", plain.body);
    pipeline.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn wrong_ca_expired_certificate_and_missing_client_certificate_are_refused_with_a_clear_error() {
    require_servers();
    let pki = pki("refusals");
    let config = tls_config("tls-refusals", &pki, ClientAuth::Required);
    let pipeline = Pipeline::start(&config, true, false).await;
    let otlp = format!("https://127.0.0.1:{}/v1/traces", collector(&pipeline).otlp_http.port());
    let (body, _) = otlp_json("tls-refusals");
    let post = |extra: &[&str]| {
        let mut args = extra.to_vec();
        args.extend(["-H", "content-type: application/json", "--data", &body, &otlp]);
        curl(&args)
    };
    let (ca, cert, key) = (path(&pki.ca_cert), path(&pki.client_cert), path(&pki.client_key));

    // The client trusts another CA: it refuses the server (curl's 60, "unable to get local issuer").
    let wrong_ca = post(&["--cacert", path(&pki.other_ca_cert), "--cert", cert, "--key", key]);
    assert_eq!(wrong_ca.code, 60, "{}", wrong_ca.messages);
    assert!(wrong_ca.messages.contains("unable to get local issuer certificate"), "{}", wrong_ca.messages);

    // No client certificate where one is required: the server ends the handshake with an alert.
    // (A GET: in TLS 1.3 the server judges the client's certificate after the client finished
    // its side, and a client busy sending a body may see a broken pipe before the alert.)
    let failures_before = metric(&["skein_tls_handshake_failures_total", "OTLP/HTTP"]);
    let no_cert = curl(&["--cacert", ca, &otlp]);
    assert_ne!(no_cert.code, 0, "{}", no_cert.messages);
    assert!(no_cert.messages.contains("alert certificate required"), "{}", no_cert.messages);
    // A certificate from a CA the server does not trust.
    let other =
        curl(&["--cacert", ca, "--cert", path(&pki.other_client_cert), "--key", path(&pki.other_client_key), &otlp]);
    assert_ne!(other.code, 0, "{}", other.messages);
    assert!(other.messages.contains("alert unknown ca"), "{}", other.messages);
    assert!(metric(&["skein_tls_handshake_failures_total", "OTLP/HTTP"]) >= failures_before + 2.0);
    // The Python SDK without its client certificate is refused too (over HTTP: the gRPC exporter
    // retries an unavailable server for a minute before it gives up).
    let (ok, _, output) = python_otlp("http", &otlp, &[("OTEL_EXPORTER_OTLP_CERTIFICATE", &pki.ca_cert)]);
    assert!(!ok && output.contains("SSLError"), "exported without a client certificate: {output}");
    assert!(post(&["--cacert", ca, "--cert", cert, "--key", key]).code == 0, "the right client still gets in");
    pipeline.stop().await;

    // optional: a client without a certificate gets in; one with a bad certificate does not.
    let config = tls_config("tls-optional", &pki, ClientAuth::Optional);
    let pipeline = Pipeline::start(&config, true, false).await;
    let otlp = format!("https://127.0.0.1:{}/v1/traces", collector(&pipeline).otlp_http.port());
    let post = |extra: &[&str]| {
        let mut args = extra.to_vec();
        args.extend(["-H", "content-type: application/json", "--data", &body, &otlp]);
        curl(&args)
    };
    let anonymous = post(&["--cacert", ca]);
    assert_eq!(anonymous.code, 0, "{}", anonymous.messages);
    assert!(anonymous.messages.contains(" 200"), "{}", anonymous.messages);
    let other =
        curl(&["--cacert", ca, "--cert", path(&pki.other_client_cert), "--key", path(&pki.other_client_key), &otlp]);
    assert!(other.code != 0 && other.messages.contains("alert unknown ca"), "{}", other.messages);
    pipeline.stop().await;

    // An expired server certificate: the client refuses it, naming the reason.
    let mut config = tls_config("tls-expired", &pki, ClientAuth::None);
    config.listeners.receivers.tls.cert_file = Some(pki.expired_cert.clone());
    config.listeners.receivers.tls.key_file = Some(pki.expired_key.clone());
    let pipeline = Pipeline::start(&config, true, false).await;
    let otlp = format!("https://127.0.0.1:{}/v1/traces", collector(&pipeline).otlp_http.port());
    let expired = curl(&["--cacert", ca, "-H", "content-type: application/json", "--data", &body, &otlp]);
    assert_eq!(expired.code, 60, "{}", expired.messages);
    assert!(expired.messages.contains("certificate has expired"), "{}", expired.messages);
    let http = format!("https://127.0.0.1:{}/v1/traces", collector(&pipeline).otlp_http.port());
    let (ok, _, output) = python_otlp("http", &http, &[("OTEL_EXPORTER_OTLP_CERTIFICATE", &pki.ca_cert)]);
    assert!(!ok && output.contains("CERTIFICATE_VERIFY_FAILED"), "{output}");
    pipeline.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn python_sdk_exports_over_tls_and_mtls_to_otlp_grpc_and_http_and_the_spans_reach_elasticsearch() {
    require_servers();
    let pki = pki("python");
    // optional: the TLS-only exporters (no client certificate) and the mTLS ones share a collector;
    // the refusal test shows `required` turning the former away.
    let config = tls_config("tls-python", &pki, ClientAuth::Optional);
    let pipeline = Pipeline::start(&config, true, true).await;
    let addresses = collector(&pipeline);
    let grpc = format!("https://localhost:{}", addresses.otlp_grpc.port());
    let http = format!("https://localhost:{}/v1/traces", addresses.otlp_http.port());
    let tls: &[(&str, &Path)] = &[("OTEL_EXPORTER_OTLP_CERTIFICATE", &pki.ca_cert)];
    let mtls: &[(&str, &Path)] = &[
        ("OTEL_EXPORTER_OTLP_CERTIFICATE", &pki.ca_cert),
        ("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", &pki.client_cert),
        ("OTEL_EXPORTER_OTLP_CLIENT_KEY", &pki.client_key),
    ];
    for (protocol, endpoint, env) in
        [("grpc", &grpc, tls), ("http", &http, tls), ("grpc", &grpc, mtls), ("http", &http, mtls)]
    {
        let (ok, sent, output) = python_otlp(protocol, endpoint, env);
        assert!(ok, "{protocol} with {} variables: {output}", env.len());
        let trace_id = sent["trace_id"].as_str().unwrap();
        let docs = spans_in_elasticsearch(&config, trace_id, sent["span_count"].as_u64().unwrap() as usize).await;
        assert!(docs.iter().all(|doc| doc["process"]["serviceName"] == sent["service"]));
    }
    // An exporter that trusts another CA gets nowhere.
    let (ok, _, output) = python_otlp("http", &http, &[("OTEL_EXPORTER_OTLP_CERTIFICATE", &pki.other_ca_cert)]);
    assert!(!ok && output.contains("CERTIFICATE_VERIFY_FAILED"), "{output}");
    pipeline.stop().await;
}

/// The subject curl saw on a new connection to `url`.
fn served_subject(url: &str, ca: &str) -> String {
    let seen = curl(&["--cacert", ca, url]);
    seen.messages
        .lines()
        .find_map(|line| line.trim_start_matches(['*', ' ']).strip_prefix("subject: ").map(str::to_string))
        .unwrap_or_else(|| format!("no subject (curl {}): {}", seen.code, seen.messages))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rotated_certificate_is_served_to_new_connections_without_restart_and_a_bad_one_is_not() {
    require_servers();
    let pki = pki("rotation");
    let config = tls_config("tls-rotation", &pki, ClientAuth::None);
    let pipeline = Pipeline::start(&config, true, false).await;
    let url = format!("https://127.0.0.1:{}/metrics", config.collector.admin_listen.port());
    let ca = path(&pki.ca_cert);
    assert_eq!(served_subject(&url, ca), "CN=skein test server");

    pki.reissue_server_cert("rotated server");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while served_subject(&url, ca) != "CN=rotated server" {
        assert!(tokio::time::Instant::now() < deadline, "the new certificate is served: {}", served_subject(&url, ca));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A broken file: the error is counted and the last good certificate stays.
    let errors = metric(&["skein_tls_certificate_reload_errors_total", "group=\"admin\""]);
    std::fs::write(&pki.server_cert, "-----BEGIN CERTIFICATE-----\ntruncated").unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while metric(&["skein_tls_certificate_reload_errors_total", "group=\"admin\""]) <= errors {
        assert!(tokio::time::Instant::now() < deadline, "the bad file is noticed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(served_subject(&url, ca), "CN=rotated server");
    pipeline.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_connection_flood_over_the_limit_is_closed_at_once_and_good_clients_are_served_after_it() {
    require_servers();
    let pki = pki("flood");
    let mut config = tls_config("tls-flood", &pki, ClientAuth::None);
    let limits = &mut config.listeners.receivers;
    (limits.max_connections, limits.header_read_timeout_ms, limits.idle_timeout_ms) = (50, 1_000, 2_000);
    let pipeline = Pipeline::start(&config, true, false).await;
    let addr = collector(&pipeline).otlp_http;
    let refused = || metric(&["skein_listener_connections_refused_total", "OTLP/HTTP"]);
    let before = refused();

    // 500 connections that never start a handshake, all on loopback, held open.
    let mut flood = Vec::new();
    for _ in 0..500 {
        flood.push(tokio::net::TcpStream::connect(addr).await.expect("loopback connects"));
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while refused() < before + 450.0 {
        assert!(tokio::time::Instant::now() < deadline, "over the limit are refused: {}", refused() - before);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The held ones are dropped by the server once the handshake time is over.
    for stream in &mut flood {
        let mut byte = [0u8; 1];
        let read =
            tokio::time::timeout(Duration::from_secs(15), tokio::io::AsyncReadExt::read(stream, &mut byte)).await;
        assert!(matches!(read, Ok(Ok(0)) | Ok(Err(_))), "the server closed the connection");
    }
    let (body, _) = otlp_json("tls-flood");
    let good = curl(&[
        "--cacert",
        path(&pki.ca_cert),
        "-H",
        "content-type: application/json",
        "--data",
        &body,
        &format!("https://127.0.0.1:{}/v1/traces", addr.port()),
    ]);
    assert_eq!(good.code, 0, "{}", good.messages);
    pipeline.stop().await;
}
