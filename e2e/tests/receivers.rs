//! Jaeger and Zipkin clients, unmodified, sending to skein: real client libraries (Python
//! OpenTelemetry exporters, a Go client built from Jaeger's api_v2 contract, Go's Jaeger remote
//! sampler) against the real collector, agent, Kafka and Elasticsearch.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use serde_json::Value;
use skein_core::SkeinConfig;
use skein_e2e::{isolated_config, require_servers, run_client, Es, Pipeline};

/// The span documents of one trace, keyed by span id, once `expected` of them are searchable.
async fn trace_documents(config: &SkeinConfig, trace_id: &str, expected: usize) -> BTreeMap<String, Value> {
    let es = Es::default();
    let pattern = format!("{}-jaeger-span-*", config.elasticsearch.index_prefix);
    // As `trace_id_format: full` (the default) writes it, whatever form the client printed.
    let wanted = format!("{trace_id:0>32}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let found = loop {
        let found: BTreeMap<String, Value> = es
            .documents(&pattern)
            .await
            .into_iter()
            .map(|(_, doc)| doc)
            .filter(|doc| doc["traceID"] == *wanted.as_str())
            .map(|doc| (doc["spanID"].as_str().unwrap_or_default().to_string(), doc))
            .collect();
        if found.len() >= expected || tokio::time::Instant::now() > deadline {
            break found;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert_eq!(found.len(), expected, "exactly the spans sent, once each");
    found
}

fn tag<'a>(doc: &'a Value, key: &str) -> Option<&'a Value> {
    doc["tags"].as_array()?.iter().find(|t| t["key"] == key)
}

fn document_named<'a>(docs: &'a BTreeMap<String, Value>, name: &str) -> &'a Value {
    docs.values().find(|d| d["operationName"] == name).unwrap_or_else(|| panic!("a span named {name}"))
}

