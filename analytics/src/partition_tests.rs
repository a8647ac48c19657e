//! The exactly-once property of [`PartitionState`] on generated streams: a run that restarts from
//! its checkpoints at arbitrary points (losing everything not checkpointed, sometimes after writing
//! documents but before saving the checkpoint) writes exactly the documents of a run that never
//! stopped.

use std::collections::BTreeMap;

use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{span, ResourceSpans, ScopeSpans, Span, Status, TracesData};
use prost::Message;
use skein_schemas::elasticsearch::IndexNames;

use crate::documents::Target;
use crate::names::Names;
use crate::partition::{DependencyTotals, PartitionCheckpoint, PartitionState, Payload, Scratch, Settings, NO_TENANT};

/// Tiny deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// (timestamp, payload or None for a marker, tenant header)
type Record = (i64, Option<Vec<u8>>, Option<&'static str>);

fn span_record(service: &str, spans: Vec<Span>) -> Vec<u8> {
    let attribute = KeyValue {
        key: "service.name".into(),
        value: Some(AnyValue { value: Some(any_value::Value::StringValue(service.into())) }),
        ..Default::default()
    };
    TracesData {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource { attributes: vec![attribute], ..Default::default() }),
            scope_spans: vec![ScopeSpans { spans, ..Default::default() }],
            ..Default::default()
        }],
    }
    .encode_to_vec()
}

