//! Analytics per tenant against the real Kafka and Elasticsearch: two tenants send the same trace
//! ids (same span ids too) to one partition, with different services; each tenant's links and
//! latency series land in its own indices only, the untenanted indices get none, and the query
//! side's reader of one tenant sees only that tenant's.
//!
//! Records are produced straight to Kafka with the `skein.tenant` header, as the collector writes
//! them with tenancy on, so every figure is known in advance.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{span, ResourceSpans, ScopeSpans, Span, TracesData};
use prost::Message;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use skein_core::SkeinConfig;
use skein_e2e::*;
use skein_query::reader::Reader;
use skein_schemas::elasticsearch::IndexNames;
use skein_schemas::kafka_record::{trace_key, ENCODING_HEADER, ENCODING_OTLP_PROTO};
use skein_schemas::tenant::{Tenant, TENANT_HEADER};

const MS: u64 = 1_000_000;

/// (tenant header, key, record timestamp ms, value)
type Record = (Option<&'static str>, String, i64, Vec<u8>);

/// One record of a trace: `root` (a server span) calls `child` (a client span of `root`, then
/// the server span of `child`), span ids 1, 2, 3 whoever sends it.
fn call_record(tenant: Option<&'static str>, trace: [u8; 16], ts: i64, root: &str, child: &str) -> Record {
    let span = |id: u64, parent: Option<u64>, name: &str, kind: span::SpanKind, ms: u64| -> Span {
        otlp_span(trace, id, parent, name, kind, 1_700_000_000_000_000_000, ms * MS)
    };
    let part = |service: &str, spans: Vec<Span>| ResourceSpans {
        resource: Some(Resource { attributes: vec![attr("service.name", service)], ..Default::default() }),
        scope_spans: vec![ScopeSpans { spans, ..Default::default() }],
        ..Default::default()
    };
    let data = TracesData {
        resource_spans: vec![
            part(
                root,
                vec![
                    span(1, None, &format!("{root}-in"), span::SpanKind::Server, 20),
                    span(2, Some(1), &format!("{root}-out"), span::SpanKind::Client, 10),
                ],
            ),
            part(child, vec![span(3, Some(2), &format!("{child}-in"), span::SpanKind::Server, 5)]),
        ],
    };
    let key = match tenant.map(Tenant::parse) {
        Some(Ok(tenant)) => tenant.record_key(&trace_key(&trace)),
        _ => trace_key(&trace),
    };
    (tenant, key, ts, data.encode_to_vec())
}

async fn produce(config: &SkeinConfig, records: &[Record]) {
    skein_core::kafka::ensure_topics(&config.kafka).await.expect("topics");
    let producer: FutureProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &config.kafka.brokers)
        .set("enable.idempotence", "true")
        .create()
        .expect("producer");
    for (tenant, key, ts, value) in records {
        let mut headers = OwnedHeaders::new().insert(Header { key: ENCODING_HEADER, value: Some(ENCODING_OTLP_PROTO) });
        if let Some(tenant) = tenant {
            headers = headers.insert(Header { key: TENANT_HEADER, value: Some(tenant.as_bytes()) });
        }
        // One partition: both tenants' records share one clock and one assembly state.
        let record = FutureRecord::to(&config.kafka.spans_topic)
            .partition(0)
            .key(key)
            .payload(value)
            .timestamp(*ts)
            .headers(headers);
        producer.send(record, Duration::from_secs(10)).await.map_err(|(e, _)| e).expect("delivered");
    }
}

/// Start of the current minute, minus `minutes`.
fn minutes_ago(minutes: i64) -> i64 {
    let now = chrono::Utc::now().timestamp_millis();
    now - now.rem_euclid(60_000) - minutes * 60_000
}

type Links = BTreeMap<(String, String), u64>;

/// callCount per (parent, child) over the dependencies documents of an index pattern.
async fn links_in(es: &Es, pattern: &str) -> Links {
    let mut totals = Links::new();
    for (_, doc) in es.documents(pattern).await {
        for link in doc["dependencies"].as_array().cloned().unwrap_or_default() {
            let key = (link["parent"].as_str().unwrap().to_string(), link["child"].as_str().unwrap().to_string());
            *totals.entry(key).or_default() += link["callCount"].as_u64().unwrap();
        }
    }
    totals
}

/// Services of the operation series of an index pattern, with their calls.
async fn operation_calls(es: &Es, pattern: &str) -> BTreeMap<String, u64> {
    let mut calls = BTreeMap::new();
    for (_, doc) in es.documents(pattern).await {
        if doc["series"] == "operation" {
            *calls.entry(doc["service"].as_str().unwrap().to_string()).or_default() += doc["calls"].as_u64().unwrap();
        }
    }
    calls
}

