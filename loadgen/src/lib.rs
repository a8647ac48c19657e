//! `skein loadgen`: sends realistic traces to a collector in any receiver's protocol (OTLP gRPC,
//! HTTP protobuf or HTTP JSON; Jaeger gRPC, Thrift HTTP or agent UDP; Zipkin JSON or proto3) and
//! prints what it achieved: spans sent and acknowledged, refusals by kind, throughput and request
//! latency. Two extra targets serve the benchmark (`scripts/bench.sh`):
//!
//! - `--protocol es-bulk` converts the same traces into Jaeger span documents (with the ingester's
//!   own conversion) and sends them straight to Elasticsearch `_bulk`: the ceiling the ingester is
//!   compared with;
//! - `--probe-es URL --probe-prefix P` samples acknowledged traces and polls Elasticsearch until
//!   each is searchable, measuring the delay from the collector's ack to searchability.
//!
//! With `--rate 0` every request is generated (and encoded) before the clock starts, so the
//! generator is not what is measured.

mod args;
mod cpu;
mod error;
mod generator;
mod plan;
mod prepare;
mod probe;
mod report;
mod senders;
mod stats;

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, Semaphore};

pub use args::{LoadgenArgs, Protocol};
pub use error::LoadgenError;

use generator::{Generator, Workload};
use plan::Plan;
use prepare::{pregenerate, prepare, probed};
use probe::{Probe, Prober};
use report::{Summary, Timing};
use senders::{Encoder, Outcome, Sender};
use stats::Stats;

/// Run the load as `args` describe, print the summary, and write it as JSON if asked.
pub async fn run(args: LoadgenArgs) -> Result<(), LoadgenError> {
    args.check()?;
    let endpoint = args.endpoint();
    let seed = args.seed.unwrap_or_else(rand::random);
    let workload = Arc::new(Workload::new(&args, seed));
    let encoder = Encoder::new(&args);
    let plan = Plan::new(&args);
    let sender = Sender::connect(&args, &endpoint).await?;
    let probe_every = args.probe_es.is_some().then_some(args.probe_every);

    // Pre-generate when the rate is unlimited, on every core, before the clock starts.
    let generation_started = Instant::now();
    let pregenerated =
        if args.rate == 0 { Some(pregenerate(&workload, &encoder, &plan, probe_every, seed)) } else { None };
    let generation_secs = generation_started.elapsed().as_secs_f64();

    let (probe_tx, probe_task) = match (&args.probe_es, &args.probe_prefix) {
        (Some(url), Some(prefix)) => {
            let (tx, rx) = mpsc::unbounded_channel();
            let prober = Prober::new(
                url,
                prefix,
                Duration::from_millis(args.probe_interval_ms.max(1)),
                Duration::from_secs(args.probe_timeout_secs),
            );
            (Some(tx), Some(tokio::spawn(prober.run(rx))))
        }
        _ => (None, None),
    };

    let mut stats = Stats::new();
    let semaphore = Arc::new(Semaphore::new(args.concurrency));
    let mut tasks = tokio::task::JoinSet::new();
    let mut generator = Generator::new(workload.clone(), seed ^ 0x5eed);
    let mut pregenerated = pregenerated.map(Vec::into_iter);
    let deadline = args.duration_secs.map(Duration::from_secs_f64);
    let retry_for = (args.retry_secs > 0.0).then(|| Duration::from_secs_f64(args.retry_secs));
    let panicked = |source| LoadgenError::Panicked { task: "send", source };
    let cpu_before = cpu::process_cpu_ticks();
    let started = Instant::now();
    let mut sent_spans = 0u64;
    for (index, spans) in plan.requests.iter().enumerate() {
        if deadline.is_some_and(|d| started.elapsed() >= d) {
            break;
        }
        if args.rate > 0 {
            let due = started + Duration::from_secs_f64(sent_spans as f64 / args.rate as f64);
            tokio::time::sleep_until(due.into()).await;
        }
        let prepared = match pregenerated.as_mut() {
            Some(iter) => iter.next().expect("one prepared request per planned request"),
            None => prepare(&mut generator, &encoder, *spans, probed(index, probe_every)),
        };
        sent_spans += prepared.spans as u64;
        stats.sent_bytes += prepared.bytes as u64;
        let permit = semaphore.clone().acquire_owned().await.expect("semaphore is never closed");
        let sender = sender.clone();
        let probe_tx = probe_tx.clone();
        tasks.spawn(async move {
            let (outcome, resends) = sender.send_retrying(prepared.payload, retry_for).await;
            drop(permit);
            if let (Some(tx), Some(trace), Outcome::Acked { .. }) = (&probe_tx, prepared.probe, &outcome.result) {
                let _ = tx.send(Probe { trace_id: trace.trace_id, spans: trace.spans, acked: outcome.finished });
            }
            (prepared.spans, outcome, resends)
        });
        while let Some(done) = tasks.try_join_next() {
            stats.add(done.map_err(panicked)?);
        }
    }
    while let Some(done) = tasks.join_next().await {
        stats.add(done.map_err(panicked)?);
    }
    let elapsed = started.elapsed();
    let cpu_ticks = cpu::process_cpu_ticks().zip(cpu_before).map(|(after, before)| after - before);
    drop(probe_tx);
    let probe = match probe_task {
        Some(task) => Some(task.await.map_err(|source| LoadgenError::Panicked { task: "probe", source })?),
        None => None,
    };

    let timing = Timing { elapsed, generation_secs, cpu_ticks };
    let summary = Summary::new(&args, &endpoint, &plan, &stats, timing, probe);
    println!("{}", summary.render());
    if let Some(path) = &args.summary_json {
        summary.write_json(path)?;
    }
    Ok(())
}
