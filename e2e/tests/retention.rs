//! Retention against the real Elasticsearch (and Kafka for the ingester's guard): `skein indices
//! clean` run as a process, the daily clean's lease between instances, and spans of days outside
//! the retained range dead-lettered instead of creating an index.

use std::process::{Command, Output};
use std::time::Duration;

use chrono::{Days, Utc};
use prost::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use skein_core::elasticsearch::lease::{Lease, LeaseDocument};
use skein_core::SkeinConfig;
use skein_e2e::*;
use skein_ingester::retention::{DailyClean, Outcome};
use skein_schemas::dlq;
use skein_schemas::elasticsearch::IndexNames;

const WAIT: Duration = Duration::from_secs(60);

fn skein_binary() -> std::path::PathBuf {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("repo root");
    let binary = root.join("target/debug/skein");
    assert!(binary.exists(), "{} is missing: run `cargo build -p skein` (make e2e does)", binary.display());
    binary
}

/// `skein indices clean ARGS` as its own process, configured through SKEIN_* variables.
fn run_clean(config: &SkeinConfig, args: &[&str]) -> Output {
    let output = Command::new(skein_binary())
        .args(["indices", "clean"])
        .args(args)
        .env("SKEIN_ELASTICSEARCH__URL", &config.elasticsearch.url)
        .env("SKEIN_ELASTICSEARCH__INDEX_PREFIX", &config.elasticsearch.index_prefix)
        .env("SKEIN_LOG__LEVEL", "warn")
        .output()
        .expect("skein indices clean runs");
    assert!(
        output.status.success(),
        "skein indices clean {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

async fn create_index(name: &str) {
    let answer = reqwest::Client::new()
        .put(format!("{ELASTICSEARCH}/{name}"))
        .json(&serde_json::json!({"settings": {"number_of_replicas": 0}}))
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success(), "create {name}: {}", answer.text().await.unwrap());
}

/// The indices whose name starts with `start`, sorted.
async fn indices_starting(start: &str) -> Vec<String> {
    let body: serde_json::Value = reqwest::get(format!("{ELASTICSEARCH}/_cat/indices/{start}*?format=json&h=index"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut names: Vec<String> =
        body.as_array().unwrap().iter().map(|row| row["index"].as_str().unwrap().to_string()).collect();
    names.sort();
    names
}

/// The daily index names of the four families for `day_offset` days from today (UTC).
fn daily_indices(names: &IndexNames, day_offset: i64) -> Vec<String> {
    let today = Utc::now().date_naive();
    let day = if day_offset < 0 {
        today.checked_sub_days(Days::new(day_offset.unsigned_abs())).unwrap()
    } else {
        today.checked_add_days(Days::new(day_offset as u64)).unwrap()
    };
    let ms = day.and_hms_opt(12, 0, 0).unwrap().and_utc().timestamp_millis();
    let micros = ms as u64 * 1000;
    vec![names.span_index(micros), names.service_index(micros), names.dependencies_index(ms), names.metrics_index(ms)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_deletes_only_the_old_daily_indices_of_its_prefix_and_a_dry_run_deletes_nothing() {
    require_servers();
    let config = isolated_config("clean");
    let prefix = config.elasticsearch.index_prefix.clone();
    let names = IndexNames::new(&prefix);
    // Two other prefixes whose names contain this one's: `x-<prefix>-jaeger-span-...` (as
    // `foo-jaeger-span-*` is to the empty prefix) and `<prefix>-more-jaeger-span-...`.
    let outer = IndexNames::new(&format!("x-{prefix}"));
    let longer = IndexNames::new(&format!("{prefix}-more"));
    let old: Vec<String> = [-30, -3].iter().flat_map(|&offset| daily_indices(&names, offset)).collect();
    let kept: Vec<String> = [-2, 0, 1].iter().flat_map(|&offset| daily_indices(&names, offset)).collect();
    let others: Vec<String> = [&outer, &longer].iter().flat_map(|other| daily_indices(other, -30)).collect();
    let state = names.analytics_state_index();
    for index in old.iter().chain(&kept).chain(&others).chain([&state]) {
        create_index(index).await;
    }
    // A checkpoint a worker would resume from.
    let checkpoint = reqwest::Client::new()
        .put(format!("{ELASTICSEARCH}/{state}/_doc/g:t:0:5?refresh=true"))
        .json(&serde_json::json!({"group": "g", "topic": "t", "partition": 0, "epoch": 1}))
        .send()
        .await
        .unwrap();
    assert!(checkpoint.status().is_success());
    let everything = |mut all: Vec<String>| {
        all.sort();
        all
    };
    let before = everything(old.iter().chain(&kept).chain([&state]).cloned().collect());
    assert_eq!(
        indices_starting(&format!("{prefix}-")).await,
        everything([before.clone(), daily_indices(&longer, -30)].concat())
    );

    let dry = run_clean(&config, &["--older-than-days", "3", "--dry-run"]);
    let stdout = String::from_utf8_lossy(&dry.stdout);
    for index in &old {
        assert!(stdout.contains(&format!("would delete  {index}")), "dry run lists {index}:\n{stdout}");
    }
    for index in kept.iter().chain(&others).chain([&state]) {
        assert!(!stdout.contains(index.as_str()), "dry run leaves {index} out:\n{stdout}");
    }
    assert!(stdout.contains(&format!("dry run: {} indices would be deleted, nothing was", old.len())), "{stdout}");
    assert_eq!(indices_starting(&format!("{prefix}-")).await.len(), before.len() + 4, "the dry run deleted nothing");

    let real = run_clean(&config, &["--older-than-days", "3"]);
    let stdout = String::from_utf8_lossy(&real.stdout);
    assert!(stdout.contains(&format!("deleted {} indices", old.len())), "{stdout}");
    let mut remaining = kept.clone();
    remaining.push(state.clone());
    remaining.extend(daily_indices(&longer, -30));
    assert_eq!(indices_starting(&format!("{prefix}-")).await, everything(remaining));
    assert_eq!(indices_starting(&format!("x-{prefix}-")).await, everything(daily_indices(&outer, -30)));
    let (status, doc) = get_json(&format!("{ELASTICSEARCH}/{state}/_doc/g:t:0:5")).await;
    assert_eq!((status, &doc["found"]), (200, &serde_json::json!(true)), "the checkpoint is still there");

    let again = run_clean(&config, &["--older-than-days", "3"]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("nothing to delete"));
    let zero = Command::new(skein_binary())
        .args(["indices", "clean", "--older-than-days", "0"])
        .env("SKEIN_ELASTICSEARCH__INDEX_PREFIX", &prefix)
        .output()
        .unwrap();
    assert!(!zero.status.success(), "0 days is refused");
    assert!(String::from_utf8_lossy(&zero.stderr).contains("at least 1"));
    Es::default().delete(&format!("{prefix}-*")).await;
    Es::default().delete(&format!("x-{prefix}-*")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_two_instances_checking_at_once_exactly_one_cleans_and_a_dead_holders_lease_passes_on() {
    require_servers();
    let mut config = isolated_config("lease");
    config.elasticsearch.retention_days = 2;
    let prefix = config.elasticsearch.index_prefix.clone();
    let names = IndexNames::new(&prefix);
    let client = skein_core::elasticsearch::client(&config.elasticsearch).unwrap();
    let old = daily_indices(&names, -5);
    for index in &old {
        create_index(index).await;
    }
    let a = DailyClean::new(client.clone(), &config.elasticsearch, "instance-a".into());
    let b = DailyClean::new(client.clone(), &config.elasticsearch, "instance-b".into());
    let now = Utc::now();
    let (from_a, from_b) = tokio::join!(a.check(now), b.check(now));
    let outcomes = [from_a.expect("a checks"), from_b.expect("b checks")];
    let cleaned: Vec<&Outcome> = outcomes.iter().filter(|o| matches!(o, Outcome::Cleaned(_))).collect();
    assert_eq!(cleaned.len(), 1, "exactly one instance cleans: {outcomes:?}");
    let mut deleted = match cleaned[0] {
        Outcome::Cleaned(deleted) => deleted.clone(),
        _ => unreachable!(),
    };
    deleted.sort();
    let mut expected = old.clone();
    expected.sort();
    assert_eq!(deleted, expected);
    assert!(
        outcomes.iter().any(|o| matches!(o, Outcome::HeldElsewhere(_) | Outcome::DoneToday)),
        "the other left it: {outcomes:?}"
    );
    assert!(indices_starting(&format!("{prefix}-jaeger-")).await.is_empty());
    assert_eq!(a.check(Utc::now()).await.unwrap(), Outcome::DoneToday, "once a day");

    // A holder that died mid-clean yesterday: its lease has expired, so the day passes on.
    let lease = Lease::new(client.clone(), format!("{prefix}-skein-retention"));
    let (_, version) = lease.read().await.unwrap().expect("a lease document");
    let yesterday = (now - chrono::Duration::days(1)).format("%Y-%m-%d").to_string();
    let dead = LeaseDocument {
        holder: "dead-instance".into(),
        expires_at_ms: now.timestamp_millis() - 1,
        done_day: Some(yesterday.clone()),
        done_at_ms: None,
        deleted: 0,
    };
    let version = lease.write(&dead, Some(version)).await.unwrap().expect("written over the version read");
    assert_eq!(lease.write(&dead, None).await.unwrap(), None, "create refuses when one exists");
    let older = daily_indices(&names, -9);
    for index in &older {
        create_index(index).await;
    }
    match b.check(Utc::now()).await.unwrap() {
        Outcome::Cleaned(deleted) => assert_eq!(deleted.len(), older.len()),
        other => panic!("the expired lease passes to b: {other:?}"),
    }
    let (done, _) = lease.read().await.unwrap().unwrap();
    assert_eq!(done.holder, "instance-b");
    assert_eq!(done.done_day, Some(now.format("%Y-%m-%d").to_string()));

    // A live lease of another instance is left alone.
    let (_, version_now) = lease.read().await.unwrap().unwrap();
    assert_ne!(version_now, version);
    let alive =
        LeaseDocument { holder: "alive-instance".into(), expires_at_ms: i64::MAX, done_day: Some(yesterday), ..dead };
    lease.write(&alive, Some(version_now)).await.unwrap().expect("written");
    assert_eq!(a.check(Utc::now()).await.unwrap(), Outcome::HeldElsewhere("alive-instance".into()));
    Es::default().delete(&format!("{prefix}-*")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_span_of_a_day_outside_the_retained_days_is_dead_lettered_and_creates_no_index() {
    require_servers();
    let mut config = isolated_config("daybounds");
    config.elasticsearch.retention_days = 3;
    let names = IndexNames::new(&config.elasticsearch.index_prefix);
    let pipeline = Pipeline::start(&config, false, true).await;
    let now_ns = Utc::now().timestamp_nanos_opt().unwrap() as u64;
    let day_ns = 86_400 * 1_000_000_000;
    let at = |mut span: opentelemetry_proto::tonic::trace::v1::Span, start_ns: u64| {
        (span.start_time_unix_nano, span.end_time_unix_nano) = (start_ns, start_ns + 1_000_000);
        span
    };
    let mixed = random_trace_id();
    let future = random_trace_id();
    let fine = random_trace_id();
    // Records as Kafka holds them (an old offset replayed, a client with a wrong clock): straight
    // to the topic, as the collector's own time bounds apply on receipt only.
    let records = [
        (
            mixed,
            vec![at(span(mixed, 1, None, "today"), now_ns), at(span(mixed, 2, Some(1), "old"), now_ns - 10 * day_ns)],
        ),
        (future, vec![at(span(future, 1, None, "ahead"), now_ns + 5 * day_ns)]),
        (fine, vec![at(span(fine, 1, None, "fine"), now_ns)]),
    ];
    let producer: FutureProducer =
        rdkafka::ClientConfig::new().set("bootstrap.servers", &config.kafka.brokers).create().unwrap();
    for (trace, spans) in records {
        let value = request("daybounds", spans).encode_to_vec();
        let key = hex::encode(trace);
        producer
            .send(FutureRecord::to(&config.kafka.spans_topic).key(&key).payload(&value), Duration::from_secs(10))
            .await
            .expect("record produced");
    }
    let today = names.span_index(now_ns / 1000);
    let es = Es::default();
    wait_until("the in-range spans indexed", WAIT, || async { es.count(&today).await == 2 }).await;
    let end = topic_end_total(&config, &config.kafka.spans_topic);
    wait_until("offsets committed past every record", WAIT, || async { committed_total(&config) == end }).await;
    assert_eq!(topic_end_total(&config, &config.kafka.dlq_topic), 2, "the mixed and the future record");
    let indices = indices_starting(&format!("{}-", config.elasticsearch.index_prefix)).await;
    let old = names.span_index((now_ns - 10 * day_ns) / 1000);
    let ahead = names.span_index((now_ns + 5 * day_ns) / 1000);
    assert!(!indices.contains(&old) && !indices.contains(&ahead), "no index for either day: {indices:?}");

    let (_, _, headers) = first_dead_letter(&config).await;
    assert_eq!(headers[dlq::ERROR_KIND_HEADER], "out_of_range");
    let reason = &headers[dlq::ERROR_HEADER];
    assert!(reason.contains("retention_days = 3") || reason.contains("after tomorrow"), "{reason}");
    assert!(reason.contains("of the record's"), "{reason}");
    let metrics = skein_core::telemetry::render_metrics();
    for side in ["before_retained_days", "after_tomorrow"] {
        let line = format!("skein_ingester_spans_outside_retention_total{{side=\"{side}\"}}");
        assert!(metrics.lines().any(|l| l.starts_with(&line)), "{line} on /metrics");
    }
    pipeline.stop().await;
    es.delete(&format!("{}-*", config.elasticsearch.index_prefix)).await;
}

/// `skein ingester` as its own process with `elasticsearch.retention_days`, admin on `admin`.
fn spawn_ingester(config: &SkeinConfig, admin: std::net::SocketAddr) -> std::process::Child {
    Command::new(skein_binary())
        .arg("ingester")
        .env("SKEIN_KAFKA__BROKERS", &config.kafka.brokers)
        .env("SKEIN_KAFKA__SPANS_TOPIC", &config.kafka.spans_topic)
        .env("SKEIN_KAFKA__DLQ_TOPIC", &config.kafka.dlq_topic)
        .env("SKEIN_KAFKA__PARTITIONS", config.kafka.partitions.to_string())
        .env("SKEIN_ELASTICSEARCH__URL", &config.elasticsearch.url)
        .env("SKEIN_ELASTICSEARCH__INDEX_PREFIX", &config.elasticsearch.index_prefix)
        .env("SKEIN_ELASTICSEARCH__RETENTION_DAYS", config.elasticsearch.retention_days.to_string())
        .env("SKEIN_INGESTER__GROUP_ID", &config.ingester.group_id)
        .env("SKEIN_INGESTER__ADMIN_LISTEN", admin.to_string())
        .env("SKEIN_LOG__LEVEL", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .expect("skein ingester starts")
}

/// `skein_retention_checks_total` of one process's `/metrics`, by outcome.
async fn checks(admin: std::net::SocketAddr) -> std::collections::BTreeMap<String, f64> {
    let Ok(response) = reqwest::get(format!("http://{admin}/metrics")).await else { return Default::default() };
    let text = response.text().await.unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("skein_retention_checks_total{outcome=\"")?;
            let (outcome, value) = rest.split_once("\"} ")?;
            Some((outcome.to_string(), value.trim().parse().ok()?))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_two_ingester_processes_with_retention_days_one_deletes_the_old_indices() {
    require_servers();
    let mut config = isolated_config("daily");
    config.elasticsearch.retention_days = 3;
    let prefix = config.elasticsearch.index_prefix.clone();
    let names = IndexNames::new(&prefix);
    let old = daily_indices(&names, -4);
    let kept = daily_indices(&names, -2);
    for index in old.iter().chain(&kept) {
        create_index(index).await;
    }
    let admins = [free_port(), free_port()];
    let mut children: Vec<_> = admins.iter().map(|admin| spawn_ingester(&config, *admin)).collect();
    wait_until("both ingesters checked the lease", WAIT, || async {
        let (a, b) = (checks(admins[0]).await, checks(admins[1]).await);
        !a.is_empty() && !b.is_empty()
    })
    .await;
    let (a, b) = (checks(admins[0]).await, checks(admins[1]).await);
    for child in &mut children {
        child.kill().expect("the ingester I started stops");
        child.wait().expect("and is reaped");
    }
    let cleaned = |c: &std::collections::BTreeMap<String, f64>| c.get("cleaned").copied().unwrap_or(0.0);
    assert_eq!(cleaned(&a) + cleaned(&b), 1.0, "exactly one of the two cleaned: {a:?} {b:?}");
    assert!(!a.contains_key("failed") && !b.contains_key("failed"), "{a:?} {b:?}");
    let mut left = kept.clone();
    left.sort();
    let remaining: Vec<String> = indices_starting(&format!("{prefix}-"))
        .await
        .into_iter()
        .filter(|index| !index.ends_with("skein-retention"))
        .collect();
    assert_eq!(remaining, left, "the 4-day-old indices are gone, the 2-day-old ones stay");
    Es::default().delete(&format!("{prefix}-*")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analytics_writes_no_document_for_a_day_outside_the_retained_days() {
    use opentelemetry_proto::tonic::trace::v1::span::SpanKind::{Client, Server};
    use rdkafka::message::{Header, OwnedHeaders};
    use skein_schemas::kafka_record::{trace_key, ENCODING_HEADER, ENCODING_OTLP_PROTO};

    require_servers();
    let mut config = isolated_config("analytics-days");
    config.kafka.partitions = 1; // one clock: the old trace is read before the recent one
    config.elasticsearch.retention_days = 3;
    quick_analytics(&mut config);
    let names = IndexNames::new(&config.elasticsearch.index_prefix);
    let now_ms = Utc::now().timestamp_millis();
    // Analytics buckets by record time (its watermark): a record five days old, as a replay from
    // an old offset reads it (inside Kafka's default retention of 7 days), then one a few minutes
    // old, which moves the watermark past the old buckets (a marker carrying "now" closes it).
    let record_ms = now_ms - now_ms.rem_euclid(60_000) - 3 * 60_000;
    let old_ms = record_ms - 5 * 86_400_000;
    let (old_ns, recent_ns) = (old_ms as u64 * 1_000_000, record_ms as u64 * 1_000_000);
    let call = |trace: [u8; 16], caller: &str, callee: &str, start_ns: u64| {
        let client = otlp_span(trace, 1, None, "call", Client, start_ns, 5_000_000);
        let server = otlp_span(trace, 2, Some(1), "serve", Server, start_ns + 1_000_000, 3_000_000);
        request(caller, vec![client])
            .resource_spans
            .into_iter()
            .chain(request(callee, vec![server]).resource_spans)
            .collect::<Vec<_>>()
    };
    let (old, recent) = ([1u8; 16], [2u8; 16]);
    skein_core::kafka::ensure_topics(&config.kafka).await.expect("topics");
    let producer: FutureProducer =
        rdkafka::ClientConfig::new().set("bootstrap.servers", &config.kafka.brokers).create().unwrap();
    for (trace, caller, callee, start_ns, timestamp) in
        [(old, "old-a", "old-b", old_ns, old_ms), (recent, "new-a", "new-b", recent_ns, record_ms)]
    {
        let value =
            opentelemetry_proto::tonic::trace::v1::TracesData { resource_spans: call(trace, caller, callee, start_ns) }
                .encode_to_vec();
        let key = trace_key(&trace);
        let headers = OwnedHeaders::new().insert(Header { key: ENCODING_HEADER, value: Some(ENCODING_OTLP_PROTO) });
        let record =
            FutureRecord::to(&config.kafka.spans_topic).key(&key).payload(&value).timestamp(timestamp).headers(headers);
        producer.send(record, Duration::from_secs(10)).await.expect("record produced");
    }
    let pipeline = Pipeline::start_with_analytics(&config).await;
    let es = Es::default();
    let recent_deps = names.dependencies_index(record_ms);
    wait_until("the recent trace's link written", WAIT, || async {
        es.documents(&recent_deps).await.iter().any(|(_, doc)| doc["dependencies"].to_string().contains("new-b"))
    })
    .await;
    let counted = || {
        skein_core::telemetry::render_metrics()
            .lines()
            .find_map(|l| {
                l.strip_prefix("skein_analytics_documents_outside_retention_total ")?.trim().parse::<f64>().ok()
            })
            .unwrap_or(0.0)
    };
    wait_until("the old trace's documents counted as outside", WAIT, || {
        let n = counted();
        async move { n > 0.0 }
    })
    .await;
    let indices = indices_starting(&format!("{}-", config.elasticsearch.index_prefix)).await;
    for absent in [names.dependencies_index(old_ms), names.metrics_index(old_ms)] {
        assert!(!indices.contains(&absent), "no {absent}: {indices:?}");
    }
    assert!(indices.contains(&names.metrics_index(record_ms)), "the recent day's aggregates: {indices:?}");
    pipeline.stop().await;
    es.delete(&format!("{}-*", config.elasticsearch.index_prefix)).await;
}
