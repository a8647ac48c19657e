//! Analytics benchmark (`make bench` runs it): spans per second per core through the partition
//! state machine (record parsing, per-operation aggregates, trace assembly, links at close, bucket
//! finalization and document rendering), and bytes of memory per buffered span.
//!
//! One thread, records in memory: the figure is the analytics logic alone, without Kafka's fetch
//! or Elasticsearch's writes (those are measured by the e2e and pipeline figures).
//!
//! `cargo run --release -p skein-analytics --example analytics_bench -- [spans]`

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{span, ResourceSpans, ScopeSpans, Span, Status, TracesData};
use prost::Message;
use skein_analytics::documents::Target;
use skein_analytics::names::Names;
use skein_analytics::partition::{PartitionState, Payload, Scratch, Settings, NO_TENANT};
use skein_schemas::elasticsearch::IndexNames;

/// Counts live heap bytes, to measure memory per buffered span.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(any_value::Value::StringValue(value.into())) }),
        ..Default::default()
    }
}

/// Traces shaped like `skein loadgen`'s: 10 spans over 4 services, with attributes, as 2 records
/// (the way a collector receives halves of a trace from different services).
fn records(traces: u64) -> Vec<(i64, Vec<u8>)> {
    let services = ["frontend", "cart", "checkout", "payment", "inventory", "shipping"];
    let mut out = Vec::with_capacity(traces as usize * 2);
    for t in 0..traces {
        let mut trace_id = [0u8; 16];
        trace_id[..8].copy_from_slice(&(t + 1).to_be_bytes());
        trace_id[8..].copy_from_slice(&(t.wrapping_mul(0x9e37_79b9_7f4a_7c15)).to_be_bytes());
        let mut halves: [Vec<(usize, Span)>; 2] = [Vec::new(), Vec::new()];
        for s in 1..=10u64 {
            let kind = if s % 2 == 0 { span::SpanKind::Client } else { span::SpanKind::Server };
            let mut sp = Span {
                trace_id: trace_id.to_vec(),
                span_id: (t * 16 + s).to_be_bytes().to_vec(),
                parent_span_id: if s == 1 { vec![] } else { (t * 16 + s - 1).to_be_bytes().to_vec() },
                name: format!("GET /api/v1/resource/{}", s % 5),
                kind: kind as i32,
                start_time_unix_nano: 1_700_000_000_000_000_000 + t * 1000,
                end_time_unix_nano: 1_700_000_000_000_000_000 + t * 1000 + (s * 7919 % 900_000) * 1000,
                attributes: vec![
                    kv("http.method", "GET"),
                    kv("http.route", "/api/v1/resource"),
                    kv("net.peer.name", "10.0.0.1"),
                ],
                ..Default::default()
            };
            if s == 10 && t % 50 == 0 {
                sp.status = Some(Status { code: 2, ..Default::default() });
            }
            halves[(s > 5) as usize].push((((s as usize) - 1) / 3 % services.len(), sp));
        }
        for (h, half) in halves.into_iter().enumerate() {
            let mut resources: Vec<ResourceSpans> = Vec::new();
            for (service, sp) in half {
                match resources.iter_mut().find(|r| {
                    r.resource.as_ref().unwrap().attributes[0].value == kv("service.name", services[service]).value
                }) {
                    Some(r) => r.scope_spans[0].spans.push(sp),
                    None => resources.push(ResourceSpans {
                        resource: Some(Resource {
                            attributes: vec![kv("service.name", services[service])],
                            ..Default::default()
                        }),
                        scope_spans: vec![ScopeSpans { spans: vec![sp], ..Default::default() }],
                        ..Default::default()
                    }),
                }
            }
            // 2,000 traces per second of record time, second half 30 ms later.
            let ts = 1_700_000_000_000 + (t as i64) / 2 + 30 * h as i64;
            out.push((ts, TracesData { resource_spans: resources }.encode_to_vec()));
        }
    }
    out.sort_by_key(|(ts, _)| *ts);
    out
}

fn main() {
    let spans: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(2_000_000);
    let traces = spans / 10;
    let input = records(traces);
    let settings = Settings {
        idle_gap_ms: 10_000,
        max_age_ms: 300_000,
        max_open_traces: 1_000_000,
        max_spans_per_trace: 10_000,
        bucket_ms: 60_000,
        dependencies_bucket_ms: 900_000,
    };
    let indices = IndexNames::new("");

    // Throughput: everything read, closed, finalized and rendered as documents.
    let mut state = PartitionState::new(settings.clone(), i64::MIN);
    let (mut names, mut scratch) = (Names::default(), Scratch::default());
    let mut documents = Vec::new();
    let mut observed = 0u64;
    let started = Instant::now();
    for (offset, (ts, bytes)) in input.iter().enumerate() {
        state.read(
            offset as i64,
            Some(*ts),
            Payload::Spans(bytes, NO_TENANT),
            &mut names,
            &mut scratch,
            |_, _, _, _, _| observed += 1,
        );
        if offset % 20_000 == 0 {
            let target = Target {
                group: "bench",
                indices: &indices,
                topic: "bench",
                partition: 0,
                settings: &settings,
                fence: None,
            };
            let (finals, totals) = state.take_finals(&names);
            for f in &finals {
                target.bucket_documents(f.start_ms, &f.bucket, &names, &mut documents);
            }
            totals.iter().for_each(|t| target.dependencies_documents(t, &mut documents));
            let _ = state.checkpoint(&names);
        }
    }
    // A marker far ahead closes every trace and bucket.
    state.read(
        input.len() as i64,
        Some(1_800_000_000_000),
        Payload::Marker,
        &mut names,
        &mut scratch,
        |_, _, _, _, _| {},
    );
    let target =
        Target { group: "bench", indices: &indices, topic: "bench", partition: 0, settings: &settings, fence: None };
    let (finals, totals) = state.take_finals(&names);
    for f in &finals {
        target.bucket_documents(f.start_ms, &f.bucket, &names, &mut documents);
    }
    totals.iter().for_each(|t| target.dependencies_documents(t, &mut documents));
    let elapsed = started.elapsed().as_secs_f64();
    assert_eq!(observed, spans, "every span counted");
    println!(
        "analytics throughput: {spans} spans in {elapsed:.2} s on one core = {:.0} spans/s per core ({} documents)",
        spans as f64 / elapsed,
        documents.len()
    );
    drop(documents);
    drop(state);

    // Memory: spans buffered in open traces (nothing closes: every record is within the idle gap).
    let buffered_input = records(100_000);
    let mut state = PartitionState::new(settings.clone(), i64::MIN);
    let (mut names, mut scratch) = (Names::default(), Scratch::default());
    // Warm the reusable buffers and names first so only per-span state is counted.
    state.read(
        0,
        Some(1_700_000_000_000),
        Payload::Spans(&buffered_input[0].1, NO_TENANT),
        &mut names,
        &mut scratch,
        |_, _, _, _, _| {},
    );
    let before = LIVE.load(Ordering::Relaxed);
    for (offset, (_, bytes)) in buffered_input.iter().enumerate().skip(1) {
        state.read(
            offset as i64,
            Some(1_700_000_000_000),
            Payload::Spans(bytes, NO_TENANT),
            &mut names,
            &mut scratch,
            |_, _, _, _, _| {},
        );
    }
    let after = LIVE.load(Ordering::Relaxed);
    let buffered = state.buffered_spans() as f64;
    println!(
        "analytics memory: {} spans buffered in {} open traces, {:.0} bytes per buffered span",
        state.buffered_spans(),
        state.open_traces(),
        (after - before) as f64 / (buffered - 5.0)
    );
}
