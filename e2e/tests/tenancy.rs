//! Multi-tenancy end to end: tenants named by a header (curl, a gRPC client's metadata, the
//! agent's link) are kept apart from the receivers through Kafka and the ingester to the query
//! API; requests without an allowed tenant are refused; a tenant over its rate limit is told to
//! come back later.

use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use prost::Message;
use serde_json::Value;
use skein_core::SkeinConfig;
use skein_e2e::*;
use skein_schemas::elasticsearch::IndexNames;
use skein_schemas::tenant::Tenant;

const WAIT: Duration = Duration::from_secs(90);

fn tenancy_config(name: &str) -> SkeinConfig {
    let mut config = isolated_config(name);
    config.tenancy.enabled = true;
    config.tenancy.tenants = vec!["acme".into(), "globex".into()];
    config.tenancy.udp_tenant = Some("acme".into());
    config
}

fn now_ns() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
}

/// POST an OTLP/JSON body with curl (a real HTTP client), `headers` as `name: value`; the status
/// code, the response headers and the body.
fn curl_post(url: &str, headers: &[&str], body: &str) -> (u16, String, String) {
    let mut command = std::process::Command::new("curl");
    command.args(["-sS", "-i", "-X", "POST", url, "-H", "content-type: application/json", "--data-binary", body]);
    for header in headers {
        command.args(["-H", header]);
    }
    let output = command.output().expect("curl runs");
    assert!(output.status.success(), "curl failed: {}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8_lossy(&output.stdout).replace("\r\n", "\n");
    let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("a status line");
    (status, head.to_ascii_lowercase(), body.to_string())
}

/// One span of `service` in OTLP/JSON, as an SDK sends it.
fn json_body(trace_hex: &str, service: &str, operation: &str, start_ns: u64) -> String {
    format!(
        r#"{{"resourceSpans":[{{"resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":"{service}"}}}}]}},
        "scopeSpans":[{{"spans":[{{"traceId":"{trace_hex}","spanId":"00000000000000a1","name":"{operation}","kind":2,
        "startTimeUnixNano":"{start_ns}","endTimeUnixNano":"{}"}}]}}]}}]}}"#,
        start_ns + 1_000_000
    )
}

