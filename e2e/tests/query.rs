//! The query role on real data: spans sent through the real collector and ingester, links and
//! latency written by the real analytics worker, read back through Jaeger's HTTP API.

use std::time::Duration;

use opentelemetry_proto::tonic::common::v1::{any_value::Value as V, AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::{span, Span, Status};
use serde_json::{json, Value};
use skein_core::SkeinConfig;
use skein_e2e::*;

const WAIT: Duration = Duration::from_secs(60);

fn kv(key: &str, value: V) -> KeyValue {
    KeyValue { key: key.into(), value: Some(AnyValue { value: Some(value) }), ..Default::default() }
}

fn now_ns() -> u64 {
    chrono::Utc::now().timestamp_nanos_opt().unwrap() as u64
}

fn config(name: &str) -> SkeinConfig {
    let mut config = isolated_config(name);
    quick_analytics(&mut config);
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn known_trace_and_dependencies_come_back_in_jaegers_json_and_every_search_parameter_works() {
    require_servers();
    let config = config("query-golden");
    let pipeline = Pipeline::start_all(&config).await;
    let base = pipeline.query_url();
    let es = Es::default();

    // A known trace: web (server → client) → api (server, error, events, typed tags, a link).
    let trace = [0x4b; 16];
    let t0 = now_ns() - 3_600_000_000_000; // an hour ago
    let mut root = otlp_span(trace, 1, None, "GET /checkout", span::SpanKind::Server, t0, 50_000_000);
    root.attributes = vec![
        kv("http.status_code", V::IntValue(200)),
        kv("big", V::IntValue(9_007_199_254_740_993)),
        kv("ratio", V::DoubleValue(0.5)),
        kv("cached", V::BoolValue(true)),
    ];
    let client = otlp_span(trace, 2, Some(1), "call api", span::SpanKind::Client, t0 + 1_000_000, 40_000_000);
    let mut server = otlp_span(trace, 3, Some(2), "POST /orders", span::SpanKind::Server, t0 + 2_000_000, 30_000_000);
    server.status = Some(Status { code: 2, message: "boom".into() });
    server.events = vec![span::Event {
        time_unix_nano: t0 + 3_000_000,
        name: "retry".into(),
        attributes: vec![kv("attempt", V::IntValue(2))],
        ..Default::default()
    }];
    server.links =
        vec![span::Link { trace_id: vec![0x11; 16], span_id: 9u64.to_be_bytes().to_vec(), ..Default::default() }];
    pipeline.send_otlp_http(export_body(vec![("web", vec![root, client]), ("api", vec![server])])).await;
    // Another trace, to tell searches apart.
    let other = [0x5c; 16];
    let mut slow = otlp_span(other, 1, None, "GET /slow", span::SpanKind::Server, t0 + 10_000_000, 900_000_000);
    slow.attributes = vec![kv("http.status_code", V::IntValue(503)), kv("region", V::StringValue("eu-west".into()))];
    pipeline.send_otlp_http(export_body(vec![("web", vec![slow])])).await;
    let names = skein_schemas::elasticsearch::IndexNames::new(&config.elasticsearch.index_prefix);
    wait_until("4 spans indexed", WAIT, || async { es.count(&names.span_pattern()).await >= 4 }).await;
    wait_until("both services listed", WAIT, || async { es.count(&names.service_pattern()).await >= 4 }).await;

    let trace_id = "4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b";
    let (status, body) = get_json(&format!("{base}/api/traces/{trace_id}")).await;
    assert_eq!(status, 200, "{body}");
    let t0_us = t0 / 1000;
    let web_process =
        json!({"serviceName": "web", "tags": [{"key": "host.name", "type": "string", "value": "web-host"}]});
    let api_process =
        json!({"serviceName": "api", "tags": [{"key": "host.name", "type": "string", "value": "api-host"}]});
    let expected_root_tags = json!([
        {"key": "http.status_code", "type": "int64", "value": 200},
        {"key": "big", "type": "int64", "value": "9007199254740993"},
        {"key": "ratio", "type": "float64", "value": 0.5},
        {"key": "cached", "type": "bool", "value": true},
        {"key": "span.kind", "type": "string", "value": "server"}
    ]);
    let got = &body["data"][0];
    assert_eq!(body["total"], 0);
    assert_eq!(body["errors"], Value::Null);
    assert_eq!(got["traceID"], trace_id);
    assert_eq!(got["processes"], json!({"p1": web_process, "p2": api_process}));
    assert_eq!(got["warnings"], Value::Null);
    let spans = got["spans"].as_array().unwrap();
    assert_eq!(spans.len(), 3);
    assert_eq!(
        spans[0],
        json!({"traceID": trace_id, "spanID": "0000000000000001", "operationName": "GET /checkout", "references": [],
               "startTime": t0_us, "duration": 50000, "tags": expected_root_tags, "logs": [], "processID": "p1",
               "warnings": null}),
        "first span, field by field"
    );
    assert_eq!(
        spans[1]["references"],
        json!([{"refType": "CHILD_OF", "traceID": trace_id, "spanID": "0000000000000001"}])
    );
    let api_span = &spans[2];
    assert_eq!(api_span["processID"], "p2");
    assert_eq!(
        api_span["references"],
        json!([{"refType": "CHILD_OF", "traceID": trace_id, "spanID": "0000000000000002"},
               {"refType": "FOLLOWS_FROM", "traceID": "11111111111111111111111111111111", "spanID": "0000000000000009"}])
    );
    assert_eq!(
        api_span["logs"],
        json!([{"timestamp": t0_us + 3000, "fields": [
        {"key": "event", "type": "string", "value": "retry"}, {"key": "attempt", "type": "int64", "value": 2}]}])
    );
    let tags = api_span["tags"].as_array().unwrap();
    assert!(tags.contains(&json!({"key": "error", "type": "bool", "value": true})), "{tags:?}");
    assert!(tags.contains(&json!({"key": "otel.status_description", "type": "string", "value": "boom"})), "{tags:?}");

    // Search parameters, each narrowing to the expected traces.
    let start = t0_us - 60_000_000;
    let end = t0_us + 60_000_000;
    let search = |query: String| {
        let base = base.clone();
        async move {
            let (status, body) = get_json(&format!("{base}/api/traces?{query}")).await;
            assert_eq!(status, 200, "{query}: {body}");
            let mut ids: Vec<String> =
                body["data"].as_array().unwrap().iter().map(|t| t["traceID"].as_str().unwrap().to_string()).collect();
            ids.sort();
            ids
        }
    };
    let both = vec![trace_id.to_string(), "5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c".to_string()];
    let slow_only = vec!["5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c".to_string()];
    let golden_only = vec![trace_id.to_string()];
    assert_eq!(search(format!("service=web&start={start}&end={end}")).await, both);
    assert_eq!(search(format!("service=api&start={start}&end={end}")).await, golden_only);
    assert_eq!(search(format!("service=web&operation=GET%20%2Fslow&start={start}&end={end}")).await, slow_only);
    assert_eq!(search(format!("service=web&tag=http.status_code:503&start={start}&end={end}")).await, slow_only);
    assert_eq!(search("service=web&tag=region:eu-west&tag=http.status_code:503".to_string()).await, slow_only);
    let tags = urlencode(r#"{"http.status_code":"200"}"#);
    assert_eq!(search(format!("service=web&tags={tags}&start={start}&end={end}")).await, golden_only);
    assert_eq!(search(format!("service=web&minDuration=500ms&start={start}&end={end}")).await, slow_only);
    assert_eq!(search(format!("service=web&maxDuration=100ms&start={start}&end={end}")).await, golden_only);
    assert_eq!(search(format!("service=web&start={}&end={}", end, end + 1_000_000)).await, Vec::<String>::new());
    assert_eq!(search(format!("service=web&limit=1&start={start}&end={end}")).await.len(), 1);
    let (_, by_ids) =
        get_json(&format!("{base}/api/traces?traceID={trace_id}&traceID=00000000000000000000000000000abc")).await;
    assert_eq!(by_ids["data"].as_array().unwrap().len(), 1);
    assert_eq!(by_ids["errors"], json!([{"msg": "trace not found", "traceID": "0000000000000abc"}]));

    // What Grafana's Jaeger data source asks.
    let (_, services) = get_json(&format!("{base}/api/services")).await;
    assert_eq!(services["data"], json!(["api", "web"]));
    assert_eq!(services["total"], 2);
    let (_, operations) = get_json(&format!("{base}/api/services/web/operations")).await;
    assert_eq!(operations["data"], json!(["GET /checkout", "GET /slow", "call api"]));
    let (_, kinds) = get_json(&format!("{base}/api/operations?service=web&spanKind=client")).await;
    assert_eq!(kinds["data"], json!([{"name": "call api", "spanKind": "client"}]));
    let ms = t0_us / 1000;
    let (status, _) = get_json(&format!("{base}/api/traces/{trace_id}?start={}&end={}", ms - 1000, ms + 1000)).await;
    assert_eq!(status, 200, "a trace is found even when start/end come in ms");
    let (status, body) = get_json(&format!("{base}/api/traces/{}", "ab".repeat(16))).await;
    assert_eq!((status, body["errors"][0]["code"].clone()), (404, json!(404)));

    // API v3: OTLP JSON.
    let (status, v3) = get_json(&format!("{base}/api/v3/traces/{trace_id}")).await;
    assert_eq!(status, 200, "{v3}");
    let otlp_spans: Vec<Value> = v3["result"]["resourceSpans"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["scopeSpans"].as_array().unwrap().clone())
        .flat_map(|s| s["spans"].as_array().unwrap().clone())
        .collect();
    assert_eq!(otlp_spans.len(), 3);
    let orders = otlp_spans.iter().find(|s| s["name"] == "POST /orders").unwrap();
    assert_eq!((orders["kind"].clone(), orders["status"]["code"].clone()), (json!(2), json!(2)));
    assert_eq!(orders["parentSpanId"], "0000000000000002");
    assert_eq!(orders["traceId"], trace_id);
    assert_eq!(get_json(&format!("{base}/api/v3/services")).await.1, json!({"services": ["api", "web"]}));
    let (status, missing) = get_json(&format!("{base}/api/v3/traces/{}", "cd".repeat(16))).await;
    assert_eq!((status, missing["error"]["httpCode"].clone()), (404, json!(404)));
    let rfc = |us: u64| chrono::DateTime::from_timestamp_micros(us as i64).unwrap().to_rfc3339();
    let v3_search = format!(
        "{base}/api/v3/traces?query.service_name=api&query.start_time_min={}&query.start_time_max={}",
        urlencode(&rfc(start)),
        urlencode(&rfc(end))
    );
    let (status, found) = get_json(&v3_search).await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["result"]["resourceSpans"].as_array().unwrap().len(), 2, "the golden trace's two processes");

    // Dependencies from the analytics documents, summed, with errorCount.
    let end_ms = chrono::Utc::now().timestamp_millis() + 60_000;
    let dependencies = format!("{base}/api/dependencies?endTs={end_ms}&lookback=86400000");
    let expected = json!([
        {"parent": "web", "child": "api", "callCount": 1, "errorCount": 1},
        {"parent": "web", "child": "web", "callCount": 1, "errorCount": 0}
    ]);
    let mut last = Value::Null;
    for _ in 0..150 {
        last = get_json(&dependencies).await.1["data"].clone();
        if last == expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(last, expected);

    // Latency figures from the analytics index, in Jaeger's metrics shape.
    let metrics = format!("{base}/api/metrics/calls?service=web&spanKind=server&endTs={end_ms}&lookback=7200000&step=60000&ratePer=7200000");
    let (status, calls) = get_json(&metrics).await;
    assert_eq!(status, 200, "{calls}");
    assert_eq!(calls["name"], "service_call_rate");
    assert_eq!(calls["metrics"][0]["labels"], json!([{"name": "service_name", "value": "web"}]));
    let points = calls["metrics"][0]["metricPoints"].as_array().unwrap();
    let last_rate = points.last().unwrap()["gaugeValue"]["doubleValue"].as_f64().unwrap();
    assert!((last_rate - 2.0 / 7200.0).abs() < 1e-9, "2 server spans over 2 h: {last_rate}");
    let (status, latency) =
        get_json(&format!("{base}/api/metrics/latencies?service=web&quantile=0.95&endTs={end_ms}&lookback=7200000&step=60000&ratePer=7200000&groupByOperation=true")).await;
    assert_eq!(status, 200, "{latency}");
    assert_eq!(latency["name"], "service_operation_latencies");

    pipeline.stop().await;
    es.delete(&format!("{}-*", config.elasticsearch.index_prefix)).await;
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_20000_span_trace_with_tied_start_times_and_a_trace_across_midnight_come_back_whole() {
    require_servers();
    let config = config("query-large");
    let pipeline = Pipeline::start_all(&config).await;
    let base = pipeline.query_url();
    let es = Es::default();
    let names = skein_schemas::elasticsearch::IndexNames::new(&config.elasticsearch.index_prefix);

    let big = [0x7e; 16];
    let start = now_ns() - 600_000_000_000;
    for batch in 0..10u64 {
        let spans: Vec<Span> = (0..2000u64)
            .map(|i| {
                let id = batch * 2000 + i + 2;
                otlp_span(big, id, Some(1), "work", span::SpanKind::Internal, start, 1_000_000)
            })
            .collect();
        pipeline.send_otlp_http(export_body(vec![("bulk", spans)])).await;
    }
    pipeline
        .send_otlp_http(export_body(vec![(
            "bulk",
            vec![otlp_span(big, 1, None, "root", span::SpanKind::Server, start, 5_000_000)],
        )]))
        .await;

    // Across midnight UTC: one span just before, one just after.
    let midnight = {
        let now = chrono::Utc::now().timestamp_nanos_opt().unwrap() as u64;
        now - now % 86_400_000_000_000 - 86_400_000_000_000
    };
    let night = [0x3d; 16];
    pipeline
        .send_otlp_http(export_body(vec![(
            "night",
            vec![
                otlp_span(night, 1, None, "late", span::SpanKind::Server, midnight - 200_000_000, 400_000_000),
                otlp_span(night, 2, Some(1), "early", span::SpanKind::Internal, midnight + 100_000_000, 50_000_000),
            ],
        )]))
        .await;
    wait_until("20,003 spans indexed", Duration::from_secs(180), || async {
        es.count(&names.span_pattern()).await >= 20_003
    })
    .await;

    let (status, body) = get_json(&format!("{base}/api/traces/{}", "7e".repeat(16))).await;
    assert_eq!(status, 200);
    let spans = body["data"][0]["spans"].as_array().unwrap();
    assert_eq!(spans.len(), 20_001, "every span, none twice");
    let mut ids: Vec<&str> = spans.iter().map(|s| s["spanID"].as_str().unwrap()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 20_001, "no span repeated");

    let (status, body) = get_json(&format!("{base}/api/traces/{}", "3d".repeat(16))).await;
    assert_eq!(status, 200);
    let names: Vec<&str> =
        body["data"][0]["spans"].as_array().unwrap().iter().map(|s| s["operationName"].as_str().unwrap()).collect();
    assert_eq!(names, ["late", "early"], "both daily indices read, spans in order");

    pipeline.stop().await;
    es.delete(&format!("{}-*", config.elasticsearch.index_prefix)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_parameters_get_400_naming_the_parameter() {
    require_servers();
    let config = config("query-invalid");
    let mut pipeline = Pipeline::start(&config, false, false).await;
    pipeline.query = Some(skein_query::start(&config, pipeline.shutdown.clone()).await.expect("query starts"));
    let base = pipeline.query_url();
    for (query, names) in [
        ("/api/traces?start=0", "'service'"),
        ("/api/traces?service=a&limit=x", "'limit'"),
        ("/api/traces?service=a&start=yesterday", "'start'"),
        ("/api/traces?service=a&end=1.5", "'end'"),
        ("/api/traces?service=a&minDuration=5parsecs", "'minDuration'"),
        ("/api/traces?service=a&minDuration=2s&maxDuration=1s", "'maxDuration'"),
        ("/api/traces?service=a&tag=nocolon", "'tag'"),
        ("/api/traces?service=a&tags=%7Bbad", "'tags'"),
        ("/api/traces?service=a&raw=maybe", "'raw'"),
        ("/api/traces?traceID=not-hex", "traceID"),
        ("/api/traces/xyz", "traceID"),
        ("/api/operations", "'service'"),
        ("/api/operations?service=a&spanKind=sideways", "'spanKind'"),
        ("/api/dependencies?endTs=soon", "'endTs'"),
        ("/api/dependencies?lookback=-5", "'lookback'"),
        ("/api/metrics/calls", "'service'"),
        ("/api/metrics/latencies?service=a", "'quantile'"),
        ("/api/metrics/latencies?service=a&quantile=2", "'quantile'"),
        ("/api/metrics/calls?service=a&step=0", "'step'"),
    ] {
        let (status, body) = get_json(&format!("{base}{query}")).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["errors"][0]["code"], 400, "{query}");
        let message = body["errors"][0]["msg"].as_str().unwrap();
        assert!(message.contains(names), "{query}: {message:?} does not name {names}");
        assert_eq!(body["data"], Value::Null);
    }
    pipeline.stop().await;
}
