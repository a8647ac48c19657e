//! Analytics with high-cardinality operation names (URLs with ids, one name per span): a trace of
//! 10,000 spans with 10,000 distinct names, sent through the real collector next to small traces,
//! must not stall the worker: every link is written and every partition checkpointed, in bounded
//! time.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::trace::v1::{span::SpanKind, Span};
use skein_e2e::*;

const MS: u64 = 1_000_000;
const WAIT: Duration = Duration::from_secs(60);

/// Sum of callCount per (parent, child) over every `jaeger-dependencies` document.
async fn dependency_calls(es: &Es, prefix: &str) -> BTreeMap<(String, String), u64> {
    let mut out = BTreeMap::new();
    for (_, doc) in es.documents(&format!("{prefix}-jaeger-dependencies-*")).await {
        for link in doc["dependencies"].as_array().cloned().unwrap_or_default() {
            let name = |field: &str| link[field].as_str().unwrap_or_default().to_string();
            *out.entry((name("parent"), name("child"))).or_default() += link["callCount"].as_u64().unwrap_or(0);
        }
    }
    out
}

/// (series kind, service) → (distinct operation names or operation pairs, calls), over every
/// metrics document (the spans of a trace split into several records may count in two buckets).
async fn series_counts(es: &Es, prefix: &str) -> BTreeMap<(String, String), (usize, u64)> {
    let mut out: BTreeMap<(String, String), (BTreeSet<String>, u64)> = BTreeMap::new();
    for doc in es.all_documents(&format!("{prefix}-skein-metrics-*")).await.values() {
        let name = |field: &str| doc[field].as_str().unwrap_or_default().to_string();
        let entry = out.entry((name("series"), name("service"))).or_default();
        entry.0.insert(format!("{} → {}", name("operation"), name("childOperation")));
        entry.1 += doc["calls"].as_u64().unwrap_or(0);
    }
    out.into_iter().map(|(key, (names, calls))| (key, (names.len(), calls))).collect()
}

/// Partitions with a checkpoint document.
async fn checkpointed_partitions(es: &Es, prefix: &str) -> Vec<i64> {
    let docs = es.documents(&format!("{prefix}-skein-analytics-state")).await;
    docs.iter().filter_map(|(_, doc)| doc["partition"].as_i64()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_distinct_operation_names_do_not_stall_links_or_checkpoints() {
    require_servers();
    let mut config = isolated_config("analytics-cardinality");
    quick_analytics(&mut config);
    // Short buckets: they turn final (and the partitions get checkpoints) within seconds.
    config.analytics.bucket_seconds = 5;
    config.analytics.admin_listen = free_port();
    let mut pipeline = Pipeline::start(&config, true, false).await;
    let analytics = skein_analytics::start(&config, pipeline.shutdown.clone()).await.expect("analytics starts");
    let readiness = analytics.readiness.clone();
    wait_until("analytics ready", WAIT, || {
        let ready = readiness.is_ready();
        async move { ready }
    })
    .await;
    pipeline.analytics = Some(analytics);

    let t0 = chrono::Utc::now().timestamp_nanos_opt().unwrap() as u64 - 2_000 * MS;
    // Five small traces: frontend → cart, frontend → payment, 1–5 spans each.
    for n in 0..5u64 {
        let trace = random_trace_id();
        let start = t0 + n * 10 * MS;
        let mut frontend = vec![otlp_span(trace, 1, None, "GET /checkout", SpanKind::Server, start, 50 * MS)];
        let mut parts = Vec::new();
        if n >= 1 {
            frontend.push(otlp_span(trace, 2, Some(1), "POST /cart", SpanKind::Client, start + MS, 20 * MS));
        }
        if n >= 2 {
            frontend.push(otlp_span(trace, 4, Some(1), "POST /charge", SpanKind::Client, start + 25 * MS, 20 * MS));
        }
        parts.push(("frontend", frontend));
        if n >= 1 {
            parts.push((
                "cart",
                vec![otlp_span(trace, 3, Some(2), "POST /cart", SpanKind::Server, start + 2 * MS, 15 * MS)],
            ));
        }
        if n >= 3 {
            let charge = otlp_span(trace, 5, Some(4), "POST /charge", SpanKind::Server, start + 26 * MS, 15 * MS);
            parts.push(("payment", vec![charge]));
        }
        pipeline.send_otlp_http(export_body(parts)).await;
    }
    // One trace of 10,000 spans with 10,000 distinct operation names, ten children per span.
    let big = random_trace_id();
    let spans: Vec<Span> = (0..10_000u64)
        .map(|i| {
            let parent = if i == 0 { None } else { Some((i - 1) / 10 + 1) };
            let name = if i == 0 { "batch".to_string() } else { format!("item-{i}") };
            let kind = if i == 0 { SpanKind::Server } else { SpanKind::Internal };
            otlp_span(big, i + 1, parent, &name, kind, t0 + i * 1_000, 3 * MS)
        })
        .collect();
    pipeline.send_otlp_http(export_body(vec![("bulk", spans)])).await;

    let es = Es::default();
    let prefix = config.elasticsearch.index_prefix.clone();
    let expected = BTreeMap::from([
        (("bulk".to_string(), "bulk".to_string()), 9_999),
        (("frontend".to_string(), "cart".to_string()), 4),
        (("frontend".to_string(), "frontend".to_string()), 7),
        (("frontend".to_string(), "payment".to_string()), 2),
    ]);
    let with_records: Vec<i64> =
        (0..config.kafka.partitions).filter(|p| partition_end(&config, *p) > 0).map(i64::from).collect();
    let deadline = Instant::now() + WAIT;
    let (mut dependencies, mut series, mut checkpointed) = (BTreeMap::new(), BTreeMap::new(), Vec::new());
    while Instant::now() < deadline {
        dependencies = dependency_calls(&es, &prefix).await;
        series = series_counts(&es, &prefix).await;
        checkpointed = checkpointed_partitions(&es, &prefix).await;
        let done = dependencies == expected
            && series.get(&("operation_link".to_string(), "bulk".to_string())) == Some(&(9_999, 9_999))
            && with_records.iter().all(|p| checkpointed.contains(p));
        if done {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let metrics = reqwest::get(format!("http://{}/metrics", config.analytics.admin_listen))
        .await
        .expect("analytics /metrics")
        .text()
        .await
        .unwrap_or_default();
    let own: Vec<&str> = metrics.lines().filter(|l| l.starts_with("skein_analytics_")).collect();
    assert_eq!(dependencies, expected, "jaeger-dependencies calls; series {series:?}; metrics {own:#?}");
    // Every distinct operation and every distinct operation link, each call once.
    assert_eq!(series.get(&("operation".to_string(), "bulk".to_string())), Some(&(10_000, 10_000)));
    assert_eq!(series.get(&("operation_link".to_string(), "bulk".to_string())), Some(&(9_999, 9_999)));
    assert_eq!(series.get(&("link".to_string(), "bulk".to_string())), Some(&(1, 9_999)));
    for p in &with_records {
        assert!(
            checkpointed.contains(p),
            "partition {p} has no checkpoint (checkpointed: {checkpointed:?}); metrics {own:#?}"
        );
    }

    pipeline.stop().await;
    es.delete(&format!("{prefix}-*")).await;
}