fn links(expected: &[(&str, &str, u64)]) -> Links {
    expected.iter().map(|(p, c, n)| ((p.to_string(), c.to_string()), *n)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tenants_with_the_same_trace_ids_get_their_own_links_and_metrics_in_their_own_indices() {
    require_servers();
    let mut config = isolated_config("analytics-tenancy");
    config.kafka.partitions = 1;
    quick_analytics(&mut config);
    config.analytics.trace_max_age_ms = 20_000;
    config.analytics.admin_listen = free_port();
    let prefix = config.elasticsearch.index_prefix.clone();
    let base = minutes_ago(3);
    let mut records = Vec::new();
    for n in 1..=3u8 {
        let trace = [n; 16];
        // The same trace id from both tenants, interleaved on one partition.
        records.push(call_record(Some("acme"), trace, base + i64::from(n) * 10, "web", "api"));
        records.push(call_record(Some("globex"), trace, base + i64::from(n) * 10 + 1, "shop", "db"));
    }
    // A header that names no tenant: skipped like an undecodable record, counted nowhere.
    records.push(call_record(Some("Not/A-Tenant"), [9; 16], base + 100, "evil", "leak"));
    produce(&config, &records).await;

    let pipeline = Pipeline::start_with_analytics(&config).await;
    let es = Es::default();
    let acme_expected = links(&[("web", "api", 3), ("web", "web", 3)]);
    let globex_expected = links(&[("shop", "db", 3), ("shop", "shop", 3)]);
    let (acme_pattern, globex_pattern) =
        (format!("{prefix}-acme-jaeger-dependencies-*"), format!("{prefix}-globex-jaeger-dependencies-*"));
    let (mut acme, mut globex) = (Links::new(), Links::new());
    let deadline = Instant::now() + Duration::from_secs(90);
    while Instant::now() < deadline {
        (acme, globex) = (links_in(&es, &acme_pattern).await, links_in(&es, &globex_pattern).await);
        if acme == acme_expected && globex == globex_expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(acme, acme_expected, "acme's links, in acme's indices only");
    assert_eq!(globex, globex_expected, "globex's links, in globex's indices only");

    // Latency series: every span once, each tenant's services in its own indices.
    let acme_calls = operation_calls(&es, &format!("{prefix}-acme-skein-metrics-*")).await;
    let globex_calls = operation_calls(&es, &format!("{prefix}-globex-skein-metrics-*")).await;
    assert_eq!(acme_calls, BTreeMap::from([("api".to_string(), 3), ("web".to_string(), 6)]));
    assert_eq!(globex_calls, BTreeMap::from([("db".to_string(), 3), ("shop".to_string(), 6)]));

    // Nothing in the untenanted indices, nothing of the record without a valid tenant anywhere.
    assert_eq!(es.count(&format!("{prefix}-jaeger-dependencies-*")).await, 0, "untenanted links");
    assert_eq!(es.count(&format!("{prefix}-skein-metrics-*")).await, 0, "untenanted series");
    let everything = es.all_documents(&format!("{prefix}-*")).await;
    let leaked: Vec<_> = everything
        .iter()
        .filter(|(_, doc)| doc.to_string().contains("\"evil\"") || doc.to_string().contains("\"leak\""))
        .collect();
    assert!(leaked.is_empty(), "the record with an invalid tenant header was counted: {leaked:?}");

    // Each tenant's index was made from its own template (keyword names, not guessed mappings).
    let http = reqwest::Client::new();
    for tenant in ["acme", "globex"] {
        let mapping: serde_json::Value = http
            .get(format!("{ELASTICSEARCH}/{prefix}-{tenant}-skein-metrics-*/_mapping"))
            .send()
            .await
            .expect("mapping answers")
            .json()
            .await
            .expect("mapping is JSON");
        let (_, index) = mapping.as_object().and_then(|m| m.iter().next()).expect("the tenant's metrics index");
        assert_eq!(index["mappings"]["properties"]["service"]["type"], "keyword", "{tenant}: {index}");
    }

    // The query side reads a tenant through `IndexNames::for_tenant`: it finds that tenant's
    // links and nothing of the other's.
    let client = skein_core::elasticsearch::client(&config.elasticsearch).expect("client");
    let names: IndexNames = config.elasticsearch.index_names();
    let (from, to) = (base - 3_600_000, base + 3_600_000);
    for (tenant, expected) in [("acme", &acme_expected), ("globex", &globex_expected)] {
        let tenant = Tenant::parse(tenant).unwrap();
        let reader = Reader::new(client.clone(), names.for_tenant(&tenant), &config.analytics.group_id);
        let read = reader.dependencies(from, to).await.expect("dependencies read");
        let mut seen = Links::new();
        for link in read.iter().flat_map(|doc| &doc.dependencies) {
            *seen.entry((link.parent.clone(), link.child.clone())).or_default() += link.call_count;
        }
        assert_eq!(&seen, expected, "{tenant} reads its own links only");
        let services: BTreeSet<String> = expected.keys().flat_map(|(p, c)| [p.clone(), c.clone()]).collect();
        let kinds = ["server".to_string(), "client".to_string()];
        let all: Vec<String> = ["web", "api", "shop", "db"].iter().map(|s| s.to_string()).collect();
        let metrics = reader.metrics(&all, &kinds, from, to).await.expect("metrics read");
        let read_services: BTreeSet<String> = metrics.iter().filter_map(|m| m.service.clone()).collect();
        assert_eq!(read_services, services, "{tenant} reads its own series only");
    }
    let untenanted = Reader::new(client, names, &config.analytics.group_id);
    assert!(untenanted.dependencies(from, to).await.expect("read").iter().all(|d| d.dependencies.is_empty()));

    pipeline.stop().await;
    es.delete(&format!("{prefix}-*")).await;
}
