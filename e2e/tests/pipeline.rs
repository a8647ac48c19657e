//! End-to-end behaviour of collector → Kafka → ingester → Elasticsearch, on the real servers.

use std::collections::HashSet;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use prost::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use skein_e2e::*;
use skein_schemas::dlq;

const WAIT: Duration = Duration::from_secs(90);

/// What every role's start-up log names: the product and version behind `elasticsearch.url`,
/// Elasticsearch (whose integ-test build refuses `GET /`) or OpenSearch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_search_backend_is_identified_as_the_product_and_version_that_answer() {
    require_servers();
    let backend = backend().await;
    let expected = match BACKEND {
        "opensearch" => skein_core::elasticsearch::Product::OpenSearch,
        _ => skein_core::elasticsearch::Product::Elasticsearch,
    };
    assert_eq!(backend.product, expected, "{ELASTICSEARCH} answered as {backend}");
    assert!(backend.major() > 0, "the version is known: {backend}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_grpc_http_protobuf_and_http_json_spans_land_in_elasticsearch_as_jaeger_documents() {
    require_servers();
    let config = isolated_config("ingest");
    let pipeline = Pipeline::start(&config, true, true).await;
    let es = Es::default();
    let names = skein_schemas::elasticsearch::IndexNames::new(&config.elasticsearch.index_prefix);

    // gRPC: a root span and two children.
    let grpc_trace = random_trace_id();
    let root = span(grpc_trace, 1, None, "GET /checkout");
    let child = span(grpc_trace, 2, Some(1), "SELECT orders");
    let other_child = span(grpc_trace, 3, Some(1), "POST /pay");
    let mut client = TraceServiceClient::connect(pipeline.grpc_endpoint()).await.expect("gRPC connects");
    let response =
        client.export(request("frontend", vec![root, child, other_child])).await.expect("gRPC export accepted");
    assert_eq!(response.into_inner().partial_success, None, "nothing rejected");

    // HTTP protobuf, gzip-compressed.
    let http = reqwest::Client::new();
    let proto_trace = random_trace_id();
    let body =
        request("backend", vec![span(proto_trace, 10, None, "consume"), span(proto_trace, 11, Some(10), "store")])
            .encode_to_vec();
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gzip, &body).unwrap();
    let response = http
        .post(pipeline.http_url())
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "gzip")
        .body(gzip.finish().unwrap())
        .send()
        .await
        .expect("HTTP protobuf answered");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/x-protobuf");

    // HTTP JSON, as an SDK writes it.
    let json = r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"json-svc"}},
        {"key":"host.name","value":{"stringValue":"box-1"}}]},"scopeSpans":[{"scope":{"name":"js","version":"2"},"spans":[
        {"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","parentSpanId":"00f067aa0ba902b7","name":"GET /x",
         "kind":2,"startTimeUnixNano":"1700000000123456789","endTimeUnixNano":"1700000000125956789",
         "attributes":[{"key":"http.status_code","value":{"intValue":"500"}}],"status":{"code":2,"message":"boom"}},
        {"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"00f067aa0ba902b7","name":"root","kind":1,
         "startTimeUnixNano":"1700000000100000000","endTimeUnixNano":"1700000000200000000"}]}]}]}"#;
    let response = http
        .post(pipeline.http_url())
        .header("content-type", "application/json")
        .body(json)
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "{}");

    let pattern = names.span_pattern();
    wait_until("7 span documents", WAIT, || async { es.count(&pattern).await >= 7 }).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let documents = es.documents(&pattern).await;
    assert_eq!(documents.len(), 7, "exactly the spans sent, no duplicates");
    let ids: HashSet<_> = documents.iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(ids.len(), 7);

    // One known span, field by field, against Jaeger's layout.
    let (id, doc) = documents.iter().find(|(_, d)| d["spanID"] == "b7ad6b7169203331").expect("JSON span indexed");
    assert!(id.starts_with("0af7651916cd43dd8448eb211c80319c_b7ad6b7169203331_"));
    let expected = serde_json::json!({
        "traceID": "0af7651916cd43dd8448eb211c80319c",
        "spanID": "b7ad6b7169203331",
        "parentSpanID": "00f067aa0ba902b7",
        "operationName": "GET /x",
        "references": [{"refType": "CHILD_OF", "traceID": "0af7651916cd43dd8448eb211c80319c", "spanID": "00f067aa0ba902b7"}],
        "startTime": 1700000000123456u64,
        "startTimeMillis": 1700000000123u64,
        "duration": 2500,
        "tags": [
            {"key": "otel.scope.name", "type": "string", "value": "js"},
            {"key": "otel.scope.version", "type": "string", "value": "2"},
            {"key": "http.status_code", "type": "int64", "value": 500},
            {"key": "otel.status_description", "type": "string", "value": "boom"}
        ],
        "tag": {"error": true, "span@kind": "server"},
        "logs": null,
        "process": {"serviceName": "json-svc", "tags": [{"key": "host.name", "type": "string", "value": "box-1"}]}
    });
    assert_eq!(doc, &expected);
    let index_of_json_span = names.span_index(1_700_000_000_123_456);
    assert_eq!(index_of_json_span, format!("{}-jaeger-span-2023-11-14", config.elasticsearch.index_prefix));

    // The gRPC child carries its parent as CHILD_OF.
    let child_doc = &documents.iter().find(|(_, d)| d["operationName"] == "SELECT orders").unwrap().1;
    assert_eq!(child_doc["process"]["serviceName"], "frontend");
    assert_eq!(child_doc["references"][0]["refType"], "CHILD_OF");
    assert_eq!(child_doc["references"][0]["spanID"], format!("{:016x}", 1));

    // Service documents: one per (service, operation).
    let service_pattern = names.service_pattern();
    wait_until("7 service documents", WAIT, || async { es.count(&service_pattern).await >= 7 }).await;
    let services = es.documents(&service_pattern).await;
    assert!(services
        .iter()
        .any(|(_, d)| d == &serde_json::json!({"serviceName": "json-svc", "operationName": "GET /x"})));

    pipeline.stop().await;
    es.delete(&format!("{}-*", config.elasticsearch.index_prefix)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_resets_offsets_and_reindexing_overwrites_instead_of_duplicating() {
    require_servers();
    let config = isolated_config("replay");
    let es = Es::default();
    let pattern = skein_schemas::elasticsearch::IndexNames::new(&config.elasticsearch.index_prefix).span_pattern();
    let pipeline = Pipeline::start(&config, true, true).await;
    let mut client = TraceServiceClient::connect(pipeline.grpc_endpoint()).await.unwrap();
    let mut sent = 0;
    for _ in 0..10 {
        let trace = random_trace_id();
        let spans = (1..=5).map(|i| span(trace, i, (i > 1).then_some(1), "op")).collect();
        client.export(request("replayed", spans)).await.expect("accepted");
        sent += 5;
    }
    wait_until("all spans indexed", WAIT, || async { es.count(&pattern).await == sent }).await;
    let end = topic_end_total(&config, &config.kafka.spans_topic);
    wait_until("offsets committed to the end", WAIT, || async { committed_total(&config) == end }).await;
    pipeline.stop().await;

    let offsets = skein_ingester::replay::reset_offsets(
        &config.kafka,
        &config.ingester.group_id,
        &config.kafka.spans_topic,
        skein_ingester::replay::ReplayTarget::Earliest,
    )
    .expect("replay resets an idle group");
    assert!(offsets.iter().all(|(_, offset)| *offset == 0));
    assert_eq!(committed_total(&config), 0);

    let ingester = Pipeline::start(&config, false, true).await;
    wait_until("group re-read everything", WAIT, || async { committed_total(&config) == end }).await;
    // While an ingester of the group is live, a replay is refused.
    let refused = skein_ingester::replay::reset_offsets(
        &config.kafka,
        &config.ingester.group_id,
        &config.kafka.spans_topic,
        skein_ingester::replay::ReplayTarget::Earliest,
    );
    assert!(
        matches!(refused, Err(skein_ingester::replay::ReplayError::GroupActive { members: 1, .. })),
        "replay must refuse while an ingester runs: {refused:?}"
    );
    assert_eq!(es.count(&pattern).await, sent, "replay overwrote; no duplicates");
    ingester.stop().await;

    // --to-offset clamps to what each partition holds; --to-timestamp after the last record is the end.
    let reset = |target| {
        skein_ingester::replay::reset_offsets(
            &config.kafka,
            &config.ingester.group_id,
            &config.kafka.spans_topic,
            target,
        )
        .expect("idle group resets")
    };
    let high: Vec<i64> = (0..config.kafka.partitions).map(|p| partition_end(&config, p)).collect();
    for (partition, offset) in reset(skein_ingester::replay::ReplayTarget::Offset(1)) {
        assert_eq!(offset, high[partition as usize].min(1), "partition {partition}");
    }
    let future = chrono::Utc::now().timestamp_millis() + 3_600_000;
    for (partition, offset) in reset(skein_ingester::replay::ReplayTarget::Timestamp(future)) {
        assert_eq!(offset, high[partition as usize], "partition {partition}");
    }
    assert_eq!(committed_total(&config), end);
    es.delete(&format!("{}-*", config.elasticsearch.index_prefix)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_record_is_dead_lettered_and_later_records_are_indexed() {
    require_servers();
    let config = isolated_config("poison");
    let es = Es::default();
    let pattern = skein_schemas::elasticsearch::IndexNames::new(&config.elasticsearch.index_prefix).span_pattern();
    skein_core::kafka::ensure_topics(&config.kafka).await.expect("topics");
    let pipeline = Pipeline::start(&config, false, true).await;

    let producer: FutureProducer =
        rdkafka::ClientConfig::new().set("bootstrap.servers", &config.kafka.brokers).create().unwrap();
    // All to partition 0 so the good record comes after the poison in the same partition.
    let poison = FutureRecord::to(&config.kafka.spans_topic)
        .key("poison")
        .payload(b"\xff\x00 not a protobuf".as_slice())
        .partition(0);
    let poison_offset = producer.send(poison, Duration::from_secs(10)).await.expect("poison produced").offset;
    let trace = random_trace_id();
    let good = skein_schemas::kafka_record::records_for_otlp(
        request("after-poison", vec![span(trace, 1, None, "fine")]),
        1 << 20,
    )
    .0;
    let good = &good[0];
    let record = FutureRecord::to(&config.kafka.spans_topic).key(&good.key).payload(&good.value).partition(0);
    producer.send(record, Duration::from_secs(10)).await.expect("good record produced");

    wait_until("the good record indexed", WAIT, || async { es.count(&pattern).await == 1 }).await;

    let (key, value, headers) = first_dead_letter(&config).await;
    assert_eq!(value.as_deref(), Some(b"\xff\x00 not a protobuf".as_slice()), "original value kept");
    assert_eq!(key.as_deref(), Some(b"poison".as_slice()));
    assert!(headers[dlq::ERROR_HEADER].contains("protobuf"), "{headers:?}");
    assert_eq!(headers[dlq::ERROR_KIND_HEADER], "decode");
    assert_eq!(headers[dlq::ORIGIN_TOPIC_HEADER], config.kafka.spans_topic);
    assert_eq!(headers[dlq::ORIGIN_PARTITION_HEADER], "0");
    assert_eq!(headers[dlq::ORIGIN_OFFSET_HEADER], poison_offset.to_string());

    let end = topic_end_total(&config, &config.kafka.spans_topic);
    wait_until("offsets committed past the poison", WAIT, || async { committed_total(&config) == end }).await;
    pipeline.stop().await;
    es.delete(&format!("{}-*", config.elasticsearch.index_prefix)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_inputs_are_refused_with_status_and_message() {
    require_servers();
    let mut config = isolated_config("invalid");
    config.collector.max_request_bytes = 64 * 1024;
    let pipeline = Pipeline::start(&config, true, false).await;
    let http = reqwest::Client::new();
    let url = pipeline.http_url();

    // Bad ids: every span invalid → 400 naming the problem.
    let mut bad = span(random_trace_id(), 1, None, "bad");
    bad.trace_id = vec![0; 16];
    let response = http
        .post(&url)
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&request("svc", vec![bad.clone()])).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("trace id"), "{body}");

    // Some valid, some not → 200 with partial_success.
    let good = span(random_trace_id(), 2, None, "good");
    let response = http
        .post(&url)
        .header("content-type", "application/x-protobuf")
        .body(request("svc", vec![bad.clone(), good]).encode_to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let decoded = opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse::decode(
        response.bytes().await.unwrap(),
    )
    .unwrap();
    let partial = decoded.partial_success.expect("partial success reported");
    assert_eq!(partial.rejected_spans, 1);
    assert!(partial.error_message.contains("16 bytes"));

    // Malformed protobuf → 400 with a google.rpc.Status body.
    let response = http
        .post(&url)
        .header("content-type", "application/x-protobuf")
        .body(vec![0xff, 0xff, 0xff])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let status = tonic_types_status(&response.bytes().await.unwrap());
    assert!(status.contains("protobuf"), "{status}");

    // Malformed JSON → 400.
    let response =
        http.post(&url).header("content-type", "application/json").body("{\"resourceSpans\":").send().await.unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("JSON"));

    // Oversize body → 413.
    let response = http
        .post(&url)
        .header("content-type", "application/x-protobuf")
        .body(vec![0u8; 100 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    assert!(response.text().await.unwrap().contains("max_request_bytes"));

    // Wrong content type → 415.
    let response = http.post(&url).header("content-type", "text/plain").body("hello").send().await.unwrap();
    assert_eq!(response.status(), 415);
    assert!(response.text().await.unwrap().contains("text/plain"));

    // gRPC with bad ids → INVALID_ARGUMENT with the reason.
    let mut client = TraceServiceClient::connect(pipeline.grpc_endpoint()).await.unwrap();
    let status = client.export(request("svc", vec![bad])).await.expect_err("refused");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(status.message().contains("trace id"));

    pipeline.stop().await;
}

const DAY_NS: u64 = 86_400_000_000_000;

fn now_ns() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
}

/// A span of `trace` starting at `start_ns`, lasting a millisecond.
fn span_at(trace: [u8; 16], id: u64, name: &str, start_ns: u64) -> opentelemetry_proto::tonic::trace::v1::Span {
    let mut span = span(trace, id, None, name);
    (span.start_time_unix_nano, span.end_time_unix_nano) = (start_ns, start_ns + 1_000_000);
    span
}

fn spans_rejected(transport: &str, reason: &str) -> f64 {
    skein_core::telemetry::render_metrics()
        .lines()
        .filter(|line| line.starts_with("skein_collector_spans_rejected_total{"))
        .filter(|line| line.contains(&format!("transport=\"{transport}\"")))
        .filter(|line| line.contains(&format!("reason=\"{reason}\"")))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_refuses_spans_outside_the_time_bounds_naming_them_in_partial_success() {
    require_servers();
    let mut config = isolated_config("bounds");
    let defaults = skein_core::config::CollectorConfig::default();
    (config.collector.max_span_age_ms, config.collector.max_span_future_ms) =
        (defaults.max_span_age_ms, defaults.max_span_future_ms);
    let pipeline = Pipeline::start(&config, true, true).await;
    let es = Es::default();
    let pattern = skein_schemas::elasticsearch::IndexNames::new(&config.elasticsearch.index_prefix).span_pattern();
    let http = reqwest::Client::new();
    let mut grpc = TraceServiceClient::connect(pipeline.grpc_endpoint()).await.unwrap();

    // On each OTLP transport: one span of now, one 8 days old, one 2 hours ahead.
    let transports = ["otlp_grpc", "otlp_http_protobuf", "otlp_http_json"];
    for transport in transports {
        let (old_before, future_before) =
            (spans_rejected(transport, "too_old"), spans_rejected(transport, "too_far_in_future"));
        let trace = random_trace_id();
        let now = now_ns();
        let body = request(
            "bounded",
            vec![
                span_at(trace, 1, "now", now),
                span_at(trace, 2, "last-week", now - 8 * DAY_NS),
                span_at(trace, 3, "later", now + 2 * 3_600_000_000_000),
            ],
        );
        let partial = match transport {
            "otlp_grpc" => grpc.export(body).await.expect("the span of now is accepted").into_inner().partial_success,
            "otlp_http_protobuf" => {
                let response = http
                    .post(pipeline.http_url())
                    .header("content-type", "application/x-protobuf")
                    .body(body.encode_to_vec())
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 200);
                opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse::decode(
                    response.bytes().await.unwrap(),
                )
                .unwrap()
                .partial_success
            }
            _ => {
                let response = http.post(pipeline.http_url()).json(&body).send().await.unwrap();
                assert_eq!(response.status(), 200);
                let answer: serde_json::Value = response.json().await.unwrap();
                let partial = &answer["partialSuccess"];
                Some(opentelemetry_proto::tonic::collector::trace::v1::ExportTracePartialSuccess {
                    rejected_spans: partial["rejectedSpans"].as_str().unwrap().parse().unwrap(),
                    error_message: partial["errorMessage"].as_str().unwrap().to_string(),
                })
            }
        };
        let partial = partial.unwrap_or_else(|| panic!("{transport}: partial success reported"));
        assert_eq!(partial.rejected_spans, 2, "{transport}");
        let message = &partial.error_message;
        let trace_hex = hex::encode(trace);
        assert!(message.starts_with("2 of 3 spans rejected: "), "{transport}: {message}");
        assert!(
            message.contains(&format!("span {:016x} of trace {trace_hex} starts at", 2))
                && message.contains("more than collector.max_span_age_ms (604800000 ms) before the collector's clock"),
            "{transport}: {message}"
        );
        assert!(
            message.contains(&format!("span {:016x} of trace {trace_hex} starts at", 3))
                && message.contains("more than collector.max_span_future_ms (3600000 ms) after the collector's clock"),
            "{transport}: {message}"
        );
        assert!(spans_rejected(transport, "too_old") >= old_before + 1.0, "{transport}");
        assert!(spans_rejected(transport, "too_far_in_future") >= future_before + 1.0, "{transport}");
    }

    // Nothing within the bounds: the request is refused whole.
    let status =
        grpc.export(request("bounded", vec![span_at(random_trace_id(), 4, "ancient", 1_000)])).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(status.message().contains("collector.max_span_age_ms"), "{}", status.message());

    let kept = transports.len() as u64;
    wait_until("the spans of now indexed", WAIT, || async { es.count(&pattern).await == kept }).await;
    let stored = es.documents(&pattern).await;
    assert!(stored.iter().all(|(_, doc)| doc["operationName"] == "now"), "only the spans of now: {stored:?}");
    pipeline.stop().await;
    es.delete(&format!("{}-*", config.elasticsearch.index_prefix)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_older_than_the_collectors_bound_put_straight_on_the_topic_is_stored() {
    require_servers();
    let mut config = isolated_config("old-record");
    config.collector.max_span_age_ms = skein_core::config::CollectorConfig::default().max_span_age_ms;
    let pipeline = Pipeline::start(&config, true, true).await;
    let es = Es::default();
    let names = skein_schemas::elasticsearch::IndexNames::new(&config.elasticsearch.index_prefix);
    let month_ago = now_ns() - 30 * DAY_NS;
    let old = request("replayed", vec![span_at(random_trace_id(), 1, "from-last-month", month_ago)]);

    // The collector refuses it on receipt ...
    let mut grpc = TraceServiceClient::connect(pipeline.grpc_endpoint()).await.unwrap();
    let status = grpc.export(old.clone()).await.expect_err("a month-old span is refused on receipt");
    assert!(status.message().contains("collector.max_span_age_ms"), "{}", status.message());

    // ... but the same span as a record already in Kafka (a replay, a backfill) is indexed.
    let records = skein_schemas::kafka_record::records_for_otlp(old, 1 << 20).0;
    let producer: FutureProducer =
        rdkafka::ClientConfig::new().set("bootstrap.servers", &config.kafka.brokers).create().unwrap();
    let record = FutureRecord::to(&config.kafka.spans_topic).key(&records[0].key).payload(&records[0].value);
    producer.send(record, Duration::from_secs(10)).await.expect("old record produced");
    let index = names.span_index(month_ago / 1_000);
    wait_until("the old record indexed in its day's index", WAIT, || async { es.count(&index).await == 1 }).await;
    let stored = es.documents(&index).await;
    assert_eq!(stored[0].1["operationName"], "from-last-month");
    pipeline.stop().await;
    es.delete(&format!("{}-*", config.elasticsearch.index_prefix)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_indexed_again_under_the_other_trace_id_format_overwrites_its_documents() {
    require_servers();
    let mut config = isolated_config("id-format");
    config.elasticsearch.trace_id_format = skein_schemas::jaeger::TraceIdFormat::Short;
    let es = Es::default();
    let pattern = skein_schemas::elasticsearch::IndexNames::new(&config.elasticsearch.index_prefix).span_pattern();
    // A 64-bit trace id: the one whose `traceID` the two formats write differently.
    let mut trace = [0u8; 16];
    trace[8..].copy_from_slice(&random_trace_id()[8..]);
    let spans = (1..=3).map(|i| span(trace, i, (i > 1).then_some(1), "op")).collect();
    let pipeline = Pipeline::start(&config, true, true).await;
    let mut client = TraceServiceClient::connect(pipeline.grpc_endpoint()).await.unwrap();
    client.export(request("reformatted", spans)).await.expect("accepted");
    wait_until("the spans indexed", WAIT, || async { es.count(&pattern).await == 3 }).await;
    let end = topic_end_total(&config, &config.kafka.spans_topic);
    wait_until("offsets committed to the end", WAIT, || async { committed_total(&config) == end }).await;
    pipeline.stop().await;
    let short_id = hex::encode(&trace[8..]);
    assert!(es.documents(&pattern).await.iter().all(|(_, doc)| doc["traceID"] == short_id.as_str()));

    // The same records read again, rendered in the other form: the documents are replaced.
    skein_ingester::replay::reset_offsets(
        &config.kafka,
        &config.ingester.group_id,
        &config.kafka.spans_topic,
        skein_ingester::replay::ReplayTarget::Earliest,
    )
    .expect("replay resets an idle group");
    config.elasticsearch.trace_id_format = skein_schemas::jaeger::TraceIdFormat::Full;
    let ingester = Pipeline::start(&config, false, true).await;
    wait_until("group re-read everything", WAIT, || async { committed_total(&config) == end }).await;
    let full_id = hex::encode(trace);
    wait_until("the documents rewritten in the full form", WAIT, || async {
        let documents = es.documents(&pattern).await;
        documents.iter().all(|(_, doc)| doc["traceID"] == full_id.as_str())
    })
    .await;
    assert_eq!(es.count(&pattern).await, 3, "overwritten, not duplicated");
    ingester.stop().await;
    es.delete(&format!("{}-*", config.elasticsearch.index_prefix)).await;
}

fn tonic_types_status(bytes: &[u8]) -> String {
    // google.rpc.Status: field 2 is the message; decode just that, as a client would.
    #[derive(Clone, PartialEq, prost::Message)]
    struct Status {
        #[prost(int32, tag = "1")]
        code: i32,
        #[prost(string, tag = "2")]
        message: String,
    }
    let status = Status::decode(bytes).expect("body is a google.rpc.Status");
    assert_eq!(status.code, 3, "INVALID_ARGUMENT");
    status.message
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_above_max_record_size_is_split_and_fully_indexed() {
    require_servers();
    let mut config = isolated_config("split");
    config.collector.max_record_bytes = 8 * 1024;
    let es = Es::default();
    let pattern = skein_schemas::elasticsearch::IndexNames::new(&config.elasticsearch.index_prefix).span_pattern();
    let pipeline = Pipeline::start(&config, true, true).await;
    let trace = random_trace_id();
    let spans: Vec<_> = (1..=40)
        .map(|i| {
            let mut s = span(trace, i, (i > 1).then_some(1), "chunky");
            s.attributes.push(attr("payload", &"x".repeat(1000)));
            s
        })
        .collect();
    let mut client = TraceServiceClient::connect(pipeline.grpc_endpoint()).await.unwrap();
    let response = client.export(request("big", spans)).await.expect("accepted").into_inner();
    assert_eq!(response.partial_success, None);
    let records = topic_end_total(&config, &config.kafka.spans_topic);
    assert!(records >= 5, "40 KB trace in 8 KB records needs at least 5 records, got {records}");
    wait_until("all 40 spans indexed", WAIT, || async { es.count(&pattern).await == 40 }).await;

    // A single span above the limit is refused with the reason; the request had nothing else.
    let mut huge = span(trace, 99, Some(1), "huge");
    huge.attributes.push(attr("payload", &"y".repeat(20_000)));
    let status = client.export(request("big", vec![huge])).await.expect_err("oversize span refused");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(status.message().contains("max_record_bytes"), "{}", status.message());
    pipeline.stop().await;
    es.delete(&format!("{}-*", config.elasticsearch.index_prefix)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn document_refused_by_elasticsearch_mapping_is_dead_lettered_and_the_partition_keeps_flowing() {
    require_servers();
    let config = isolated_config("mapping");
    let es = Es::default();
    let names = skein_schemas::elasticsearch::IndexNames::new(&config.elasticsearch.index_prefix);
    // An index for 2023-11-14 whose operationName is numeric: a span named "checkout" can never go in.
    let conflicting = names.span_index(1_700_000_000_000_000);
    let created = reqwest::Client::new()
        .put(format!("{ELASTICSEARCH}/{conflicting}"))
        .json(&serde_json::json!({
            "settings": {"number_of_replicas": 0},
            "mappings": {"properties": {"operationName": {"type": "long"}}}
        }))
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success(), "{}", created.text().await.unwrap());

    let pipeline = Pipeline::start(&config, true, true).await;
    let mut client = TraceServiceClient::connect(pipeline.grpc_endpoint()).await.unwrap();
    let trace = random_trace_id();
    client.export(request("mapping", vec![span(trace, 1, None, "checkout")])).await.expect("accepted by the collector");
    // Same trace key (same partition), a day later: indexable.
    let mut later = span(trace, 2, Some(1), "refund");
    later.start_time_unix_nano += 86_400 * 1_000_000_000;
    later.end_time_unix_nano += 86_400 * 1_000_000_000;
    client.export(request("mapping", vec![later])).await.expect("accepted");

    let next_day = names.span_index(1_700_086_400_000_000);
    wait_until("the later span indexed", WAIT, || async { es.count(&next_day).await == 1 }).await;
    let end = topic_end_total(&config, &config.kafka.spans_topic);
    wait_until("offsets committed past the refused record", WAIT, || async { committed_total(&config) == end }).await;
    assert_eq!(topic_end_total(&config, &config.kafka.dlq_topic), 1, "one dead letter");
    assert_eq!(es.count(&conflicting).await, 0);

    let (_, value, headers) = first_dead_letter(&config).await;
    assert_eq!(headers[dlq::ERROR_KIND_HEADER], "rejected");
    let error = &headers[dlq::ERROR_HEADER];
    assert!(error.contains("HTTP 400") && error.contains("operationName"), "{error}");
    let value = skein_schemas::kafka_record::decode_record(None, &value.unwrap()).expect("original record kept");
    assert_eq!(value.resource_spans[0].scope_spans[0].spans[0].name, "checkout");
    pipeline.stop().await;
    es.delete(&format!("{}-*", config.elasticsearch.index_prefix)).await;
}

/// Send one single-span trace per service name; returns how many spans went.
async fn send_traces(pipeline: &Pipeline, services: &[&str]) -> u64 {
    let mut client = TraceServiceClient::connect(pipeline.grpc_endpoint()).await.expect("gRPC connects");
    for service in services {
        client.export(request(service, vec![span(random_trace_id(), 1, None, "op")])).await.expect("accepted");
    }
    services.len() as u64
}

/// The value of a metric line of this process's `/metrics`, if it is there.
fn metric(line_start: &str) -> Option<f64> {
    skein_core::telemetry::render_metrics().lines().find_map(|line| line.strip_prefix(line_start)?.trim().parse().ok())
}

async fn set_index_settings(index: &str, settings: serde_json::Value) {
    let answer =
        reqwest::Client::new().put(format!("{ELASTICSEARCH}/{index}/_settings")).json(&settings).send().await.unwrap();
    assert!(answer.status().is_success(), "{}", answer.text().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_elasticsearch_denies_wait_uncommitted_while_unready_and_are_written_once_when_allowed() {
    require_servers();
    let config = isolated_config("denied");
    let es = Es::default();
    let names = skein_schemas::elasticsearch::IndexNames::new(&config.elasticsearch.index_prefix);
    // The day index of the test spans, with a write block: every span item is denied (403).
    let blocked = names.span_index(1_700_000_000_000_000);
    let created = reqwest::Client::new()
        .put(format!("{ELASTICSEARCH}/{blocked}"))
        .json(&serde_json::json!({"settings": {"number_of_replicas": 0, "index.blocks.write": true}}))
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success(), "{}", created.text().await.unwrap());

    let pipeline = Pipeline::start(&config, true, true).await;
    let ingester = pipeline.ingester.as_ref().unwrap().readiness.clone();
    let sent = send_traces(&pipeline, &["denied-a", "denied-b", "denied-c", "denied-d"]).await;
    wait_until("the ingester unready while writes are denied", WAIT, || {
        let ready = ingester.is_ready();
        async move { !ready }
    })
    .await;
    assert!(metric("skein_ingester_writes_blocked").unwrap_or(0.0) >= 1.0, "the gauge shows it");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(!ingester.is_ready(), "still unready while denied");
    assert_eq!(committed_total(&config), 0, "nothing committed past the denied records");
    assert_eq!(topic_end_total(&config, &config.kafka.dlq_topic), 0, "nothing dead-lettered");
    assert_eq!(es.count(&blocked).await, 0);

    set_index_settings(&blocked, serde_json::json!({"index.blocks.write": null})).await;
    let end = topic_end_total(&config, &config.kafka.spans_topic);
    wait_until("every span written", WAIT, || async { es.count(&blocked).await == sent }).await;
    wait_until("offsets committed past every record", WAIT, || async { committed_total(&config) == end }).await;
    wait_until("the ingester ready again", WAIT, || {
        let ready = ingester.is_ready();
        async move { ready }
    })
    .await;
    assert_eq!(es.count(&blocked).await, sent, "each span once");
    assert_eq!(topic_end_total(&config, &config.kafka.dlq_topic), 0, "nothing dead-lettered");
    pipeline.stop().await;
    es.delete(&format!("{}-*", config.elasticsearch.index_prefix)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_lag_in_seconds_grows_while_writes_are_denied_and_is_zero_once_written() {
    require_servers();
    let config = isolated_config("lagsecs");
    let es = Es::default();
    let names = skein_schemas::elasticsearch::IndexNames::new(&config.elasticsearch.index_prefix);
    let blocked = names.span_index(1_700_000_000_000_000);
    let created = reqwest::Client::new()
        .put(format!("{ELASTICSEARCH}/{blocked}"))
        .json(&serde_json::json!({"settings": {"number_of_replicas": 0, "index.blocks.write": true}}))
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success(), "{}", created.text().await.unwrap());

    let pipeline = Pipeline::start(&config, true, true).await;
    send_traces(&pipeline, &["lag-a", "lag-b", "lag-c"]).await;
    // Every partition of this test's topic (the registry is shared by the tests of this binary).
    let lag = format!("skein_ingester_consumer_lag_seconds{{topic=\"{}\"", config.kafka.spans_topic);
    wait_until("the lag in seconds at 2 s or more while writes are denied", WAIT, || {
        let seconds = max_metric(&lag);
        async move { seconds.is_some_and(|s| s >= 2.0) }
    })
    .await;

    set_index_settings(&blocked, serde_json::json!({"index.blocks.write": null})).await;
    let end = topic_end_total(&config, &config.kafka.spans_topic);
    wait_until("offsets committed past every record", WAIT, || async { committed_total(&config) == end }).await;
    wait_until("the lag in seconds back to 0 once everything is committed", WAIT, || {
        let seconds = max_metric(&lag);
        async move { seconds == Some(0.0) }
    })
    .await;
    pipeline.stop().await;
    es.delete(&format!("{}-*", config.elasticsearch.index_prefix)).await;
}

/// The largest value of the series of this process's `/metrics` whose lines start with `prefix`.
fn max_metric(prefix: &str) -> Option<f64> {
    skein_core::telemetry::render_metrics()
        .lines()
        .filter(|line| line.starts_with(prefix))
        .filter_map(|line| line.rsplit_once(' ')?.1.parse::<f64>().ok())
        .reduce(f64::max)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_requests_refused_as_a_whole_wait_uncommitted_while_unready_and_a_fixed_ingester_writes_them_once() {
    require_servers();
    let mut config = isolated_config("refused");
    let es = Es::default();
    let prefix = format!("{}-*", config.elasticsearch.index_prefix);
    // A URL with a path: Elasticsearch answers every `_bulk` with 400 "no handler found".
    config.elasticsearch.url = format!("{ELASTICSEARCH}/not/elasticsearch/");
    config.elasticsearch.create_templates = false;
    let pipeline = Pipeline::start(&config, true, true).await;
    let ingester = pipeline.ingester.as_ref().unwrap().readiness.clone();
    let sent = send_traces(&pipeline, &["refused-a", "refused-b", "refused-c"]).await;
    wait_until("the ingester unready while requests are refused", WAIT, || {
        let ready = ingester.is_ready();
        async move { !ready }
    })
    .await;
    assert!(metric("skein_ingester_bulk_retries_total{cause=\"refused\"}").unwrap_or(0.0) >= 1.0, "counted");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(!ingester.is_ready(), "still unready while refused");
    assert_eq!(committed_total(&config), 0, "nothing committed past the refused records");
    assert_eq!(topic_end_total(&config, &config.kafka.dlq_topic), 0, "nothing dead-lettered");
    pipeline.stop().await;

    // The operator fixes the URL and restarts: the records are read again and written once.
    config.elasticsearch.url = ELASTICSEARCH.into();
    config.elasticsearch.create_templates = true;
    let fixed = Pipeline::start(&config, false, true).await;
    let pattern = skein_schemas::elasticsearch::IndexNames::new(&config.elasticsearch.index_prefix).span_pattern();
    let end = topic_end_total(&config, &config.kafka.spans_topic);
    wait_until("every span written", WAIT, || async { es.count(&pattern).await == sent }).await;
    wait_until("offsets committed past every record", WAIT, || async { committed_total(&config) == end }).await;
    assert!(fixed.ingester.as_ref().unwrap().readiness.is_ready());
    assert_eq!(topic_end_total(&config, &config.kafka.dlq_topic), 0, "nothing dead-lettered");
    fixed.stop().await;
    es.delete(&prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offset_commit_kafka_refuses_is_offered_again_for_the_next_commit() {
    use rdkafka::admin::{AdminClient, AdminOptions};
    use rdkafka::consumer::{CommitMode, Consumer};
    use rdkafka::{Offset, TopicPartitionList};
    use skein_core::consumer::{commit_offsets, ConsumerSettings, SharedTracker};
    use skein_ingester::consumer::IngesterRole;

    require_servers();
    skein_core::telemetry::prometheus();
    let config = isolated_config("commit");
    skein_core::telemetry::init_logging(&config.log);
    skein_core::kafka::ensure_topics(&config.kafka).await.expect("topics");
    let tracker = SharedTracker::default();
    let consumer = ConsumerSettings::assigned(&config.ingester.group_id)
        .create(&config.kafka, IngesterRole::new(tracker.clone()))
        .expect("consumer");
    let topic = config.kafka.spans_topic.clone();
    let mut assignment = TopicPartitionList::new();
    assignment.add_partition_offset(&topic, 0, Offset::Beginning).unwrap();
    consumer.assign(&assignment).unwrap();
    // A record of partition 0 made durable, so its offset is due for commit.
    let tp = (topic.clone(), 0);
    let epoch = tracker.lock().assign(tp.clone());
    tracker.lock().read(&tp, 0);
    tracker.lock().done(&tp, epoch, 0);
    let commits = tracker.lock().take_commits();
    assert_eq!(commits, vec![(tp.clone(), 1)]);

    // The topic goes away under the consumer: Kafka refuses commits for it
    // (UNKNOWN_TOPIC_OR_PARTITION), answering librdkafka's asynchronous commit later.
    let admin: AdminClient<_> = skein_core::kafka::client_config(&config.kafka).create().expect("admin client");
    admin.delete_topics(&[&topic], &AdminOptions::new()).await.expect("topic deleted");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let offered_again = loop {
        commit_offsets(&consumer, &commits, CommitMode::Async).expect("commit sent");
        // Polling serves librdkafka's callbacks, the commit answer among them.
        let _ = tokio::time::timeout(Duration::from_millis(500), consumer.recv()).await;
        let offered = tracker.lock().take_commits();
        if !offered.is_empty() || tokio::time::Instant::now() > deadline {
            break offered;
        }
    };
    assert_eq!(offered_again, commits, "the refused offset is offered for the next commit");
    assert!(metric("skein_ingester_offset_commit_failures_total").unwrap_or(0.0) >= 1.0, "counted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ingester_whose_instance_id_is_taken_stops_with_an_error_naming_the_option() {
    require_servers();
    // Kafka 4's protocol refuses a new member whose static id is held by a live (or killed but
    // not yet expired) one; librdkafka calls that fatal, and polling on would read nothing.
    let mut config = isolated_config("instance-id");
    config.kafka.group_protocol = skein_core::config::GroupProtocol::Consumer;
    config.kafka.group_instance_id = Some("ingester-0".into());
    let first = Pipeline::start(&config, false, true).await;

    let shutdown = tokio_util::sync::CancellationToken::new();
    let second = skein_ingester::start(&config, shutdown.clone()).await.expect("ingester starts");
    let stopped = tokio::time::timeout(Duration::from_secs(60), second.join()).await;
    shutdown.cancel();
    let error = stopped.expect("the refused ingester stops by itself").expect_err("and reports a failure");
    assert!(error.to_string().contains("kafka.group_instance_id"), "{error}");

    first.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ingester_fenced_by_a_member_taking_its_static_id_joins_again_and_reads_on() {
    require_servers();
    // In the classic protocol a member joining with a static id takes it over and fences the
    // holder, fatally for librdkafka. That also befalls a live ingester whose session lapsed while
    // the group coordinator moved (a broker killed, in the chaos suite): it must join again.
    let mut config = isolated_config("fenced");
    config.kafka.group_instance_id = Some("ingester-0".into());
    let es = Es::default();
    let pattern = skein_schemas::elasticsearch::IndexNames::new(&config.elasticsearch.index_prefix).span_pattern();
    let pipeline = Pipeline::start(&config, true, true).await;
    let before = send_traces(&pipeline, &["fenced-a", "fenced-b"]).await;
    wait_until("the first spans indexed", WAIT, || async { es.count(&pattern).await == before }).await;

    let intruder: rdkafka::consumer::BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", KAFKA)
        .set("group.id", &config.ingester.group_id)
        .set("group.instance.id", "ingester-0")
        .set("session.timeout.ms", "6000")
        .create()
        .expect("consumer");
    rdkafka::consumer::Consumer::subscribe(&intruder, &[&config.kafka.spans_topic]).expect("subscribe");
    let joined = std::time::Instant::now();
    while rdkafka::consumer::Consumer::assignment(&intruder).map(|a| a.count()).unwrap_or(0) == 0 {
        assert!(joined.elapsed() < WAIT, "the intruder never got the partitions");
        let _ = intruder.poll(Duration::from_millis(100));
    }
    drop(intruder);

    let after = send_traces(&pipeline, &["fenced-c", "fenced-d", "fenced-e"]).await;
    wait_until("the spans sent after the fencing indexed", WAIT, || async {
        es.count(&pattern).await == before + after
    })
    .await;
    pipeline.stop().await;
    es.delete(&format!("{}-*", config.elasticsearch.index_prefix)).await;
}