/// GET a query API path as `tenant` (in `header`), or as nobody.
async fn get_as(url: &str, header: Option<(&str, &str)>) -> (u16, Value) {
    let mut request = reqwest::Client::new().get(url);
    if let Some((name, value)) = header {
        request = request.header(name, value);
    }
    let response = request.send().await.unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn grpc_request<T>(message: T, tenant: Option<(&'static str, &str)>) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Some((name, value)) = tenant {
        request.metadata_mut().insert(name, value.parse().unwrap());
    }
    request
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_tenants_sending_the_same_trace_id_each_read_only_their_own_spans() {
    require_servers();
    let config = tenancy_config("tenancy-iso");
    let mut pipeline = Pipeline::start(&config, true, true).await;
    pipeline.query = Some(skein_query::start(&config, pipeline.shutdown.clone()).await.expect("query starts"));
    let query = pipeline.query_url();
    let es = Es::default();
    let base = IndexNames::new(&config.elasticsearch.index_prefix);
    let acme = base.for_tenant(&Tenant::parse("acme").unwrap());
    let globex = base.for_tenant(&Tenant::parse("globex").unwrap());

    // The same trace id, and the same span id, from both tenants.
    let trace = random_trace_id();
    let trace_hex = hex::encode(trace);
    let start = now_ns() - 60_000_000_000;
    let (status, _, body) = curl_post(
        &pipeline.http_url(),
        &["x-scope-orgid: acme"],
        &json_body(&trace_hex, "acme-shop", "GET /acme", start),
    );
    assert_eq!(status, 200, "{body}");
    let mut grpc = TraceServiceClient::connect(pipeline.grpc_endpoint()).await.expect("gRPC connects");
    let mut span = otlp_span(trace, 0xa1, None, "GET /globex", SpanKind::Server, start, 2_000_000);
    span.attributes = vec![attr("tenant.owner", "globex")];
    grpc.export(grpc_request(request("globex-shop", vec![span]), Some(("x-tenant", "globex"))))
        .await
        .expect("globex's gRPC export is accepted");

    wait_until("each tenant's span indexed", WAIT, || async {
        es.count(&acme.span_pattern()).await >= 1 && es.count(&globex.span_pattern()).await >= 1
    })
    .await;
    wait_until("each tenant's service indexed", WAIT, || async {
        es.count(&acme.service_pattern()).await >= 1 && es.count(&globex.service_pattern()).await >= 1
    })
    .await;
    assert_eq!(es.count(&base.span_pattern()).await, 0, "nothing in the untenanted indices");

    for (tenant, service, operation) in [("acme", "acme-shop", "GET /acme"), ("globex", "globex-shop", "GET /globex")] {
        let as_tenant = Some(("x-scope-orgid", tenant));
        let (status, body) = get_as(&format!("{query}/api/traces/{trace_hex}"), as_tenant).await;
        assert_eq!(status, 200, "{tenant}: {body}");
        let spans = body["data"][0]["spans"].as_array().expect("one trace").clone();
        assert_eq!(spans.len(), 1, "{tenant} sees its one span only: {body}");
        assert_eq!(spans[0]["operationName"], operation, "{tenant}: {body}");
        let processes: Vec<&Value> = body["data"][0]["processes"].as_object().unwrap().values().collect();
        assert_eq!(processes.len(), 1);
        assert_eq!(processes[0]["serviceName"], service);
        let (status, body) = get_as(&format!("{query}/api/services"), as_tenant).await;
        assert_eq!(status, 200);
        assert_eq!(body["data"], serde_json::json!([service]), "{tenant} lists its own service only");
        let (_, body) = get_as(&format!("{query}/api/v3/services"), Some(("x-tenant", tenant))).await;
        assert_eq!(body["services"], serde_json::json!([service]), "v3 too");
    }

    // Without a tenant, or with one not allowed: refused on every side, with the reason.
    let (status, _, body) = curl_post(&pipeline.http_url(), &[], &json_body(&trace_hex, "x", "y", start));
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("missing tenant header x-scope-orgid"), "{body}");
    let (status, _, body) =
        curl_post(&pipeline.http_url(), &["x-scope-orgid: initech"], &json_body(&trace_hex, "x", "y", start));
    assert_eq!(status, 403, "{body}");
    let (status, _, _) = curl_post(
        &pipeline.http_url(),
        &["x-scope-orgid: acme", "x-tenant: globex"],
        &json_body(&trace_hex, "x", "y", start),
    );
    assert_eq!(status, 400, "two headers naming two tenants");
    let refused = grpc.export(grpc_request(request("x", vec![]), None)).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated, "{refused:?}");
    assert!(refused.message().starts_with("missing tenant header x-scope-orgid"), "{refused:?}");
    let refused = grpc.export(grpc_request(request("x", vec![]), Some(("x-scope-orgid", "initech")))).await;
    assert_eq!(refused.unwrap_err().code(), tonic::Code::PermissionDenied);
    let (status, body) = get_as(&format!("{query}/api/traces/{trace_hex}"), None).await;
    assert_eq!(status, 401, "{body}");
    assert!(body["errors"][0]["msg"].as_str().unwrap().starts_with("missing tenant header"), "{body}");
    let (status, _) = get_as(&format!("{query}/api/services"), Some(("x-scope-orgid", "initech"))).await;
    assert_eq!(status, 403);

    pipeline.stop().await;
    es.delete(&format!("{}-*", config.elasticsearch.index_prefix)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn spans_through_skein_agent_and_jaeger_udp_land_under_their_configured_tenant() {
    require_servers();
    let mut config = tenancy_config("tenancy-agent");
    let pipeline = Pipeline::start(&config, true, true).await;
    let collector = pipeline.collector.as_ref().unwrap().addresses;
    config.agent.collector_endpoint = format!("http://{}", collector.jaeger_grpc.unwrap());
    config.agent.tenant = Some("globex".into());
    let agent = skein_agent::start(&config, pipeline.shutdown.clone()).await.expect("agent starts");
    let es = Es::default();
    let base = IndexNames::new(&config.elasticsearch.index_prefix);
    let globex = base.for_tenant(&Tenant::parse("globex").unwrap());
    let acme = base.for_tenant(&Tenant::parse("acme").unwrap());

    // The agent's link names globex; the collector's own UDP port is tenancy.udp_tenant's (acme).
    let via_agent = agent.addresses.compact_udp.unwrap().to_string();
    let sent = run_client("python:jaeger_thrift_udp.py", &["--agent", &via_agent, "--service", "py-agent"]);
    let spans = sent["span_count"].as_u64().unwrap();
    let direct = collector.jaeger_compact_udp.unwrap().to_string();
    run_client("python:jaeger_thrift_udp.py", &["--agent", &direct, "--service", "py-direct"]);
    wait_until("the agent's spans under globex", WAIT, || async { es.count(&globex.span_pattern()).await >= spans })
        .await;
    wait_until("the UDP spans under acme", WAIT, || async { es.count(&acme.span_pattern()).await >= 1 }).await;
    let services = |docs: Vec<(String, Value)>| -> Vec<String> {
        let mut names: Vec<String> =
            docs.iter().map(|(_, d)| d["process"]["serviceName"].as_str().unwrap_or_default().to_string()).collect();
        names.dedup();
        names
    };
    assert_eq!(services(es.documents(&globex.span_pattern()).await), ["py-agent"]);
    assert_eq!(services(es.documents(&acme.span_pattern()).await), ["py-direct"]);
    assert_eq!(es.count(&base.span_pattern()).await, 0, "nothing untenanted");
    pipeline.stop().await;
    agent.join().await.expect("agent stopped cleanly");
    es.delete(&format!("{}-*", config.elasticsearch.index_prefix)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_tenant_over_its_rate_limit_is_told_when_to_retry_and_is_accepted_then() {
    require_servers();
    let mut config = tenancy_config("tenancy-rate");
    config.tenancy.rate_limits.insert("acme".into(), 10);
    let pipeline = Pipeline::start(&config, true, false).await;
    let five_spans = |service: &str| {
        let trace = random_trace_id();
        let spans = (1..=5).map(|id| span(trace, id, None, "op")).collect();
        request(service, spans).encode_to_vec()
    };
    let post = |tenant: &'static str, body: Vec<u8>| {
        let url = pipeline.http_url();
        async move {
            let response = reqwest::Client::new()
                .post(url)
                .header("content-type", "application/x-protobuf")
                .header("x-scope-orgid", tenant)
                .body(body)
                .send()
                .await
                .expect("collector answers");
            let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string());
            (response.status().as_u16(), retry_after)
        }
    };

    // Ten spans a second: two requests of five pass, the third is refused whole.
    assert_eq!(post("acme", five_spans("a")).await.0, 200);
    assert_eq!(post("acme", five_spans("a")).await.0, 200);
    let (status, retry_after) = post("acme", five_spans("a")).await;
    assert_eq!(status, 429);
    let seconds: u64 = retry_after.expect("429 carries Retry-After").parse().expect("whole seconds");
    assert!(seconds >= 1, "{seconds}");
    // Another tenant has no limit, and gRPC says RESOURCE_EXHAUSTED.
    assert_eq!(post("globex", five_spans("g")).await.0, 200);
    let mut grpc = TraceServiceClient::connect(pipeline.grpc_endpoint()).await.unwrap();
    let trace = random_trace_id();
    let refused = grpc
        .export(grpc_request(
            request("a", (1..=5).map(|id| span(trace, id, None, "op")).collect()),
            Some(("x-scope-orgid", "acme")),
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::ResourceExhausted, "{refused:?}");
    assert!(refused.message().contains("rate limit"), "{refused:?}");

    // Once the delay it was given has passed, the tenant is accepted again.
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    assert_eq!(post("acme", five_spans("a")).await.0, 200, "accepted after Retry-After");
    pipeline.stop().await;
}

#[tokio::test]
async fn a_collector_with_tenancy_refuses_to_start_when_udp_listens_without_a_udp_tenant() {
    let mut config = tenancy_config("tenancy-udp");
    config.tenancy.udp_tenant = None;
    let error = skein_collector::start(&config, tokio_util::sync::CancellationToken::new()).await.err();
    let message = error.expect("start refused").to_string();
    assert!(message.contains("tenancy.udp_tenant") && message.contains("jaeger_compact_udp_listen"), "{message}");
}