fn generate(seed: u64, traces: u64) -> Vec<Record> {
    let mut rng = Rng(seed);
    // Tenants from a generator of their own, so the rest of the stream is the one without them.
    let mut tenant_rng = Rng(seed ^ 0x9e37_79b9_7f4a_7c15);
    let tenants = [None, Some("tenant-a"), Some("tenant-b")];
    let mut previous: Option<(Vec<u8>, Option<&'static str>)> = None;
    let services = ["web", "api", "auth", "db", "cache"];
    let kinds = [span::SpanKind::Server, span::SpanKind::Client, span::SpanKind::Internal, span::SpanKind::Producer];
    let mut records: Vec<Record> = Vec::new();
    let mut now = 1_700_000_000_000i64;
    // Pending (due time, record) so traces interleave and arrive out of order.
    let mut pending: Vec<(i64, i64, Vec<u8>, Option<&'static str>)> = Vec::new();
    for t in 0..traces {
        now += rng.below(40) as i64;
        let tenant = tenants[tenant_rng.below(3) as usize];
        // Now and then another tenant sends the previous trace's id: two traces, never one.
        let trace_id = match &previous {
            Some((id, other)) if *other != tenant && tenant_rng.below(4) == 0 => id.clone(),
            _ => (t + 1).to_be_bytes().repeat(2),
        };
        previous = Some((trace_id.clone(), tenant));
        let spans = 1 + rng.below(12);
        for s in 0..spans {
            let service = services[rng.below(5) as usize];
            let parent = if s == 0 { vec![] } else { (t * 100 + rng.below(s) + 1).to_be_bytes().to_vec() };
            let mut span = Span {
                trace_id: trace_id.clone(),
                span_id: (t * 100 + s + 1).to_be_bytes().to_vec(),
                parent_span_id: parent,
                // Several operations per service, some names shared across services.
                name: if rng.below(3) == 0 {
                    format!("op{}", rng.below(3))
                } else {
                    format!("{service}-{}", rng.below(4))
                },
                kind: kinds[rng.below(4) as usize] as i32,
                start_time_unix_nano: 1_000,
                end_time_unix_nano: 1_000 + rng.below(5_000_000),
                ..Default::default()
            };
            if rng.below(10) == 0 {
                span.status = Some(Status { code: 2, ..Default::default() });
            }
            if rng.below(8) == 0 {
                span.attributes.push(KeyValue {
                    key: "peer.service".into(),
                    value: Some(AnyValue { value: Some(any_value::Value::StringValue("redis".into())) }),
                    ..Default::default()
                });
            }
            // Mostly soon, sometimes late (past the idle gap), sometimes a duplicate.
            let delay = if rng.below(25) == 0 { 1_500 + rng.below(3_000) as i64 } else { rng.below(300) as i64 };
            let bytes = span_record(service, vec![span]);
            if rng.below(30) == 0 {
                pending.push((now + delay + 5, now, bytes.clone(), tenant));
            }
            pending.push((now + delay, now, bytes, tenant));
        }
        pending.sort_by_key(|(due, _, _, _)| -due);
        while pending.last().is_some_and(|(due, _, _, _)| *due <= now) {
            let (due, _, bytes, tenant) = pending.pop().expect("checked");
            // Timestamps mostly rise; some collectors lag a little.
            records.push((due - rng.below(50) as i64, Some(bytes), tenant));
        }
        if rng.below(40) == 0 {
            now += 2_500; // a quiet spell, then a marker as an idle partition would get
            records.push((now, None, None));
        }
    }
    for (due, _, bytes, tenant) in pending.into_iter().rev() {
        records.push((due, Some(bytes), tenant));
    }
    records.push((now + 1_000_000, None, None));
    records
}

fn settings() -> Settings {
    Settings {
        idle_gap_ms: 1_000,
        max_age_ms: 4_000,
        max_open_traces: 40,
        max_spans_per_trace: 9,
        bucket_ms: 1_000,
        dependencies_bucket_ms: 5_000,
    }
}

type Written = BTreeMap<String, Vec<u8>>;

/// Write the final buckets and dependencies documents, as the worker does before checkpointing.
fn write_finals(state: &mut PartitionState, names: &Names, written: &mut Written) {
    let indices = IndexNames::new("");
    let settings = state.settings().clone();
    let target = Target { group: "g", indices: &indices, topic: "t", partition: 0, settings: &settings, fence: None };
    let (finals, totals) = state.take_finals(names);
    let mut docs = Vec::new();
    for f in &finals {
        target.bucket_documents(f.start_ms, &f.bucket, names, &mut docs);
    }
    for t in &totals {
        target.dependencies_documents(t, &mut docs);
    }
    for doc in docs {
        written.insert(format!("{}/{}", doc.index, doc.id), doc.body);
    }
}

fn read(state: &mut PartitionState, records: &[Record], offset: usize, names: &mut Names, scratch: &mut Scratch) {
    let (ts, payload, tenant) = &records[offset];
    let tenant = tenant.map_or(NO_TENANT, |tenant| names.id(tenant));
    let payload = payload.as_deref().map_or(Payload::Marker, |bytes| Payload::Spans(bytes, tenant));
    state.read(offset as i64, Some(*ts), payload, names, scratch, |_, _, _, _, _| {});
}

fn uninterrupted(records: &[Record]) -> (Written, PartitionState) {
    let mut state = PartitionState::new(settings(), i64::MIN);
    let (mut names, mut scratch, mut written) = (Names::default(), Scratch::default(), Written::new());
    for offset in 0..records.len() {
        read(&mut state, records, offset, &mut names, &mut scratch);
        if offset % 97 == 0 {
            write_finals(&mut state, &names, &mut written);
        }
    }
    write_finals(&mut state, &names, &mut written);
    (written, state)
}

fn with_crashes(records: &[Record], seed: u64) -> (Written, usize) {
    let mut rng = Rng(seed);
    let mut written = Written::new();
    let mut saved: Option<PartitionCheckpoint> = None;
    let mut restarts = 0;
    loop {
        let (mut names, mut scratch) = (Names::default(), Scratch::default());
        let mut state = match saved.clone() {
            Some(checkpoint) => PartitionState::restore(settings(), checkpoint, &mut names),
            None => PartitionState::new(settings(), i64::MIN),
        };
        let start = saved.as_ref().map_or(0, |c| c.resume.offset as usize);
        let crash_at = if restarts < 12 { start + 1 + rng.below(600) as usize } else { usize::MAX };
        let mut offset = start;
        while offset < records.len() && offset < crash_at {
            read(&mut state, records, offset, &mut names, &mut scratch);
            offset += 1;
            if rng.below(50) == 0 {
                write_finals(&mut state, &names, &mut written);
                // Sometimes the process dies between the documents and the checkpoint.
                if rng.below(6) != 0 {
                    // Through JSON, as the worker stores it.
                    let checkpoint =
                        state.checkpoint(&names).map(|c| serde_json::to_vec(&c).expect("checkpoint serializes"));
                    saved = checkpoint.map(|bytes| serde_json::from_slice(&bytes).expect("checkpoint reads back"));
                }
            }
        }
        if offset >= records.len() {
            write_finals(&mut state, &names, &mut written);
            return (written, restarts);
        }
        restarts += 1;
    }
}

#[test]
fn restarts_from_checkpoints_write_exactly_the_uninterrupted_documents() {
    for seed in [7, 8, 9, 10] {
        let records = generate(seed * 7919, 1_500);
        let (expected, state) = uninterrupted(&records);
        assert!(state.counters.traces_closed_capacity > 0, "the stream exercises capacity eviction");
        assert!(state.counters.traces_closed_span_limit > 0, "the stream exercises the span limit");
        assert!(state.counters.late_spans > 0, "the stream has late spans");
        assert!(expected.keys().any(|k| k.starts_with("jaeger-dependencies-")));
        assert!(expected.keys().any(|k| k.contains(":oplink:")), "operation links are written");
        for tenant in ["tenant-a", "tenant-b"] {
            assert!(expected.keys().any(|k| k.starts_with(&format!("{tenant}-jaeger-dependencies-"))), "{tenant}");
            assert!(expected.keys().any(|k| k.starts_with(&format!("{tenant}-skein-metrics-"))), "{tenant}");
        }
        let (actual, restarts) = with_crashes(&records, seed);
        assert!(restarts >= 10, "seed {seed}: only {restarts} restarts");
        let missing: Vec<&String> = expected.keys().filter(|k| !actual.contains_key(*k)).collect();
        let extra: Vec<&String> = actual.keys().filter(|k| !expected.contains_key(*k)).collect();
        assert!(missing.is_empty() && extra.is_empty(), "seed {seed}: missing {missing:?}, extra {extra:?}");
        for (id, body) in &expected {
            assert_eq!(
                actual.get(id).map(|b| String::from_utf8_lossy(b).into_owned()),
                Some(String::from_utf8_lossy(body).into_owned()),
                "seed {seed}: {id}"
            );
        }
    }
}

#[test]
fn same_records_at_any_batching_give_the_same_documents() {
    let records = generate(42, 800);
    let (a, _) = uninterrupted(&records);
    // Reading everything before writing anything must not change a single byte.
    let mut state = PartitionState::new(settings(), i64::MIN);
    let (mut names, mut scratch, mut b) = (Names::default(), Scratch::default(), Written::new());
    for offset in 0..records.len() {
        read(&mut state, &records, offset, &mut names, &mut scratch);
    }
    write_finals(&mut state, &names, &mut b);
    assert_eq!(a, b);
}

#[test]
fn operation_links_of_a_bucket_add_up_to_its_service_links() {
    let records = generate(99, 1_000);
    let (written, _) = uninterrupted(&records);
    // (bucket, parent, child) → (calls, errors, duration sum), from each series kind.
    type Totals = BTreeMap<(String, String, String), (u64, u64, u64)>;
    let (mut links, mut operation_links, mut operations, mut peers) = (Totals::new(), Totals::new(), 0, 0);
    for body in written.values() {
        let doc: serde_json::Value = serde_json::from_slice(body).expect("documents are JSON");
        let target = match doc["series"].as_str() {
            Some("link") => &mut links,
            Some("operation_link") => &mut operation_links,
            _ => continue,
        };
        if doc["series"] == "operation_link" {
            assert!(doc["operation"].is_string() && doc["childOperation"].is_string(), "{doc}");
            assert_eq!(doc["exemplarTraceId"].as_str().map(str::len), Some(32), "{doc}");
            if doc["child"] == "redis" {
                assert_eq!(doc["childOperation"], "", "a peer.service leaf has no child operation");
                peers += 1;
            }
            operations += 1;
        }
        let key = (doc["timestamp"].to_string(), doc["parent"].to_string(), doc["child"].to_string());
        let entry = target.entry(key).or_default();
        entry.0 += doc["calls"].as_u64().unwrap();
        entry.1 += doc["errors"].as_u64().unwrap();
        entry.2 += doc["durationSumNanos"].as_u64().unwrap();
    }
    assert!(peers > 0, "the stream has peer.service leaves");
    assert!(operations > links.len(), "more operation links ({operations}) than service links ({})", links.len());
    assert_eq!(operation_links, links);
}

/// Provisional documents of the open buckets, as the worker renders them at a flush.
fn provisional(state: &mut PartitionState, names: &Names) -> Vec<crate::documents::Document> {
    let indices = IndexNames::new("");
    let settings = state.settings().clone();
    let target = Target { group: "g", indices: &indices, topic: "t", partition: 0, settings: &settings, fence: None };
    let (buckets, _) = state.open_buckets(names);
    let mut docs = Vec::new();
    for (start, bucket) in buckets {
        target.changed_documents(start, bucket, names, &mut docs);
    }
    docs
}

/// One record of `spans` spans of one trace, each with its own operation name `{prefix}-{i}`;
/// span `i` is a child of span `(i − 1) / 10`.
fn distinct_names_record(trace: u64, prefix: &str, spans: u64) -> Vec<u8> {
    let spans = (0..spans)
        .map(|i| Span {
            trace_id: trace.to_be_bytes().repeat(2),
            span_id: (trace * 100_000 + i + 1).to_be_bytes().to_vec(),
            parent_span_id: if i == 0 { vec![] } else { (trace * 100_000 + (i - 1) / 10 + 1).to_be_bytes().to_vec() },
            name: format!("{prefix}-{i}"),
            kind: span::SpanKind::Internal as i32,
            start_time_unix_nano: 1_000,
            end_time_unix_nano: 1_000 + 3_000_000,
            ..Default::default()
        })
        .collect();
    span_record("bulk", spans)
}

#[test]
fn a_flush_rewrites_only_the_series_changed_since_the_last_one() {
    let settings = Settings { max_spans_per_trace: 10_000, ..settings() };
    let mut state = PartitionState::new(settings, i64::MIN);
    let (mut names, mut scratch) = (Names::default(), Scratch::default());
    let t = 1_700_000_000_000;
    // 10,000 distinct operation names in one open bucket.
    let records: Vec<Record> = vec![(t, Some(distinct_names_record(1, "item", 10_000)), None)];
    read(&mut state, &records, 0, &mut names, &mut scratch);
    let first = provisional(&mut state, &names);
    assert_eq!(first.len(), 10_000, "every new series once");
    assert!(provisional(&mut state, &names).is_empty(), "nothing changed: nothing rewritten");

    // Two spans: one of an existing series, one of a new one.
    let more = span_record(
        "bulk",
        vec![
            Span { name: "item-7".into(), ..distinct_span(2, 1) },
            Span { name: "item-new".into(), ..distinct_span(3, 2) },
        ],
    );
    let records = [records[0].clone(), (t + 10, Some(more), None)];
    read(&mut state, &records, 1, &mut names, &mut scratch);
    let second = provisional(&mut state, &names);
    let rewritten: BTreeMap<String, u64> = second
        .iter()
        .map(|d| serde_json::from_slice::<serde_json::Value>(&d.body).expect("documents are JSON"))
        .map(|doc| (doc["operation"].as_str().unwrap_or_default().to_string(), doc["calls"].as_u64().unwrap_or(0)))
        .collect();
    let expected = BTreeMap::from([("item-7".to_string(), 2), ("item-new".to_string(), 1)]);
    assert_eq!(rewritten, expected, "only the two changed series, each whole");

    // The trace closes: its 9,999 operation links and its service link are new series, and the
    // final bucket is written whole, byte for byte as the provisional documents last said.
    read(&mut state, &[records[0].clone(), records[1].clone(), (t + 3_000, None, None)], 2, &mut names, &mut scratch);
    let mut last: Written = Written::new();
    for doc in first.into_iter().chain(second) {
        last.insert(format!("{}/{}", doc.index, doc.id), doc.body);
    }
    let mut finals = Written::new();
    write_finals(&mut state, &names, &mut finals);
    let metrics: Vec<&String> = finals.keys().filter(|k| !k.starts_with("jaeger-dependencies-")).collect();
    assert_eq!(metrics.len(), 10_001 + 9_999 + 1, "operations, operation links, the service link");
    for (id, body) in &last {
        assert_eq!(finals.get(id), Some(body), "{id}: the final document equals the last provisional one");
    }
}

/// A root span of `trace` with id `id`.
fn distinct_span(trace: u64, id: u64) -> Span {
    Span {
        trace_id: trace.to_be_bytes().repeat(2),
        span_id: (trace * 100_000 + id).to_be_bytes().to_vec(),
        kind: span::SpanKind::Internal as i32,
        start_time_unix_nano: 1_000,
        end_time_unix_nano: 1_000 + 3_000_000,
        ..Default::default()
    }
}

#[test]
fn provisional_documents_at_every_flush_end_as_the_final_documents() {
    let records = generate(5, 800);
    let (finals_only, _) = uninterrupted(&records);
    let mut state = PartitionState::new(settings(), i64::MIN);
    let (mut names, mut scratch, mut written) = (Names::default(), Scratch::default(), Written::new());
    let mut rewritten = 0;
    for offset in 0..records.len() {
        read(&mut state, &records, offset, &mut names, &mut scratch);
        if offset % 13 == 0 {
            write_finals(&mut state, &names, &mut written);
            for doc in provisional(&mut state, &names) {
                rewritten += 1;
                written.insert(format!("{}/{}", doc.index, doc.id), doc.body);
            }
        }
    }
    write_finals(&mut state, &names, &mut written);
    assert!(rewritten > 0, "the stream has open buckets at flushes");
    let metrics = |w: &Written| -> Written {
        w.iter().filter(|(k, _)| !k.starts_with("jaeger-dependencies-")).map(|(k, v)| (k.clone(), v.clone())).collect()
    };
    assert_eq!(metrics(&written), metrics(&finals_only), "every provisional document is overwritten by its final one");
}

/// Span `id` of `trace` (ids 1..), child of `parent` (0: a root), one millisecond long.
fn call_span(trace: u64, id: u64, parent: u64) -> Span {
    Span {
        parent_span_id: if parent == 0 { vec![] } else { (trace * 100_000 + parent).to_be_bytes().to_vec() },
        kind: (if parent == 0 { span::SpanKind::Server } else { span::SpanKind::Client }) as i32,
        end_time_unix_nano: 1_000 + 1_000_000,
        ..distinct_span(trace, id)
    }
}

#[test]
fn a_batch_of_interleaved_traces_gives_the_documents_of_one_record_per_trace() {
    // Trace 1: web → api; trace 2: web → db; in one batch as a foreign writer sends it, the
    // spans of the two traces interleaved (encoded TracesData concatenate into one).
    let spans = [
        ("web", call_span(1, 1, 0)),
        ("web", call_span(2, 1, 0)),
        ("api", call_span(1, 2, 1)),
        ("db", call_span(2, 2, 1)),
    ];
    let batch: Vec<u8> = spans.iter().flat_map(|(service, span)| span_record(service, vec![span.clone()])).collect();
    let per_trace = |trace: u64| -> Vec<u8> {
        spans
            .iter()
            .filter(|(_, span)| span.trace_id == trace.to_be_bytes().repeat(2))
            .flat_map(|(service, span)| span_record(service, vec![span.clone()]))
            .collect()
    };
    let t = 1_700_000_000_000;
    let documents = |records: Vec<Record>| {
        let mut state = PartitionState::new(settings(), i64::MIN);
        let (mut names, mut scratch, mut written) = (Names::default(), Scratch::default(), Written::new());
        for offset in 0..records.len() {
            read(&mut state, &records, offset, &mut names, &mut scratch);
        }
        write_finals(&mut state, &names, &mut written);
        (written, state.open_traces())
    };
    let far = t + 1_000_000;
    let (batched, open) = documents(vec![(t, Some(batch), None), (far, None, None)]);
    assert_eq!(open, 0, "both traces of the batch closed");
    let (one_each, _) =
        documents(vec![(t, Some(per_trace(1)), None), (t, Some(per_trace(2)), None), (far, None, None)]);
    let links: Vec<String> = batched
        .iter()
        .filter(|(id, _)| id.starts_with("jaeger-dependencies-"))
        .map(|(_, body)| String::from_utf8_lossy(body).into_owned())
        .collect();
    assert_eq!(links.len(), 1, "{links:?}");
    assert!(links[0].contains("\"api\"") && links[0].contains("\"db\""), "both links counted: {}", links[0]);
    assert_eq!(batched, one_each);
}

/// Documents of `records` read from the start of a partition, by index then id.
fn documents_of(records: &[Record]) -> (Written, PartitionState) {
    let mut state = PartitionState::new(settings(), i64::MIN);
    let (mut names, mut scratch, mut written) = (Names::default(), Scratch::default(), Written::new());
    for offset in 0..records.len() {
        read(&mut state, records, offset, &mut names, &mut scratch);
    }
    write_finals(&mut state, &names, &mut written);
    (written, state)
}

#[test]
fn two_tenants_sending_one_trace_id_get_two_traces_with_their_own_links_and_series() {
    // Same trace id, same span ids: tenant a's web calls api, tenant b's shop calls db. Merged,
    // span 2's parent would be ambiguous and links would cross the tenants.
    let record = |root: &str, child: &str| -> Vec<u8> {
        [span_record(root, vec![call_span(1, 1, 0)]), span_record(child, vec![call_span(1, 2, 1)])].concat()
    };
    let t = 1_700_000_000_000;
    let records: Vec<Record> = vec![
        (t, Some(record("web", "api")), Some("a")),
        (t + 1, Some(record("shop", "db")), Some("b")),
        (t + 1_000_000, None, None),
    ];
    let mut state = PartitionState::new(settings(), i64::MIN);
    let (mut names, mut scratch) = (Names::default(), Scratch::default());
    read(&mut state, &records, 0, &mut names, &mut scratch);
    read(&mut state, &records, 1, &mut names, &mut scratch);
    assert_eq!(state.open_traces(), 2, "one trace per tenant");
    let (written, state) = documents_of(&records);
    assert_eq!(state.counters.late_spans, 0);
    let mut links: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let mut services: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
    for (key, body) in &written {
        let doc: serde_json::Value = serde_json::from_slice(body).expect("documents are JSON");
        let (index, _) = key.split_once('/').expect("index/id");
        if let Some(family_at) = index.find("-jaeger-dependencies-") {
            for link in doc["dependencies"].as_array().expect("links") {
                let pair = (link["parent"].as_str().unwrap().into(), link["child"].as_str().unwrap().into());
                links.entry(index[..family_at].to_string()).or_default().push(pair);
            }
        } else {
            let family_at = index.find("-skein-metrics-").unwrap_or_else(|| panic!("a tenant's index: {index}"));
            let service = doc["service"].as_str().unwrap().to_string();
            services.entry(index[..family_at].to_string()).or_default().insert(service);
        }
    }
    let pair = |p: &str, c: &str| vec![(p.to_string(), c.to_string())];
    assert_eq!(links, BTreeMap::from([("a".into(), pair("web", "api")), ("b".into(), pair("shop", "db"))]));
    let set = |names: [&str; 2]| names.iter().map(|n| n.to_string()).collect::<std::collections::BTreeSet<_>>();
    assert_eq!(services, BTreeMap::from([("a".into(), set(["api", "web"])), ("b".into(), set(["db", "shop"]))]));
}

#[test]
fn a_trace_spanning_the_checkpoint_is_skipped_on_replay_only_for_its_own_tenant() {
    // Tenant a's trace 1 closes (offset 5) after the checkpoint's resume point (offset 1, held by
    // the open trace 9), so the replay skips its records up to offset 5. Tenant b's trace 1
    // arrives in between (offset 3): it is another trace and must be read whole.
    let t = 1_700_000_000_000;
    let records: Vec<Record> = vec![
        (t, Some(span_record("web", vec![call_span(1, 1, 0)])), Some("a")),
        (t + 10, Some(span_record("keep", vec![call_span(9, 1, 0)])), None),
        (t + 500, Some(span_record("api", vec![call_span(1, 2, 1)])), Some("a")),
        (t + 1_000, Some(span_record("shop", vec![call_span(1, 1, 0)])), Some("b")),
        (t + 1_005, Some(span_record("keep", vec![call_span(9, 2, 1)])), None),
        (t + 1_600, Some(span_record("db", vec![call_span(1, 2, 1)])), Some("b")),
        (t + 2_001, Some(span_record("keep", vec![call_span(9, 3, 1)])), None),
        (t + 1_000_000, None, None),
    ];
    let (expected, _) = documents_of(&records);
    let links = |w: &Written| w.keys().filter(|k| k.contains("jaeger-dependencies-")).cloned().collect::<Vec<_>>();
    assert_eq!(links(&expected).len(), 3, "a's, b's and the untenanted links: {:?}", expected.keys());
    let mut state = PartitionState::new(settings(), i64::MIN);
    let (mut names, mut scratch, mut written) = (Names::default(), Scratch::default(), Written::new());
    for offset in 0..7 {
        read(&mut state, &records, offset, &mut names, &mut scratch);
    }
    write_finals(&mut state, &names, &mut written);
    let checkpoint = state.checkpoint(&names).expect("records were read");
    assert_eq!(checkpoint.resume.offset, 1);
    assert_eq!(checkpoint.spanning.len(), 1);
    assert_eq!(checkpoint.spanning[0].tenant.as_deref(), Some("a"));
    let bytes = serde_json::to_vec(&checkpoint).expect("checkpoint serializes");
    let checkpoint: PartitionCheckpoint = serde_json::from_slice(&bytes).expect("checkpoint reads back");
    // Interned in another order after the restart.
    let (mut names, mut scratch) = (Names::default(), Scratch::default());
    names.id("b");
    let mut state = PartitionState::restore(settings(), checkpoint, &mut names);
    for offset in 1..records.len() {
        read(&mut state, &records, offset, &mut names, &mut scratch);
    }
    write_finals(&mut state, &names, &mut written);
    assert_eq!(written, expected);
}

#[test]
fn dependencies_totals_of_checkpoints_before_tenants_read_as_untenanted() {
    let old: DependencyTotals =
        serde_json::from_str(r#"{"start_ms":5000,"links":[["a","b",3,1]]}"#).expect("an old checkpoint reads");
    assert_eq!(old.links, BTreeMap::from([(("".into(), "a".into(), "b".into()), (3, 1))]));
    let mut both = old.clone();
    both.links.insert(("acme".into(), "a".into(), "b".into()), (2, 0));
    let json = serde_json::to_string(&both).unwrap();
    assert_eq!(json, r#"{"start_ms":5000,"links":[["a","b",3,1],["acme","a","b",2,0]]}"#);
    assert_eq!(serde_json::from_str::<DependencyTotals>(&json).unwrap(), both);
    assert_eq!(both.tenants().collect::<Vec<_>>(), vec!["", "acme"]);
}
