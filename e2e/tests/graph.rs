//! The graph endpoints on real data: a HotROD-shaped fixture sent through the real collector,
//! links written by the real analytics worker, read back through `/api/skein/graph`,
//! `/api/skein/graph/operations` and Jaeger UI's deep dependency request.

use std::time::Duration;

use opentelemetry_proto::tonic::trace::v1::{span, Status};
use serde_json::{json, Value};
use skein_e2e::*;

const WAIT: Duration = Duration::from_secs(90);
const MS: u64 = 1_000_000;

/// Calls and errors per link, latencies dropped (checked apart).
fn counts(links: &Value) -> Vec<Value> {
    links
        .as_array()
        .map(|links| {
            links.iter().map(|l| json!([l["parent"], l["child"], l["calls"], l["errors"]])).collect::<Vec<_>>()
        })
        .unwrap_or_default()
}

fn op(service: &str, operation: &str) -> Value {
    json!({"service": service, "operation": operation})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fixture_gives_exact_service_and_operation_graphs_and_jaeger_ui_deep_dependency_paths() {
    require_servers();
    let mut config = isolated_config("graph");
    quick_analytics(&mut config);
    let pipeline = Pipeline::start_all(&config).await;
    let base = pipeline.query_url();

    // Three requests: frontend:GET /dispatch (server) → frontend:HTTP GET (client, 20/30/40 ms)
    // → customer:GET /customer (server; the second one fails) → customer:SQL SELECT (client,
    // peer.service mysql: a leaf, so a link to mysql whose operation is unknown).
    use span::SpanKind::{Client, Server};
    let t0 = chrono::Utc::now().timestamp_nanos_opt().unwrap() as u64 - 2_000 * MS;
    let mut traces = Vec::new();
    for (n, client_ms) in [20u64, 30, 40].into_iter().enumerate() {
        let trace = random_trace_id();
        traces.push(trace);
        let mut customer = otlp_span(trace, 3, Some(2), "GET /customer", Server, t0 + MS, client_ms * MS / 2);
        if n == 1 {
            customer.status = Some(Status { code: 2, message: "customer not found".into() });
        }
        let mut sql = otlp_span(trace, 4, Some(3), "SQL SELECT", Client, t0 + 2 * MS, 5 * MS);
        sql.attributes.push(attr("peer.service", "mysql"));
        let body = export_body(vec![
            (
                "frontend",
                vec![
                    otlp_span(trace, 1, None, "GET /dispatch", Server, t0, 50 * MS),
                    otlp_span(trace, 2, Some(1), "HTTP GET", Client, t0 + MS / 2, client_ms * MS),
                ],
            ),
            ("customer", vec![customer, sql]),
        ]);
        pipeline.send_otlp_http(body).await;
    }

    // The service graph, once analytics has counted every trace.
    let expected_links = vec![
        json!(["customer", "customer", 3, 0]),
        json!(["customer", "mysql", 3, 0]),
        json!(["frontend", "customer", 3, 1]),
        json!(["frontend", "frontend", 3, 0]),
    ];
    let expected_services = json!([
        {"service": "customer", "calls": 3, "errors": 1},
        {"service": "frontend", "calls": 3, "errors": 0},
        {"service": "mysql", "calls": 0, "errors": 0}
    ]);
    let deadline = std::time::Instant::now() + WAIT;
    let graph = loop {
        let (status, graph) = get_json(&format!("{base}/api/skein/graph")).await;
        if status == 200 && counts(&graph["links"]) == expected_links && graph["services"] == expected_services {
            break graph;
        }
        assert!(std::time::Instant::now() < deadline, "the service graph never held the fixture: {graph}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let frontend_customer = &graph["links"][2];
    let p50 = frontend_customer["p50"].as_f64().expect("p50 measured");
    assert!((p50 - 30_000.0).abs() <= 300.0, "p50 of 20/30/40 ms client spans is 30 ms in µs: {p50}");
    for quantile in ["p95", "p99"] {
        let value = frontend_customer[quantile].as_f64().expect("measured");
        assert!((value - 30_000.0).abs() <= 300.0, "{quantile} (lower rank of 3 calls): {value}");
    }
    for link in graph["links"].as_array().unwrap() {
        assert!(link["p50"].is_number() && link["p95"].is_number() && link["p99"].is_number(), "{link}");
    }
    // Traces across an edge (the UI's edge click lists them): only traces that made such a call.
    let sent: Vec<String> = traces.iter().map(hex::encode).collect();
    let exemplars: Vec<&str> = frontend_customer["exemplarTraceIds"]
        .as_array()
        .expect("exemplar traces listed")
        .iter()
        .map(|t| t.as_str().expect("a trace id"))
        .collect();
    assert!(!exemplars.is_empty(), "frontend → customer has exemplar traces: {frontend_customer}");
    assert!(exemplars.iter().all(|t| sent.iter().any(|s| s == t)), "{exemplars:?} ⊆ {sent:?}");
    // An explicit window that holds the fixture answers the same; one before it answers nothing.
    let now = chrono::Utc::now().timestamp_millis();
    let (_, same) = get_json(&format!("{base}/api/skein/graph?endTs={now}&lookback=3600000")).await;
    assert_eq!(same, graph);
    let (_, before) = get_json(&format!("{base}/api/skein/graph?endTs={}&lookback=60000", now - 3_600_000)).await;
    assert_eq!(before, json!({"services": [], "links": []}));
    let (status, body) = get_json(&format!("{base}/api/skein/graph?lookback=an-hour")).await;
    assert_eq!(status, 400);
    assert!(body["errors"][0]["msg"].as_str().unwrap().contains("'lookback'"), "{body}");

    // The operation graph of customer: links touching it, the operations at their ends.
    let (status, customer) = get_json(&format!("{base}/api/skein/graph/operations?service=customer")).await;
    assert_eq!(status, 200, "{customer}");
    let links: Vec<Value> = customer["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| json!([l["parent"], l["child"], l["calls"], l["errors"]]))
        .collect();
    assert_eq!(
        links,
        [
            json!([op("customer", "GET /customer"), op("customer", "SQL SELECT"), 3, 0]),
            json!([op("customer", "SQL SELECT"), op("mysql", ""), 3, 0]),
            json!([op("frontend", "HTTP GET"), op("customer", "GET /customer"), 3, 1]),
        ]
    );
    assert_eq!(
        customer["operations"],
        json!([
            {"service": "customer", "operation": "GET /customer", "calls": 3, "errors": 1},
            {"service": "customer", "operation": "SQL SELECT", "calls": 3, "errors": 0},
            {"service": "frontend", "operation": "HTTP GET", "calls": 3, "errors": 0},
            {"service": "mysql", "operation": "", "calls": 0, "errors": 0}
        ])
    );
    let p50 = customer["links"][2]["p50"].as_f64().expect("p50 measured");
    assert!((p50 - 30_000.0).abs() <= 300.0, "timed on the calling side: {p50}");
    let (_, frontend) = get_json(&format!("{base}/api/skein/graph/operations?service=frontend")).await;
    assert_eq!(
        frontend["operations"],
        json!([
            {"service": "customer", "operation": "GET /customer", "calls": 3, "errors": 1},
            {"service": "frontend", "operation": "GET /dispatch", "calls": 3, "errors": 0},
            {"service": "frontend", "operation": "HTTP GET", "calls": 3, "errors": 0}
        ])
    );
    assert_eq!(frontend["links"].as_array().map(Vec::len), Some(2), "{frontend}");

    // Jaeger UI's deep dependency request, as it sends it (start=0&end=0).
    let (status, ddg) = get_json(&format!(
        "{base}/analytics/v1/dependencies?end=0&operation=GET%20%2Fcustomer&service=customer&start=0"
    ))
    .await;
    assert_eq!(status, 200, "{ddg}");
    let paths: Vec<&Value> = ddg["dependencies"].as_array().unwrap().iter().map(|d| &d["path"]).collect();
    assert_eq!(
        paths,
        [
            &json!([op("customer", "GET /customer"), op("customer", "SQL SELECT"), op("mysql", "")]),
            &json!([op("frontend", "GET /dispatch"), op("frontend", "HTTP GET"), op("customer", "GET /customer")]),
        ]
    );
    let hex = |t: &[u8; 16]| t.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let ours: Vec<String> = traces.iter().map(hex).collect();
    let upstream = &ddg["dependencies"][1]["attributes"];
    assert_eq!(upstream[0], json!({"key": "exemplar_trace_id", "value": ours[2]}), "the slowest call's trace first");
    for path in ddg["dependencies"].as_array().unwrap() {
        for attribute in path["attributes"].as_array().unwrap() {
            assert!(ours.contains(&attribute["value"].as_str().unwrap().to_string()), "{attribute}");
        }
    }
    // The whole service: frontend's two operations are one path from its entry point.
    let (_, ddg) = get_json(&format!("{base}/analytics/v1/dependencies?service=frontend")).await;
    let paths: Vec<&Value> = ddg["dependencies"].as_array().unwrap().iter().map(|d| &d["path"]).collect();
    assert_eq!(
        paths,
        [&json!([
            op("frontend", "GET /dispatch"),
            op("frontend", "HTTP GET"),
            op("customer", "GET /customer"),
            op("customer", "SQL SELECT"),
            op("mysql", "")
        ])]
    );

    pipeline.stop().await;
    Es::default().delete(&format!("{}-*", config.elasticsearch.index_prefix)).await;
}