/// What the Python OpenTelemetry exporters sent, as Jaeger would store it.
fn assert_python_trace(docs: &BTreeMap<String, Value>, sent: &Value, typed_tags: bool) {
    for span in sent["spans"].as_array().unwrap() {
        let doc = &docs[span["span_id"].as_str().unwrap()];
        assert_eq!(doc["operationName"], span["name"]);
        assert_eq!(doc["process"]["serviceName"], sent["service"]);
        assert_eq!(doc["startTime"], span["start_us"]);
        assert_eq!(doc["duration"], span["duration_us"]);
        match span["parent_span_id"].as_str() {
            Some(parent) => assert_eq!(doc["parentSpanID"], parent, "{}", span["name"]),
            None => assert!(doc.get("parentSpanID").is_none_or(|p| p == ""), "root has no parent"),
        }
        let kind = span["kind"].as_str().unwrap().to_ascii_lowercase();
        if kind != "internal" || doc["tag"].get("span@kind").is_some() {
            assert_eq!(doc["tag"]["span@kind"], kind.as_str(), "{}", span["name"]);
        }
    }
    let root = document_named(docs, "skein-e2e-root");
    assert_eq!(tag(root, "str.attr").unwrap()["value"], "hello skein");
    if typed_tags {
        assert_eq!(tag(root, "bool.attr").unwrap()["type"], "bool");
        assert_eq!(tag(root, "int.attr").unwrap()["type"], "int64");
        assert_eq!(tag(root, "int.attr").unwrap()["value"], 42);
        assert_eq!(tag(root, "float.attr").unwrap()["type"], "float64");
    }
    let error = document_named(docs, "skein-e2e-error");
    assert_eq!(error["tag"]["error"], true, "ERROR status is stored as error=true");
    let client = document_named(docs, "skein-e2e-client");
    let log = &client["logs"][0];
    // The exporters carry the event name their own way (the Jaeger exporter as a `message`
    // field, the Zipkin one as an annotation holding JSON); it is stored as Jaeger stores it.
    let fields = log["fields"].as_array().unwrap();
    assert!(
        fields.iter().any(|f| ["event", "message"].contains(&f["key"].as_str().unwrap())
            && f["value"].as_str().unwrap_or_default().contains("cache.miss")),
        "the event became a log: {log}"
    );
    if typed_tags {
        assert!(fields.iter().any(|f| f["key"] == "event.int" && f["type"] == "int64"), "{log}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn python_jaeger_exporter_over_udp_and_thrift_http_lands_in_elasticsearch() {
    require_servers();
    let config = isolated_config("jaeger-thrift");
    let pipeline = Pipeline::start(&config, true, true).await;
    let addresses = pipeline.collector.as_ref().unwrap().addresses;

    let agent = addresses.jaeger_compact_udp.unwrap().to_string();
    let sent = run_client("python:jaeger_thrift_udp.py", &["--agent", &agent, "--service", "py-udp"]);
    let docs =
        trace_documents(&config, sent["trace_id"].as_str().unwrap(), sent["span_count"].as_u64().unwrap() as usize)
            .await;
    assert_python_trace(&docs, &sent, true);
    // The link the exporter sends as a FOLLOWS_FROM reference survives beside the parent.
    let error = document_named(&docs, "skein-e2e-error");
    let refs = error["references"].as_array().unwrap();
    assert!(refs.iter().any(|r| r["refType"] == "FOLLOWS_FROM"), "{refs:?}");

    let endpoint = format!("http://{}/api/traces", addresses.jaeger_thrift_http.unwrap());
    let sent = run_client("python:jaeger_thrift_udp.py", &["--collector-endpoint", &endpoint, "--service", "py-http"]);
    let docs =
        trace_documents(&config, sent["trace_id"].as_str().unwrap(), sent["span_count"].as_u64().unwrap() as usize)
            .await;
    assert_python_trace(&docs, &sent, true);
    pipeline.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn python_zipkin_exporters_json_and_proto_land_in_elasticsearch() {
    require_servers();
    let config = isolated_config("zipkin");
    let pipeline = Pipeline::start(&config, true, true).await;
    let zipkin = pipeline.collector.as_ref().unwrap().addresses.zipkin.unwrap();
    let endpoint = format!("http://{zipkin}/api/v2/spans");
    for encoding in ["json", "proto"] {
        let service = format!("py-zipkin-{encoding}");
        let sent = run_client(
            "python:zipkin_send.py",
            &["--encoding", encoding, "--endpoint", &endpoint, "--service", &service],
        );
        let docs =
            trace_documents(&config, sent["trace_id"].as_str().unwrap(), sent["span_count"].as_u64().unwrap() as usize)
                .await;
        // Zipkin tags are strings, so typed tags are not expected.
        assert_python_trace(&docs, &sent, false);
    }
    pipeline.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn jaeger_grpc_client_from_the_api_v2_contract_lands_in_elasticsearch() {
    require_servers();
    let config = isolated_config("jaeger-grpc");
    let pipeline = Pipeline::start(&config, true, true).await;
    let addr = pipeline.collector.as_ref().unwrap().addresses.jaeger_grpc.unwrap().to_string();
    let sent = run_client("jaeger-grpc", &["post", "--addr", &addr, "--process-on-spans"]);
    let spans = sent["spans"].as_array().unwrap();
    let docs = trace_documents(&config, sent["trace_id"].as_str().unwrap(), spans.len()).await;
    for span in spans {
        let doc = &docs[span["span_id"].as_str().unwrap()];
        assert_eq!(doc["operationName"], span["operation_name"]);
        assert_eq!(doc["startTime"], span["start_us"]);
        assert_eq!(doc["duration"], span["duration_us"]);
        if let Some(parent) = span["parent_span_id"].as_str().filter(|p| !p.is_empty()) {
            assert_eq!(doc["parentSpanID"], parent, "{}", span["operation_name"]);
        }
        assert_eq!(doc["process"]["serviceName"], sent["service"]);
    }
    let root = document_named(&docs, "jaeger-grpc-root");
    let binary = root["tags"].as_array().unwrap().iter().find(|t| t["type"] == "binary");
    assert!(binary.is_some(), "binary tags keep their type: {root}");
    let process_tags = root["process"]["tags"].as_array().unwrap();
    assert!(process_tags.iter().any(|t| t["type"] == "int64") && process_tags.iter().any(|t| t["type"] == "bool"));
    let client = document_named(&docs, "jaeger-grpc-client");
    assert_eq!(client["logs"].as_array().unwrap().len(), 2);
    let error = document_named(&docs, "jaeger-grpc-error");
    let ref_types: Vec<&str> =
        error["references"].as_array().unwrap().iter().map(|r| r["refType"].as_str().unwrap()).collect();
    assert_eq!(ref_types, ["CHILD_OF", "FOLLOWS_FROM"]);
    assert_eq!(error["tag"]["error"], true);
    let follower = document_named(&docs, "jaeger-grpc-follower");
    assert_eq!(follower["references"][0]["refType"], "FOLLOWS_FROM", "a FOLLOWS_FROM-only parent keeps its type");
    pipeline.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn skein_agent_forwards_udp_spans_to_the_collector_over_grpc() {
    require_servers();
    let mut config = isolated_config("agent");
    let pipeline = Pipeline::start(&config, true, true).await;
    let collector_grpc = pipeline.collector.as_ref().unwrap().addresses.jaeger_grpc.unwrap();
    config.agent.collector_endpoint = format!("http://{collector_grpc}");
    let agent = skein_agent::start(&config, pipeline.shutdown.clone()).await.expect("agent starts");
    let udp = agent.addresses.compact_udp.unwrap().to_string();
    let sent = run_client("python:jaeger_thrift_udp.py", &["--agent", &udp, "--service", "py-agent"]);
    let docs =
        trace_documents(&config, sent["trace_id"].as_str().unwrap(), sent["span_count"].as_u64().unwrap() as usize)
            .await;
    assert_python_trace(&docs, &sent, true);
    pipeline.stop().await;
    agent.join().await.expect("agent stopped cleanly");
}

fn write_strategies(path: &std::path::Path, rate: f64) {
    let text = format!(
        r#"{{"service_strategies":[{{"service":"skein-e2e-sampled","type":"probabilistic","param":{rate}}}],
            "default_strategy":{{"type":"ratelimiting","param":7}}}}"#
    );
    // Write then rename, as configuration tools do, so the reader never sees half a file.
    let temp = path.with_extension("tmp");
    std::fs::File::create(&temp).unwrap().write_all(text.as_bytes()).unwrap();
    std::fs::rename(&temp, path).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sampling_clients_read_strategies_from_the_file_and_see_it_change() {
    require_servers();
    let dir = std::env::temp_dir().join(format!("skein-e2e-sampling-{}", rand::random::<u32>()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("strategies.json");
    write_strategies(&file, 0.5);
    let mut config = isolated_config("sampling");
    config.collector.sampling_strategies_file = Some(file.to_str().unwrap().into());
    config.collector.sampling_reload_interval_ms = 200;
    let pipeline = Pipeline::start(&config, true, false).await;
    let addresses = pipeline.collector.as_ref().unwrap().addresses;
    config.agent.collector_endpoint = format!("http://{}", addresses.jaeger_grpc.unwrap());
    let agent = skein_agent::start(&config, pipeline.shutdown.clone()).await.expect("agent starts");

    // Go's Jaeger remote sampler (OpenTelemetry contrib) polling the collector's :5778 endpoint.
    let url = format!("http://{}/sampling", addresses.sampling_http.unwrap());
    let seen = run_client(
        "sampling",
        &["--service", "skein-e2e-sampled", "--url", &url, "--expect-rate", "0.5", "--timeout", "20s"],
    );
    assert_eq!(seen["strategy"]["param"], 0.5, "{seen}");

    // A sampler already running sees the file change.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let watcher = std::process::Command::new(root.join("e2e/clients/go/bin/sampling"))
        .args(["--service", "skein-e2e-sampled", "--url", &url, "--interval", "200ms", "--watch"])
        .args(["--expect-rate", "0.25", "--timeout", "30s"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("sampler starts");
    tokio::time::sleep(Duration::from_secs(2)).await;
    write_strategies(&file, 0.25);
    let output = tokio::task::spawn_blocking(move || watcher.wait_with_output()).await.unwrap().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "the running sampler saw the new rate: {stdout}");
    assert!(stdout.contains("\"event\":\"matched\""), "{stdout}");

    // The same strategy over gRPC (SamplingManager) and through the agent's :5778.
    let grpc = run_client(
        "jaeger-grpc",
        &["sampling", "--service", "skein-e2e-sampled", "--addr", &addresses.jaeger_grpc.unwrap().to_string()],
    );
    assert_eq!(grpc["response"]["probabilisticSampling"]["samplingRate"], 0.25, "{grpc}");
    let http = reqwest::Client::new();
    let agent_url = format!("http://{}/sampling?service=skein-e2e-sampled", agent.addresses.sampling_http.unwrap());
    let body: Value = http.get(&agent_url).send().await.unwrap().json().await.unwrap();
    assert_eq!(body, serde_json::json!({"strategyType":"PROBABILISTIC","probabilisticSampling":{"samplingRate":0.25}}));
    let other = format!("http://{}/api/sampling?service=other", addresses.jaeger_thrift_http.unwrap());
    let body: Value = http.get(&other).send().await.unwrap().json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({"strategyType":"RATE_LIMITING","rateLimitingSampling":{"maxTracesPerSecond":7}})
    );
    let legacy = format!("http://{}/?service=other", addresses.sampling_http.unwrap());
    let body: Value = http.get(&legacy).send().await.unwrap().json().await.unwrap();
    assert_eq!(body["strategyType"], 1, "the root path answers the numeric form");

    // A broken file keeps the strategies in force.
    std::fs::write(&file, "{ broken").unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    let body: Value = http.get(&agent_url).send().await.unwrap().json().await.unwrap();
    assert_eq!(body["probabilisticSampling"]["samplingRate"], 0.25);

    for query in ["", "?service=a&service=b", "?svc=a"] {
        for base in [
            format!("http://{}/sampling", addresses.sampling_http.unwrap()),
            format!("http://{}/api/sampling", addresses.jaeger_thrift_http.unwrap()),
        ] {
            let response = http.get(format!("{base}{query}")).send().await.unwrap();
            assert_eq!(response.status(), 400, "{base}{query}");
            assert_eq!(response.text().await.unwrap(), "'service' parameter must be provided once\n");
        }
    }
    pipeline.stop().await;
    agent.join().await.expect("agent stopped cleanly");
    std::fs::remove_dir_all(&dir).unwrap();
}

fn metric(name_and_labels: &[&str]) -> f64 {
    skein_core::telemetry::render_metrics()
        .lines()
        .filter(|line| name_and_labels.iter().all(|part| line.contains(part)))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_input_on_every_receiver_gets_a_clear_error_and_later_input_still_lands() {
    require_servers();
    let config = isolated_config("bad-input");
    let pipeline = Pipeline::start(&config, true, true).await;
    let addresses = pipeline.collector.as_ref().unwrap().addresses;
    let http = reqwest::Client::new();

    let thrift = format!("http://{}/api/traces", addresses.jaeger_thrift_http.unwrap());
    let cases: [(&str, &str, &[u8], u16, &str); 3] = [
        ("application/x-thrift", "garbage", b"\x0c\x00\x01\xff\xff", 400, "Unable to process request body"),
        ("application/x-thrift", "empty batch", b"\x00", 400, "required field 'Batch.process' is missing"),
        ("application/json", "wrong type", b"{}", 415, "Unsupported content type"),
    ];
    for (content_type, what, body, status, message) in cases {
        let response =
            http.post(&thrift).header("content-type", content_type).body(body.to_vec()).send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "thrift {what}");
        let text = response.text().await.unwrap();
        assert!(text.contains(message), "thrift {what}: {text}");
    }

    let zipkin = format!("http://{}/api/v2/spans", addresses.zipkin.unwrap());
    let cases: [(&str, &[u8], u16, &str); 5] = [
        ("application/json", b"[{", 400, "malformed JSON"),
        ("application/json", br#"[{"traceId":"1","id":"2","colour":"red"}]"#, 400, "unknown field `colour`"),
        ("application/json", br#"[{"traceId":"zz","id":"2"}]"#, 400, "traceId 'zz' is not hex"),
        ("application/x-protobuf", b"\x0a\x05\x0a\x03", 400, "malformed proto3"),
        ("text/plain", b"hello", 415, "unsupported Content-Type"),
    ];
    for (content_type, body, status, message) in cases {
        let response =
            http.post(&zipkin).header("content-type", content_type).body(body.to_vec()).send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "zipkin {content_type} {}", String::from_utf8_lossy(body));
        let text = response.text().await.unwrap();
        assert!(text.contains(message), "zipkin: {text}");
    }
    let v1 = format!("http://{}/api/v1/spans", addresses.zipkin.unwrap());
    let response = http.post(&v1).header("content-type", "application/json").body("[]").send().await.unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("/api/v2/spans"));

    // gRPC: ids of the wrong length are INVALID_ARGUMENT with the span named.
    let mut client = grpc_client(addresses.jaeger_grpc.unwrap()).await;
    client.ready().await.unwrap();
    use skein_schemas::jaeger::api_v2::{Batch, PostSpansRequest, PostSpansResponse, Process, Span};
    let request = PostSpansRequest {
        batch: Some(Batch {
            spans: vec![Span { trace_id: vec![1; 16], span_id: vec![1, 2, 3], ..Default::default() }],
            process: Some(Process { service_name: "svc".into(), tags: vec![] }),
        }),
    };
    let status = client
        .unary::<_, PostSpansResponse, _>(
            tonic::Request::new(request),
            http::uri::PathAndQuery::from_static(skein_schemas::jaeger::api_v2::POST_SPANS_PATH),
            tonic_prost::ProstCodec::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(status.message().contains("span_id must be 8 bytes, got 3"), "{}", status.message());

    // UDP: garbage, a truncated datagram, the other port's protocol, an oversize datagram are
    // counted; a good datagram afterwards still lands.
    use skein_schemas::jaeger::model::{
        micros_to_nanos, Batch as JaegerBatch, Process as JaegerProcess, Span as JaegerSpan,
    };
    use skein_schemas::jaeger::thrift::encode_agent_message;
    use skein_schemas::thrift::Protocol;
    let trace_id: [u8; 16] = skein_e2e::random_trace_id();
    let now_us = chrono::Utc::now().timestamp_micros();
    let good = JaegerBatch {
        process: JaegerProcess { service_name: "udp-after-garbage".into(), tags: vec![] },
        spans: vec![JaegerSpan {
            trace_id,
            span_id: 7u64.to_be_bytes(),
            parent_span_id: [0; 8],
            operation_name: "survivor".into(),
            references: vec![],
            flags: 1,
            start_time_unix_nano: micros_to_nanos(now_us),
            duration_nanos: micros_to_nanos(10),
            tags: vec![],
            logs: vec![],
            process: None,
        }],
    };
    let compact = encode_agent_message(&good, Protocol::Compact);
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let target = addresses.jaeger_compact_udp.unwrap();
    let malformed_before = metric(&["skein_udp_datagrams_total", "outcome=\"malformed\""]);
    let too_large_before = metric(&["skein_udp_datagrams_total", "outcome=\"too_large\""]);
    socket.send_to(b"\xde\xad\xbe\xef", target).unwrap();
    socket.send_to(&compact[..compact.len() / 2], target).unwrap();
    socket.send_to(&encode_agent_message(&good, Protocol::Binary), target).unwrap();
    socket.send_to(&vec![0x82u8; 65_001], target).unwrap();
    socket.send_to(&compact, target).unwrap();
    trace_documents(&config, &hex::encode(trace_id), 1).await;
    assert!(metric(&["skein_udp_datagrams_total", "outcome=\"malformed\""]) >= malformed_before + 3.0);
    assert!(metric(&["skein_udp_datagrams_total", "outcome=\"too_large\""]) >= too_large_before + 1.0);
    pipeline.stop().await;
}

/// Every span in the spans topic, as (trace id, span id, name), read from the beginning to the
/// end offsets: what the collector published, whatever the ingester would make of it.
fn spans_in_kafka(config: &SkeinConfig) -> std::collections::BTreeSet<(String, String, String)> {
    use opentelemetry_proto::tonic::trace::v1::TracesData;
    use prost::Message;
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::message::Message as _;
    use rdkafka::{Offset, TopicPartitionList};
    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &config.kafka.brokers)
        .set("group.id", format!("{}-reader", config.kafka.spans_topic))
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer client");
    let topic = &config.kafka.spans_topic;
    let mut assignment = TopicPartitionList::new();
    let mut remaining = 0i64;
    for partition in 0..config.kafka.partitions {
        let (low, high) = consumer.fetch_watermarks(topic, partition, Duration::from_secs(10)).expect("watermarks");
        remaining += high - low;
        assignment.add_partition_offset(topic, partition, Offset::Beginning).unwrap();
    }
    consumer.assign(&assignment).expect("assign");
    let mut spans = std::collections::BTreeSet::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while remaining > 0 {
        assert!(std::time::Instant::now() < deadline, "{remaining} records of {topic} not read in 30 s");
        let Some(message) = consumer.poll(Duration::from_millis(200)) else { continue };
        let message = message.expect("record");
        remaining -= 1;
        let data = TracesData::decode(message.payload().unwrap_or_default()).expect("records are TracesData");
        for span in data.resource_spans.iter().flat_map(|r| &r.scope_spans).flat_map(|s| &s.spans) {
            spans.insert((hex::encode(&span.trace_id), hex::encode(&span.span_id), span.name.clone()));
        }
    }
    spans
}

fn rejected(transport: &str, reason: &str) -> f64 {
    metric(&[
        "skein_collector_spans_rejected_total{",
        &format!("transport=\"{transport}\""),
        &format!("reason=\"{reason}\""),
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn zipkin_publishes_the_readable_spans_of_a_request_and_answers_202_naming_the_dropped_ones() {
    require_servers();
    let config = isolated_config("zipkin-partial");
    let pipeline = Pipeline::start(&config, true, false).await;
    let zipkin = format!("http://{}/api/v2/spans", pipeline.collector.as_ref().unwrap().addresses.zipkin.unwrap());
    let http = reqwest::Client::new();
    let trace = hex::encode(skein_e2e::random_trace_id());
    let now_us = chrono::Utc::now().timestamp_micros();
    let (zero_id_before, bad_trace_before) =
        (rejected("zipkin_json", "invalid_span_id"), rejected("zipkin_json", "invalid_trace_id"));

    // One good span; one whose id is zero (refused by validation); one with a trace id that is not
    // hex and one without any (refused while reading).
    let body = serde_json::json!([
        {"traceId": trace, "id": "0000000000000001", "name": "kept-json", "timestamp": now_us, "duration": 10,
         "localEndpoint": {"serviceName": "zipkin-partial"}},
        {"traceId": trace, "id": "0000000000000000", "name": "zero-id", "timestamp": now_us, "duration": 10,
         "localEndpoint": {"serviceName": "zipkin-partial"}},
        {"traceId": "xyz", "id": "0000000000000003", "name": "bad-trace", "localEndpoint": {"serviceName": "zipkin-bad"}},
        {"id": "0000000000000004", "name": "no-trace"}
    ]);
    let response = http.post(&zipkin).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 202, "the readable span is accepted");
    assert_eq!(response.headers()["skein-rejected-spans"], "3");
    let text = response.text().await.unwrap();
    assert!(text.starts_with("3 of 4 spans rejected: "), "{text}");
    assert!(text.contains("traceId 'xyz' is not hex") && text.contains("traceId is missing"), "{text}");
    assert!(text.contains("\"zero-id\""), "{text}");
    assert!(rejected("zipkin_json", "invalid_span_id") >= zero_id_before + 1.0);
    assert!(rejected("zipkin_json", "invalid_trace_id") >= bad_trace_before + 2.0);

    // proto3: a good span beside one whose trace id is all zeros.
    use prost::Message;
    use skein_schemas::zipkin::proto::{ListOfSpans, ProtoSpan};
    let good = ProtoSpan {
        trace_id: hex::decode(&trace).unwrap(),
        id: 5u64.to_be_bytes().to_vec(),
        name: "kept-proto".into(),
        timestamp: now_us as u64,
        duration: 10,
        ..Default::default()
    };
    let zero_trace = ProtoSpan { trace_id: vec![0; 16], id: 6u64.to_be_bytes().to_vec(), ..good.clone() };
    let body = ListOfSpans { spans: vec![zero_trace, good] }.encode_to_vec();
    let response = http.post(&zipkin).header("content-type", "application/x-protobuf").body(body).send().await.unwrap();
    assert_eq!(response.status(), 202);
    assert_eq!(response.headers()["skein-rejected-spans"], "1");
    assert!(response.text().await.unwrap().contains("span 0: trace_id is all zeros"));

    // Nothing readable: 400, and nothing of it published.
    let body = serde_json::json!([{"traceId": trace, "id": "0000000000000000", "name": "all-bad"}]);
    let response = http.post(&zipkin).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("1 of 1 spans rejected"));

    let expected: std::collections::BTreeSet<_> = [
        (trace.clone(), "0000000000000001".to_string(), "kept-json".to_string()),
        (trace.clone(), "0000000000000005".to_string(), "kept-proto".to_string()),
    ]
    .into();
    assert_eq!(spans_in_kafka(&config), expected, "exactly the readable, valid spans reached Kafka");
    pipeline.stop().await;
}

fn jaeger_span(trace_id: [u8; 16], span_id: u64, name: &str) -> skein_schemas::jaeger::model::Span {
    use skein_schemas::jaeger::model::micros_to_nanos;
    skein_schemas::jaeger::model::Span {
        trace_id,
        span_id: span_id.to_be_bytes(),
        parent_span_id: [0; 8],
        operation_name: name.into(),
        references: vec![],
        flags: 1,
        start_time_unix_nano: micros_to_nanos(chrono::Utc::now().timestamp_micros()),
        duration_nanos: micros_to_nanos(10),
        tags: vec![],
        logs: vec![],
        process: None,
    }
}

fn jaeger_batch(service: &str, spans: Vec<skein_schemas::jaeger::model::Span>) -> skein_schemas::jaeger::model::Batch {
    skein_schemas::jaeger::model::Batch {
        process: skein_schemas::jaeger::model::Process { service_name: service.into(), tags: vec![] },
        spans,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn jaeger_ports_count_and_name_invalid_spans_and_refuse_a_request_with_nothing_valid() {
    use skein_schemas::jaeger::thrift::{encode_agent_message, encode_batch};
    use skein_schemas::thrift::Protocol;
    require_servers();
    let config = isolated_config("jaeger-partial");
    let pipeline = Pipeline::start(&config, true, false).await;
    let addresses = pipeline.collector.as_ref().unwrap().addresses;
    let http = reqwest::Client::new();
    let trace_id = skein_e2e::random_trace_id();
    let trace = hex::encode(trace_id);

    // Thrift over HTTP: a good span and one with a zero span id.
    let thrift = format!("http://{}/api/traces", addresses.jaeger_thrift_http.unwrap());
    let before = rejected("jaeger_thrift_http", "invalid_span_id");
    let batch =
        jaeger_batch("jaeger-partial", vec![jaeger_span(trace_id, 1, "kept-thrift"), jaeger_span(trace_id, 0, "zero")]);
    let response = http
        .post(&thrift)
        .header("content-type", "application/x-thrift")
        .body(encode_batch(&batch, Protocol::Binary))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    assert_eq!(response.headers()["skein-rejected-spans"], "1");
    assert!(response.text().await.unwrap().contains("1 of 2 spans rejected: span \"zero\""));
    assert!(rejected("jaeger_thrift_http", "invalid_span_id") >= before + 1.0);
    let all_bad = jaeger_batch("jaeger-partial", vec![jaeger_span(trace_id, 0, "zero-only")]);
    let response = http
        .post(&thrift)
        .header("content-type", "application/x-thrift")
        .body(encode_batch(&all_bad, Protocol::Binary))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400, "nothing valid: the client is told");
    assert!(response.text().await.unwrap().contains("span \"zero-only\""));

    // gRPC PostSpans: a good span and one without a trace id.
    use skein_schemas::jaeger::api_v2::{Batch, PostSpansRequest, PostSpansResponse, Process, Span, Timestamp};
    let mut client = grpc_client(addresses.jaeger_grpc.unwrap()).await;
    let now = chrono::Utc::now();
    let span = |trace_id: Vec<u8>, id: u64, name: &str| Span {
        trace_id,
        span_id: id.to_be_bytes().to_vec(),
        operation_name: name.into(),
        start_time: Some(Timestamp { seconds: now.timestamp(), nanos: 0 }),
        duration: Some(Timestamp { seconds: 0, nanos: 10_000 }),
        ..Default::default()
    };
    let post = |spans: Vec<Span>| PostSpansRequest {
        batch: Some(Batch { spans, process: Some(Process { service_name: "jaeger-partial".into(), tags: vec![] }) }),
    };
    let before = rejected("jaeger_grpc", "invalid_trace_id");
    client.ready().await.unwrap();
    let response = client
        .unary::<_, PostSpansResponse, _>(
            tonic::Request::new(post(vec![span(trace_id.to_vec(), 2, "kept-grpc"), span(vec![], 3, "no-trace")])),
            http::uri::PathAndQuery::from_static(skein_schemas::jaeger::api_v2::POST_SPANS_PATH),
            tonic_prost::ProstCodec::default(),
        )
        .await
        .expect("the valid span is accepted");
    assert_eq!(response.metadata().get("skein-rejected-spans").unwrap(), "1");
    assert!(rejected("jaeger_grpc", "invalid_trace_id") >= before + 1.0);
    client.ready().await.unwrap();
    let status = client
        .unary::<_, PostSpansResponse, _>(
            tonic::Request::new(post(vec![span(vec![], 4, "no-trace-only")])),
            http::uri::PathAndQuery::from_static(skein_schemas::jaeger::api_v2::POST_SPANS_PATH),
            tonic_prost::ProstCodec::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(status.message().contains("span \"no-trace-only\""), "{}", status.message());

    // Agent UDP: no answer, so counted by reason beside the good span that lands.
    let before = rejected("jaeger_udp_compact", "invalid_span_id");
    let batch = jaeger_batch(
        "jaeger-partial",
        vec![jaeger_span(trace_id, 7, "kept-udp"), jaeger_span(trace_id, 0, "zero-udp")],
    );
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.send_to(&encode_agent_message(&batch, Protocol::Compact), addresses.jaeger_compact_udp.unwrap()).unwrap();
    skein_e2e::wait_until("the UDP span's refusal is counted", Duration::from_secs(10), || async {
        rejected("jaeger_udp_compact", "invalid_span_id") >= before + 1.0
    })
    .await;

    let expected: std::collections::BTreeSet<_> = [
        (trace.clone(), format!("{:016x}", 1), "kept-thrift".to_string()),
        (trace.clone(), format!("{:016x}", 2), "kept-grpc".to_string()),
        (trace.clone(), format!("{:016x}", 7), "kept-udp".to_string()),
    ]
    .into();
    skein_e2e::wait_until("the UDP span is in Kafka", Duration::from_secs(10), || async {
        spans_in_kafka(&config).len() >= 3
    })
    .await;
    assert_eq!(spans_in_kafka(&config), expected, "exactly the valid spans reached Kafka");
    pipeline.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn zipkin_and_jaeger_ports_refuse_spans_outside_the_time_bounds_as_they_refuse_invalid_ones() {
    use skein_schemas::jaeger::model::micros_to_nanos;
    use skein_schemas::jaeger::thrift::encode_batch;
    use skein_schemas::thrift::Protocol;
    require_servers();
    let mut config = isolated_config("bounds-ports");
    let defaults = skein_core::config::CollectorConfig::default();
    (config.collector.max_span_age_ms, config.collector.max_span_future_ms) =
        (defaults.max_span_age_ms, defaults.max_span_future_ms);
    let pipeline = Pipeline::start(&config, true, false).await;
    let addresses = pipeline.collector.as_ref().unwrap().addresses;
    let http = reqwest::Client::new();
    let trace_id = skein_e2e::random_trace_id();
    let trace = hex::encode(trace_id);
    let now_us = chrono::Utc::now().timestamp_micros();
    let (week_us, hour_us) = (7 * 86_400_000_000i64, 3_600_000_000i64);

    // Zipkin: a span of now, one started 8 days ago, one starting in 2 hours.
    let zipkin = format!("http://{}/api/v2/spans", addresses.zipkin.unwrap());
    let (old_before, future_before) =
        (rejected("zipkin_json", "too_old"), rejected("zipkin_json", "too_far_in_future"));
    let zipkin_span = |id: &str, name: &str, timestamp: i64| {
        serde_json::json!({"traceId": trace, "id": id, "name": name, "timestamp": timestamp, "duration": 10,
                           "localEndpoint": {"serviceName": "bounds-ports"}})
    };
    let body = serde_json::json!([
        zipkin_span("0000000000000001", "kept-zipkin", now_us),
        zipkin_span("0000000000000002", "last-week", now_us - week_us - 86_400_000_000),
        zipkin_span("0000000000000003", "later", now_us + 2 * hour_us),
    ]);
    let response = http.post(&zipkin).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 202, "the span of now is accepted");
    assert_eq!(response.headers()["skein-rejected-spans"], "2");
    let text = response.text().await.unwrap();
    assert!(text.starts_with("2 of 3 spans rejected: "), "{text}");
    assert!(text.contains(&format!("span 0000000000000002 of trace {trace} starts at")), "{text}");
    assert!(text.contains("collector.max_span_age_ms (604800000 ms)"), "{text}");
    assert!(text.contains(&format!("span 0000000000000003 of trace {trace} starts at")), "{text}");
    assert!(text.contains("collector.max_span_future_ms (3600000 ms)"), "{text}");
    assert!(rejected("zipkin_json", "too_old") >= old_before + 1.0);
    assert!(rejected("zipkin_json", "too_far_in_future") >= future_before + 1.0);
    let body = serde_json::json!([zipkin_span("0000000000000004", "only-old", now_us - 2 * week_us)]);
    let response = http.post(&zipkin).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 400, "nothing within the bounds: the client is told");
    assert!(response.text().await.unwrap().contains("collector.max_span_age_ms"));

    // Jaeger Thrift over HTTP: a span of now and one 8 days old.
    let thrift = format!("http://{}/api/traces", addresses.jaeger_thrift_http.unwrap());
    let before = rejected("jaeger_thrift_http", "too_old");
    let mut old = jaeger_span(trace_id, 6, "last-week-thrift");
    old.start_time_unix_nano = micros_to_nanos(now_us - week_us - 86_400_000_000);
    let batch = jaeger_batch("bounds-ports", vec![jaeger_span(trace_id, 5, "kept-thrift"), old]);
    let response = http
        .post(&thrift)
        .header("content-type", "application/x-thrift")
        .body(encode_batch(&batch, Protocol::Binary))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    assert_eq!(response.headers()["skein-rejected-spans"], "1");
    let text = response.text().await.unwrap();
    assert!(text.contains("span 0000000000000006 of trace") && text.contains("max_span_age_ms"), "{text}");
    assert!(rejected("jaeger_thrift_http", "too_old") >= before + 1.0);

    let expected: std::collections::BTreeSet<_> = [
        (trace.clone(), format!("{:016x}", 1), "kept-zipkin".to_string()),
        (trace.clone(), format!("{:016x}", 5), "kept-thrift".to_string()),
    ]
    .into();
    assert_eq!(spans_in_kafka(&config), expected, "exactly the spans within the bounds reached Kafka");
    pipeline.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn python_zipkin_exporters_batch_with_an_invalid_span_still_delivers_every_valid_one() {
    require_servers();
    let config = isolated_config("zipkin-invalid");
    let pipeline = Pipeline::start(&config, true, true).await;
    let zipkin = pipeline.collector.as_ref().unwrap().addresses.zipkin.unwrap();
    let endpoint = format!("http://{zipkin}/api/v2/spans");
    for (encoding, transport) in [("json", "zipkin_json"), ("proto", "zipkin_proto")] {
        let before = rejected(transport, "invalid_trace_id");
        // The exporter sends the trace and a span with an all-zero trace id in one POST; it
        // reports success (run_client checks) only when the answer is 2xx.
        let service = format!("py-zipkin-invalid-{encoding}");
        let sent = run_client(
            "python:zipkin_send.py",
            &["--encoding", encoding, "--endpoint", &endpoint, "--service", &service, "--invalid-span"],
        );
        assert_eq!(sent["invalid_span_sent"], true);
        let docs =
            trace_documents(&config, sent["trace_id"].as_str().unwrap(), sent["span_count"].as_u64().unwrap() as usize)
                .await;
        assert_python_trace(&docs, &sent, false);
        assert!(rejected(transport, "invalid_trace_id") >= before + 1.0, "{transport}: the invalid span is counted");
    }
    pipeline.stop().await;
}

/// A raw gRPC client of the collector's Jaeger api_v2 port.
async fn grpc_client(addr: std::net::SocketAddr) -> tonic::client::Grpc<tonic::transport::Channel> {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}")).unwrap().connect().await.unwrap();
    tonic::client::Grpc::new(channel)
}
