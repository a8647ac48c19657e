//! Failure behaviour with the real servers stopped and restarted mid-stream. These tests stop
//! shared servers, so `make faults` runs them one at a time, after every other test.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use prost::Message;
use skein_e2e::*;

const WAIT: Duration = Duration::from_secs(120);

/// Restarts a server when dropped, so a failing assertion never leaves it stopped for later tests.
struct Restart(&'static str);

impl Drop for Restart {
    fn drop(&mut self) {
        infra(self.0, "start");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn elasticsearch_outage_commits_nothing_past_unindexed_records_and_loses_nothing() {
    require_servers();
    let mut config = isolated_config("es-outage");
    config.elasticsearch.request_timeout_ms = 5_000;
    let es = Es::default();
    let pattern = skein_schemas::elasticsearch::IndexNames::new(&config.elasticsearch.index_prefix).span_pattern();
    let pipeline = Pipeline::start(&config, true, true).await;
    let mut client = TraceServiceClient::connect(pipeline.grpc_endpoint()).await.unwrap();
    let mut span_ids = HashSet::new();
    let mut send_traces = async |client: &mut TraceServiceClient<tonic::transport::Channel>, count: usize| {
        for _ in 0..count {
            let trace = random_trace_id();
            let spans: Vec<_> = (1..=5).map(|i| span(trace, i, (i > 1).then_some(1), "op")).collect();
            for s in &spans {
                span_ids.insert((hex(&s.trace_id), hex(&s.span_id)));
            }
            client.export(request("outage", spans)).await.expect("collector accepts while Kafka is up");
        }
    };

    send_traces(&mut client, 20).await;
    wait_until("first 100 spans indexed", WAIT, || async { es.count(&pattern).await == 100 }).await;
    let end_before = topic_end_total(&config, &config.kafka.spans_topic);
    wait_until("commits reach the end", WAIT, || async { committed_total(&config) == end_before }).await;

    infra("elasticsearch", "stop");
    let restart = Restart("elasticsearch");
    send_traces(&mut client, 20).await;
    let end_during = topic_end_total(&config, &config.kafka.spans_topic);
    assert!(end_during > end_before);
    // The ingester reads the new records and retries; nothing may be committed past them.
    tokio::time::sleep(Duration::from_secs(8)).await;
    assert_eq!(committed_total(&config), end_before, "no offset committed past records not yet in Elasticsearch");

    drop(restart); // starts Elasticsearch and waits until it is healthy
    wait_until("all 200 spans indexed after the outage", WAIT, || async { es.count(&pattern).await == 200 }).await;
    wait_until("commits reach the end", WAIT, || async { committed_total(&config) == end_during }).await;
    let documents = es.documents(&pattern).await;
    assert_eq!(documents.len(), 200, "every span exactly once");
    let indexed: HashSet<_> = documents
        .iter()
        .map(|(_, d)| (d["traceID"].as_str().unwrap().to_string(), d["spanID"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(indexed, span_ids);
    pipeline.stop().await;
    es.delete(&format!("{}-*", config.elasticsearch.index_prefix)).await;
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_outage_answers_503_with_retry_after_keeps_memory_bounded_and_recovers() {
    require_servers();
    let mut config = isolated_config("kafka-outage");
    config.collector.produce_timeout_ms = 3_000;
    config.collector.retry_after_seconds = 2;
    let pipeline = Pipeline::start(&config, true, false).await;
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
    let url = pipeline.http_url();
    let body = |spans: u64| {
        let trace = random_trace_id();
        let spans = (1..=spans)
            .map(|i| {
                let mut s = span(trace, i, None, "op");
                s.attributes.push(attr("payload", &"z".repeat(500)));
                s
            })
            .collect();
        request("kafka-outage", spans).encode_to_vec()
    };
    let post = |body: Vec<u8>| http.post(&url).header("content-type", "application/x-protobuf").body(body).send();
    assert_eq!(post(body(5)).await.unwrap().status(), 200, "accepted while Kafka is up");

    infra("kafka", "stop");
    let restart = Restart("kafka");
    let rss_before = resident_bytes();
    let started = Instant::now();
    // 200 requests of ~100 KB, 20 at a time: every one answered 503 with Retry-After, none hangs.
    for _ in 0..10 {
        let answers = futures::future::join_all((0..20).map(|_| post(body(180)))).await;
        for answer in answers {
            let response = answer.expect("answered, not hung");
            assert_eq!(response.status(), 503);
            assert_eq!(response.headers()["retry-after"], "2");
            assert!(response.bytes().await.unwrap().len() > 10, "status body explains");
        }
    }
    assert!(started.elapsed() < Duration::from_secs(90), "refusals are prompt: {:?}", started.elapsed());
    let growth = resident_bytes().saturating_sub(rss_before);
    assert!(growth < 150 * 1024 * 1024, "memory grew by {growth} bytes for 20 MB of refused requests");

    let mut client = TraceServiceClient::connect(pipeline.grpc_endpoint()).await.unwrap();
    let trace = random_trace_id();
    let status =
        client.export(request("kafka-outage", vec![span(trace, 1, None, "op")])).await.expect_err("unavailable");
    assert_eq!(status.code(), tonic::Code::Unavailable);
    assert!(!status.details().is_empty(), "RetryInfo attached");

    drop(restart); // starts Kafka and waits until it is healthy
    wait_until("collector accepts again", WAIT, || async { matches!(post(body(1)).await, Ok(r) if r.status() == 200) })
        .await;
    pipeline.stop().await;
}
