//! `GET /api/skein/pipeline` against the real servers: lag after catch-up, receiver counts, a dead
//! letter, analytics watermarks, and what it answers when a server is down.

use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use rdkafka::producer::{FutureProducer, FutureRecord};
use skein_e2e::*;
use skein_query::pipeline::{ConsumerGroupReport, GroupRole, PipelineReport};
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(90);

async fn report(query_url: &str) -> PipelineReport {
    let response =
        reqwest::get(format!("{query_url}/api/skein/pipeline")).await.expect("the query role answers the report");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    response.json().await.expect("the report parses as skein_query::pipeline::PipelineReport")
}

fn group(report: &PipelineReport, role: GroupRole) -> &ConsumerGroupReport {
    report.kafka.groups.iter().find(|g| g.role == role).unwrap_or_else(|| panic!("no {role:?} group in {report:#?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn report_shows_catch_up_receiver_counts_a_dead_letter_and_watermarks() {
    require_servers();
    let mut config = isolated_config("pipeline-status");
    // The collector's admin address is fixed up front so the query role can scrape it.
    let admin = free_port();
    config.collector.admin_listen = admin;
    config.query.collector_metrics_urls = vec![format!("http://{admin}/metrics")];
    // Short buckets and idle gaps, so analytics' checkpoints move past the records within seconds.
    config.analytics.bucket_seconds = 1;
    config.analytics.dependencies_bucket_seconds = 60;
    quick_analytics(&mut config);
    let pipeline = Pipeline::start_all(&config).await;
    let url = pipeline.query_url();

    // Five valid spans in three traces, and one with an all-zero trace id that the collector refuses.
    let mut client = TraceServiceClient::connect(pipeline.grpc_endpoint()).await.expect("gRPC connects");
    let (a, b, c) = (random_trace_id(), random_trace_id(), random_trace_id());
    let spans = vec![
        span(a, 1, None, "GET /a"),
        span(a, 2, Some(1), "SELECT a"),
        span(b, 3, None, "GET /b"),
        span(c, 4, None, "GET /c"),
        span(c, 5, Some(4), "SELECT c"),
        span([0; 16], 6, None, "no trace id"),
    ];
    let answer = client.export(request("status-svc", spans)).await.expect("gRPC export answered").into_inner();
    assert_eq!(answer.partial_success.expect("one span refused").rejected_spans, 1);

    // Three span records, then analytics' watermark markers (records too) on the quiet partitions:
    // caught up means nothing behind once the three are in.
    let ingester_caught_up = |r: &PipelineReport| {
        let g = group(r, GroupRole::Ingester);
        g.total_lag == 0 && g.partitions.iter().map(|p| p.high_watermark).sum::<i64>() >= 3
    };
    let mut last = None;
    let deadline = Instant::now() + WAIT;
    while last.as_ref().is_none_or(|r| !ingester_caught_up(r)) {
        assert!(Instant::now() < deadline, "the ingester never caught up: {last:#?}");
        tokio::time::sleep(Duration::from_millis(300)).await;
        last = Some(report(&url).await);
    }
    let caught_up = last.unwrap();

    let kafka = &caught_up.kafka;
    assert!(kafka.reachable, "{kafka:#?}");
    assert_eq!(kafka.error, None);
    assert_eq!(kafka.spans_topic, config.kafka.spans_topic);
    assert_eq!(kafka.partitions, config.kafka.partitions as usize);
    let ingester = group(&caught_up, GroupRole::Ingester);
    assert_eq!(ingester.group, config.ingester.group_id);
    assert_eq!(ingester.partitions.len(), config.kafka.partitions as usize);
    assert_eq!(ingester.max_lag_seconds, Some(0.0));
    for partition in &ingester.partitions {
        assert_eq!(partition.lag, 0);
        assert_eq!(partition.lag_seconds, Some(0.0));
        if partition.high_watermark > 0 {
            assert_eq!(partition.committed, Some(partition.high_watermark), "{partition:?}");
        }
    }
    assert_eq!((ingester.state.as_str(), ingester.members), ("Stable", 1), "{ingester:?}");
    let analytics = group(&caught_up, GroupRole::Analytics);
    assert_eq!(analytics.group, config.analytics.group_id);
    assert_eq!(analytics.partitions.len(), config.kafka.partitions as usize);
    assert_eq!(kafka.dead_letters.records, 0);
    assert!(kafka.dead_letters.latest.is_empty());

    // Receivers: exactly what was sent, through OTLP gRPC.
    let receivers = &caught_up.receivers;
    assert_eq!(receivers.sources.len(), 1);
    assert!(receivers.sources[0].reachable, "{:?}", receivers.sources[0]);
    let grpc = receivers.transports.iter().find(|t| t.transport == "otlp_grpc").expect("otlp_grpc counted");
    assert_eq!((grpc.received, grpc.accepted, grpc.refused), (6, 5, 1));
    assert_eq!(receivers.transports.iter().map(|t| t.received).sum::<u64>(), 6, "{receivers:?}");
    let reasons: Vec<(&str, u64)> = receivers.refused_by_reason.iter().map(|r| (r.reason.as_str(), r.spans)).collect();
    assert_eq!(reasons, [("invalid_trace_id", 1)]);

    // Elasticsearch: the test's span index holds the five spans.
    let prefix = &config.elasticsearch.index_prefix;
    let span_docs = |r: &PipelineReport| -> u64 {
        let family = format!("{prefix}-jaeger-span-");
        r.elasticsearch.indices.iter().filter(|i| i.name.starts_with(&family)).map(|i| i.docs).sum()
    };
    let mut es_report = caught_up.clone();
    while span_docs(&es_report) < 5 {
        assert!(Instant::now() < deadline, "span documents never listed: {:#?}", es_report.elasticsearch);
        tokio::time::sleep(Duration::from_millis(500)).await;
        es_report = report(&url).await;
    }
    let es = &es_report.elasticsearch;
    assert!(es.reachable && es.error.is_none(), "{es:#?}");
    assert!(matches!(es.status.as_deref(), Some("green" | "yellow")), "{es:?}");
    assert_eq!(span_docs(&es_report), 5);
    assert!(es.indices.iter().all(|i| i.name.starts_with(prefix.as_str())), "only this prefix's indices: {es:#?}");
    assert!(es.indices.windows(2).all(|w| w[0].name < w[1].name), "sorted by name");
    let span_index = es.indices.iter().find(|i| i.name.contains("-jaeger-span-")).expect("span index listed");
    assert!(span_index.bytes > 0 && !span_index.health.is_empty(), "{span_index:?}");

    // Analytics: every partition that got records has a checkpoint past them with a recent record
    // time, and the group has committed up to the end (its markers included).
    let fed: Vec<i32> = ingester.partitions.iter().filter(|p| p.high_watermark > 0).map(|p| p.partition).collect();
    let mut watermark_report = es_report.clone();
    let checkpointed = |r: &PipelineReport| {
        group(r, GroupRole::Analytics).total_lag == 0
            && fed.iter().all(|p| r.analytics.watermarks.iter().any(|w| w.partition == *p && w.watermark.is_some()))
    };
    while !checkpointed(&watermark_report) {
        assert!(Instant::now() < deadline, "no analytics checkpoints: {:#?}", watermark_report.analytics);
        tokio::time::sleep(Duration::from_millis(500)).await;
        watermark_report = report(&url).await;
    }
    let watermarks = &watermark_report.analytics;
    assert_eq!(watermarks.group, config.analytics.group_id);
    assert_eq!(watermarks.watermarks.len(), config.kafka.partitions as usize);
    for w in watermarks.watermarks.iter().filter(|w| fed.contains(&w.partition)) {
        let behind = w.behind_seconds.expect("behind seconds with a watermark");
        assert!((0.0..300.0).contains(&behind), "{w:?}");
        chrono::DateTime::parse_from_rfc3339(w.watermark.as_deref().unwrap()).expect("RFC 3339 watermark");
    }

    // A poison record straight into the spans topic → one dead letter, with why and where from.
    let producer: FutureProducer =
        rdkafka::ClientConfig::new().set("bootstrap.servers", &config.kafka.brokers).create().unwrap();
    let poison = FutureRecord::to(&config.kafka.spans_topic)
        .key("poison")
        .payload(b"\xff\x00 these bytes are not OTLP".as_slice())
        .partition(1);
    let poison_offset = producer.send(poison, Duration::from_secs(10)).await.expect("poison produced").offset;
    let mut after = report(&url).await;
    while after.kafka.dead_letters.records < 1 || group(&after, GroupRole::Ingester).total_lag > 0 {
        assert!(Instant::now() < deadline, "the poison record was never dead-lettered: {:#?}", after.kafka);
        tokio::time::sleep(Duration::from_millis(300)).await;
        after = report(&url).await;
    }
    let letters = &after.kafka.dead_letters;
    assert_eq!(letters.topic, config.kafka.dlq_topic);
    assert_eq!(letters.records, 1);
    assert_eq!(letters.latest.len(), 1);
    let letter = &letters.latest[0];
    assert_eq!(letter.error_kind, "decode");
    assert!(letter.error.contains("protobuf"), "{letter:?}");
    assert_eq!((letter.origin_partition, letter.origin_offset), (Some(1), Some(poison_offset)));
    assert_eq!(letter.offset, 0);
    chrono::DateTime::parse_from_rfc3339(&letter.timestamp).expect("RFC 3339 dead-letter time");

    pipeline.stop().await;
    Es::default().delete(&format!("{prefix}-*")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_elasticsearch_down_the_report_says_so_and_still_answers() {
    require_servers();
    let mut config = isolated_config("pipeline-es-down");
    let (closed_es, closed_collector) = (free_port(), free_port());
    config.elasticsearch.url = format!("http://{closed_es}");
    config.query.collector_metrics_urls = vec![format!("http://{closed_collector}/metrics")];
    let shutdown = CancellationToken::new();
    let query = skein_query::start(&config, shutdown.clone()).await.expect("query starts without Elasticsearch");

    let started = Instant::now();
    let report = report(&format!("http://{}", query.addresses.api)).await;
    assert!(started.elapsed() < Duration::from_secs(6), "answered in {:?}", started.elapsed());

    let es = &report.elasticsearch;
    assert!(!es.reachable, "{es:?}");
    assert_eq!(es.url, format!("http://{closed_es}"));
    assert!(es.error.as_deref().unwrap().contains("cannot reach Elasticsearch"), "{es:?}");
    assert_eq!((es.status.as_deref(), es.indices.len()), (None, 0));
    // Kafka answers, but nothing has created this test's topics.
    assert!(report.kafka.reachable, "{:?}", report.kafka);
    assert!(report.kafka.error.as_deref().unwrap().contains("does not exist yet"), "{:?}", report.kafka);
    assert_eq!((report.kafka.partitions, report.kafka.groups.len()), (0, 0));
    assert!(report.analytics.watermarks.is_empty());
    let source = &report.receivers.sources[0];
    assert!(!source.reachable && source.error.as_deref().unwrap().contains("cannot scrape"), "{source:?}");

    shutdown.cancel();
    query.join().await.expect("query stopped cleanly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_kafka_down_the_report_says_so_within_its_time_limit() {
    require_servers();
    let mut config = isolated_config("pipeline-kafka-down");
    config.kafka.brokers = free_port().to_string();
    let shutdown = CancellationToken::new();
    let query = skein_query::start(&config, shutdown.clone()).await.expect("query starts without Kafka");

    let started = Instant::now();
    let report = report(&format!("http://{}", query.addresses.api)).await;
    assert!(started.elapsed() < Duration::from_secs(6), "answered in {:?}", started.elapsed());
    let kafka = &report.kafka;
    assert!(!kafka.reachable, "{kafka:?}");
    assert_eq!(kafka.brokers, config.kafka.brokers);
    assert!(kafka.error.as_deref().unwrap().contains("kafka.brokers"), "{kafka:?}");
    assert!(kafka.groups.is_empty());
    assert!(report.elasticsearch.reachable, "Elasticsearch still reported: {:?}", report.elasticsearch);

    shutdown.cancel();
    query.join().await.expect("query stopped cleanly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_that_never_committed_is_behind_by_the_whole_partition_and_its_oldest_record_age() {
    require_servers();
    let config = isolated_config("pipeline-lag");
    skein_core::kafka::ensure_topics(&config.kafka).await.expect("topics");
    let producer: FutureProducer =
        rdkafka::ClientConfig::new().set("bootstrap.servers", &config.kafka.brokers).create().unwrap();
    let oldest_ms = chrono::Utc::now().timestamp_millis() - 5_000;
    for (offset, age_ms) in [(0, 5_000), (1, 1_000)] {
        let time = chrono::Utc::now().timestamp_millis() - age_ms;
        let record = FutureRecord::to(&config.kafka.spans_topic).key("k").payload("v").partition(2).timestamp(time);
        let delivered = producer.send(record, Duration::from_secs(10)).await.expect("record produced");
        assert_eq!(delivered.offset, offset);
    }
    let shutdown = CancellationToken::new();
    let query = skein_query::start(&config, shutdown.clone()).await.expect("query starts");

    let report = report(&format!("http://{}", query.addresses.api)).await;
    assert!(report.kafka.reachable && report.kafka.error.is_none(), "{:?}", report.kafka);
    for role in [GroupRole::Ingester, GroupRole::Analytics] {
        let group = group(&report, role);
        assert_eq!((group.members, group.total_lag), (0, 2), "{group:?}");
        let behind = &group.partitions[2];
        assert_eq!((behind.partition, behind.committed, behind.high_watermark, behind.lag), (2, None, 2, 2));
        // The age of the record at offset 0, not of the newest one.
        let expected = (chrono::Utc::now().timestamp_millis() - oldest_ms) as f64 / 1000.0;
        let seconds = behind.lag_seconds.expect("the oldest uncommitted record is read");
        assert!((expected - 2.0..=expected + 0.5).contains(&seconds), "{seconds} s, expected about {expected} s");
        assert_eq!(group.max_lag_seconds, Some(seconds));
        for idle in group.partitions.iter().filter(|p| p.partition != 2) {
            assert_eq!((idle.lag, idle.lag_seconds), (0, Some(0.0)), "{idle:?}");
        }
    }

    shutdown.cancel();
    query.join().await.expect("query stopped cleanly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_at_the_same_time_share_one_report() {
    require_servers();
    let config = isolated_config("pipeline-shared");
    let pipeline = Pipeline::start_all(&config).await;
    let url = pipeline.query_url();
    let (a, b, c) = tokio::join!(report(&url), report(&url), report(&url));
    assert_eq!(a.generated_at, b.generated_at, "made once for requests that arrived together");
    assert_eq!(a.generated_at, c.generated_at);
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let later = report(&url).await;
    assert_ne!(later.generated_at, a.generated_at, "a report older than two seconds is made again");
    pipeline.stop().await;
}
