//! The ingester pipeline, downstream first:
//!
//! Elasticsearch `_bulk` ← [`BatchWriter`] (retries until durable, DLQ for the never-indexable)
//! ← [`index_records`] (decode the Kafka record in `kafka.encoding`, convert to Jaeger documents)
//! ← [`run`]'s poll loop (reads records, gathers them into bulk-sized groups, at most
//! `bulk_concurrency` + 1 groups in flight, one converting while the others are indexed; when all
//! are busy it stops taking records and, if that
//! lasts, pauses the partitions; commits offsets the
//! [`OffsetTracker`](skein_core::offsets::OffsetTracker) says are durable; stops with an error
//! when a bulk task dies without saying what it made durable).

use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};
use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::message::{Headers, Message};
use skein_core::config::IngesterConfig;
use skein_core::consumer::{commit_durable, ConsumerError, SharedTracker};
use skein_core::elasticsearch::retention::RetainedDays;
use skein_schemas::dlq::DeadLetterKind;
use skein_schemas::elasticsearch::IndexNames;
use skein_schemas::encoding::RecordEncoding;
use skein_schemas::jaeger::span_documents;
use skein_schemas::kafka_record::{ENCODING_HEADER, ENCODING_WATERMARK, SPAN_COUNT_HEADER};
use skein_schemas::tenant::{Tenant, TENANT_HEADER};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::batch::{Batch, RecordOrigin};
use crate::bounds;
use crate::consumer::IngesterConsumer;
use crate::dead_letter::DeadLetterQueue;
use crate::error::{BulkTaskFailed, PipelineFailed};
use crate::telemetry;
use crate::writer::{BatchWriter, DoneRecords};

/// How long shutdown waits for bulk requests in flight before giving up on them (their records
/// stay uncommitted and are read again).
const DRAIN_TIMEOUT: Duration = Duration::from_secs(15);

/// How long the poll loop may stop taking records (all writers busy) before it pauses the
/// partitions and polls again, well inside `max.poll.interval.ms`.
const PAUSE_AFTER: Duration = Duration::from_secs(10);

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline.into()).await,
        None => std::future::pending().await,
    }
}

/// Records read but not yet handed to a writer.
#[derive(Default)]
struct Gathering {
    records: Vec<RecordOrigin>,
    spans: usize,
    bytes: usize,
    since: Option<Instant>,
}

impl Gathering {
    fn is_full(&self, config: &IngesterConfig) -> bool {
        self.spans >= config.bulk_max_docs || self.bytes >= config.bulk_max_bytes
    }
}

/// Everything a bulk task needs.
#[derive(Clone)]
pub struct Sinks {
    /// `bulk_concurrency` permits: one per `_bulk` request in flight. Converting records does
    /// not hold one, so the next group is ready when a request finishes.
    pub bulk_slots: std::sync::Arc<tokio::sync::Semaphore>,
    pub writer: BatchWriter,
    pub trace_ids: skein_schemas::jaeger::TraceIdFormat,
    /// What the records are (`kafka.encoding`).
    pub encoding: RecordEncoding,
    pub dead_letters: DeadLetterQueue,
    pub names: IndexNames,
    /// `elasticsearch.retention_days`: spans of older days (or after tomorrow) are not indexed.
    pub retention_days: u32,
}

/// A bulk task's end: what it made durable (`None`: interrupted by shutdown), or how it died,
/// with the records it held.
pub struct Finished {
    held: String,
    result: Result<Option<DoneRecords>, tokio::task::JoinError>,
}

/// Watch a spawned bulk task holding the records `held` names (see [`held_records`]).
pub fn supervise(held: String, task: JoinHandle<Option<DoneRecords>>) -> BoxFuture<'static, Finished> {
    task.map(move |result| Finished { held, result }).boxed()
}

/// The records of a bulk task, per partition: `topic/partition offsets first..=last`.
pub fn held_records(records: &[RecordOrigin]) -> String {
    let mut ranges: std::collections::BTreeMap<&(String, i32), (i64, i64)> = std::collections::BTreeMap::new();
    for record in records {
        let range = ranges.entry(&record.tp).or_insert((record.offset, record.offset));
        *range = (range.0.min(record.offset), range.1.max(record.offset));
    }
    let parts: Vec<String> = ranges
        .iter()
        .map(|((topic, partition), (first, last))| format!("{topic}/{partition} offsets {first}..={last}"))
        .collect();
    format!("records of {}", parts.join(", "))
}

/// Run the poll loop until `shutdown`, then drain and commit. Returns an error, after draining
/// and committing what is durable, when a bulk task died (its records would never be done) or
/// the consumer failed for good.
pub async fn run(
    consumer: IngesterConsumer,
    tracker: SharedTracker,
    sinks: Sinks,
    config: IngesterConfig,
    shutdown: CancellationToken,
) -> Result<(), PipelineFailed> {
    let writers_stop = CancellationToken::new();
    let mut failed: Option<PipelineFailed> = None;
    let mut in_flight: FuturesUnordered<BoxFuture<'static, Finished>> = FuturesUnordered::new();
    let mut gathering = Gathering::default();
    let mut paused = false;
    let mut blocked_since: Option<Instant> = None;
    let mut commit_tick = tokio::time::interval(Duration::from_millis(config.commit_interval_ms));
    let flush_interval = Duration::from_millis(config.bulk_flush_interval_ms);
    let mut flush_tick = tokio::time::interval(flush_interval.max(Duration::from_millis(10)) / 2);
    commit_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    flush_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

    loop {
        // One group more than bulk requests: it converts while the others are being indexed.
        let can_flush = in_flight.len() < config.bulk_concurrency + 1;
        if gathering.is_full(&config) && can_flush {
            in_flight.push(spawn_bulk(std::mem::take(&mut gathering).records, &sinks, &writers_stop));
            continue;
        }
        // Every writer busy and the next group full: stop taking records. librdkafka's bounded
        // prefetch queue holds what follows, and nothing is re-fetched. Pausing would discard that
        // queue and stall the restart, so partitions are paused only when the block lasts long
        // (Elasticsearch slow or down), and then polling continues to keep the group session.
        let blocked = gathering.is_full(&config);
        match (blocked, blocked_since) {
            (true, None) => blocked_since = Some(Instant::now()),
            (false, Some(_)) => blocked_since = None,
            _ => {}
        }
        let pause_due = blocked_since.map(|since| since + PAUSE_AFTER);
        if pause_due.is_some_and(|due| due <= Instant::now()) && !paused {
            tracing::info!("elasticsearch has been slower than Kafka for a while; pausing partitions");
            set_paused(&consumer, true);
            paused = true;
        } else if paused && !blocked {
            set_paused(&consumer, false);
            paused = false;
        }
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => break,
            Some(finished) = in_flight.next(), if !in_flight.is_empty() => {
                if let Err(error) = mark_done(&tracker, finished) {
                    failed = Some(error.into());
                    break;
                }
            }
            _ = commit_tick.tick() => commit_durable(&consumer, &tracker, CommitMode::Async),
            _ = flush_tick.tick() => {
                let due = gathering.since.is_some_and(|since| since.elapsed() >= flush_interval);
                if due && can_flush {
                    in_flight.push(spawn_bulk(std::mem::take(&mut gathering).records, &sinks, &writers_stop));
                }
            }
            _ = sleep_until(pause_due), if blocked && !paused => {}
            received = consumer.recv(), if !blocked || paused => match received {
                Ok(message) => {
                    if paused {
                        // A partition assigned after the pause, or a record fetched before it.
                        set_paused(&consumer, true);
                    }
                    let tp = (message.topic().to_string(), message.partition());
                    let Some(epoch) = tracker.lock().read(&tp, message.offset()) else { continue };
                    telemetry::records_consumed(1);
                    consumer.context().role().read_times.read(&tp, message.timestamp().to_millis());
                    let RecordHeaders { encoding, spans, tenant } = headers_of(&message);
                    let value = message.payload().map(<[u8]>::to_vec);
                    gathering.bytes += value.as_ref().map_or(0, Vec::len);
                    gathering.spans += spans.max(1);
                    gathering.since.get_or_insert_with(Instant::now);
                    gathering.records.push(RecordOrigin {
                        tp,
                        epoch,
                        offset: message.offset(),
                        timestamp: message.timestamp().to_millis(),
                        key: message.key().map(<[u8]>::to_vec),
                        value,
                        encoding,
                        tenant,
                    });
                }
                Err(error) => match ConsumerError::fatal(&error) {
                    Some(fatal) => {
                        tracing::error!(error = %fatal, "the ingester's Kafka consumer cannot consume any more");
                        failed = Some(fatal.into());
                        break;
                    }
                    None => tracing::warn!(%error, "kafka consume error"),
                },
            },
        }
        telemetry::pending_records(tracker.lock().pending_count());
    }

    // Shutdown: hand over what was gathered, wait a bounded time for writers, commit, leave.
    if !gathering.records.is_empty() {
        in_flight.push(spawn_bulk(gathering.records, &sinks, &writers_stop));
    }
    let drained = tokio::time::timeout(DRAIN_TIMEOUT, async {
        while let Some(finished) = in_flight.next().await {
            if let Err(error) = mark_done(&tracker, finished) {
                failed.get_or_insert(error.into());
            }
        }
    })
    .await;
    if drained.is_err() {
        tracing::warn!("bulk requests still retrying at shutdown; their records will be read again");
        writers_stop.cancel();
        while let Some(finished) = in_flight.next().await {
            if let Err(error) = mark_done(&tracker, finished) {
                failed.get_or_insert(error.into());
            }
        }
    }
    commit_durable(&consumer, &tracker, CommitMode::Sync);
    consumer.unsubscribe();
    tracing::info!("ingester stopped");
    failed.map_or(Ok(()), Err)
}

/// The headers of a record the ingester reads.
struct RecordHeaders {
    encoding: Option<String>,
    spans: usize,
    tenant: Option<String>,
}

fn headers_of(message: &impl Message) -> RecordHeaders {
    let mut read = RecordHeaders { encoding: None, spans: 0, tenant: None };
    if let Some(headers) = message.headers() {
        for header in headers.iter() {
            let value = header.value.and_then(|v| std::str::from_utf8(v).ok());
            match header.key {
                ENCODING_HEADER => read.encoding = value.map(str::to_string),
                SPAN_COUNT_HEADER => read.spans = value.and_then(|v| v.parse().ok()).unwrap_or(0),
                // Kept even when not UTF-8, so such a header is refused rather than ignored.
                TENANT_HEADER => {
                    read.tenant = Some(header.value.map(String::from_utf8_lossy).unwrap_or_default().into_owned())
                }
                _ => {}
            }
        }
    }
    read
}

/// The names a record's spans are written under: its tenant's (header `skein.tenant`), or the
/// configured ones for a record without tenant. A header that is no tenant name is an error.
fn names_for(record: &RecordOrigin, names: &IndexNames) -> Result<IndexNames, String> {
    match &record.tenant {
        None => Ok(names.clone()),
        Some(name) => Tenant::parse(name)
            .map(|tenant| names.for_tenant(&tenant))
            .map_err(|error| format!("record header {TENANT_HEADER} is no tenant name: {error}")),
    }
}

fn spawn_bulk(records: Vec<RecordOrigin>, sinks: &Sinks, stop: &CancellationToken) -> BoxFuture<'static, Finished> {
    let sinks = sinks.clone();
    let stop = stop.clone();
    let held = held_records(&records);
    supervise(held, tokio::spawn(async move { index_records(records, &sinks, &stop).await }))
}

/// Decode and convert records, send undecodable ones and those with spans of days outside the
/// retained days to the DLQ, write the rest.
pub async fn index_records(records: Vec<RecordOrigin>, sinks: &Sinks, stop: &CancellationToken) -> Option<DoneRecords> {
    let mut batch = Batch::default();
    let mut done = Vec::new();
    let days = RetainedDays::at(chrono::Utc::now(), sinks.retention_days);
    for record in records {
        if record.encoding.as_deref() == Some(ENCODING_WATERMARK) {
            // The analytics role's clock marker: no spans, nothing to index.
            done.push((record.tp, record.epoch, record.offset));
            continue;
        }
        let names = match names_for(&record, &sinks.names) {
            Ok(names) => names,
            Err(reason) => {
                if !sinks.dead_letters.send(&record, DeadLetterKind::InvalidTenant, &reason, stop).await {
                    return None;
                }
                done.push((record.tp, record.epoch, record.offset));
                continue;
            }
        };
        let value = record.value.as_deref().unwrap_or_default();
        match sinks.encoding.decode(record.encoding.as_deref(), value) {
            Ok(data) => {
                let split = bounds::split(span_documents(&data, sinks.trace_ids), &days);
                if let Some(reason) = split.reason() {
                    if !sinks.dead_letters.send(&record, DeadLetterKind::OutOfRange, &reason, stop).await {
                        return None;
                    }
                    if split.kept.is_empty() {
                        done.push((record.tp, record.epoch, record.offset));
                        continue;
                    }
                }
                batch.add(record, split.kept, &names);
            }
            Err(error) => {
                if !sinks.dead_letters.send(&record, DeadLetterKind::Decode, &error.to_string(), stop).await {
                    return None;
                }
                done.push((record.tp, record.epoch, record.offset));
            }
        }
    }
    if !batch.is_empty() {
        let _slot = sinks.bulk_slots.acquire().await.expect("bulk slots are never closed");
        done.extend(sinks.writer.write(batch, stop).await?);
    }
    Some(done)
}

/// Mark a finished task's records done. A task that died leaves them pending for good: an error,
/// which stops the ingester.
pub fn mark_done(tracker: &SharedTracker, finished: Finished) -> Result<(), BulkTaskFailed> {
    match finished.result {
        Ok(Some(done)) => {
            let mut tracker = tracker.lock();
            for (tp, epoch, offset) in done {
                tracker.done(&tp, epoch, offset);
            }
            Ok(())
        }
        // Interrupted by shutdown: read again by design.
        Ok(None) => Ok(()),
        Err(error) => {
            let how = if error.is_panic() { "panicked" } else { "was cancelled" };
            let failed = BulkTaskFailed { how, records: finished.held };
            tracing::error!(%failed, "bulk task died");
            Err(failed)
        }
    }
}

fn set_paused(consumer: &IngesterConsumer, pause: bool) {
    let Ok(assignment) = consumer.assignment() else { return };
    if assignment.count() == 0 {
        return;
    }
    let result = if pause { consumer.pause(&assignment) } else { consumer.resume(&assignment) };
    match result {
        Ok(()) => {
            telemetry::paused(pause);
            tracing::debug!(pause, "changed partition fetching");
        }
        Err(error) => tracing::warn!(%error, pause, "cannot pause or resume partitions"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(partition: i32, offset: i64, epoch: u64) -> RecordOrigin {
        RecordOrigin {
            tp: ("spans".into(), partition),
            epoch,
            offset,
            timestamp: None,
            key: None,
            value: None,
            encoding: None,
            tenant: None,
        }
    }

    #[test]
    fn a_tenants_record_is_written_under_its_prefix_and_a_bad_tenant_header_is_refused() {
        let names = IndexNames::new("p");
        let mut record = origin(0, 0, 1);
        assert_eq!(names_for(&record, &names).unwrap().prefix(), "p-", "no header: the configured names");
        record.tenant = Some("acme".into());
        assert_eq!(names_for(&record, &names).unwrap().span_index(0), "p-acme-jaeger-span-1970-01-01");
        record.tenant = Some("../other".into());
        let refused = names_for(&record, &names).unwrap_err();
        assert!(refused.contains("skein.tenant is no tenant name"), "{refused}");
    }

    #[tokio::test]
    async fn a_panicked_bulk_task_fails_the_ingester_and_nothing_past_its_records_is_committed() {
        let tracker = SharedTracker::default();
        let tp = ("spans".to_string(), 0);
        let epoch = tracker.lock().assign(tp.clone());
        for offset in 0..4 {
            tracker.lock().read(&tp, offset);
        }
        let held: Vec<RecordOrigin> = (1..3).map(|offset| origin(0, offset, epoch)).collect();
        let panicking = supervise(held_records(&held), tokio::spawn(async { panic!("a bug converting a record") }));
        let written = vec![(tp.clone(), epoch, 0), (tp.clone(), epoch, 3)];
        let healthy = supervise(held_records(&[origin(0, 0, epoch)]), tokio::spawn(async move { Some(written) }));

        assert_eq!(mark_done(&tracker, healthy.await), Ok(()));
        let failed = mark_done(&tracker, panicking.await).unwrap_err();
        assert_eq!(failed.how, "panicked");
        assert_eq!(failed.records, "records of spans/0 offsets 1..=2");
        assert!(failed.to_string().contains("read again"), "{failed}");
        assert_eq!(tracker.lock().take_commits(), vec![(tp, 1)], "never past the records the task held");
    }

    #[tokio::test]
    async fn an_aborted_bulk_task_fails_the_ingester_too() {
        let tracker = SharedTracker::default();
        let task = tokio::spawn(std::future::pending::<Option<DoneRecords>>());
        task.abort();
        let held = held_records(&[origin(2, 7, 1), origin(1, 5, 1), origin(2, 9, 1)]);
        let failed = mark_done(&tracker, supervise(held, task).await).unwrap_err();
        assert_eq!(failed.how, "was cancelled");
        assert_eq!(failed.records, "records of spans/1 offsets 5..=5, spans/2 offsets 7..=9");
    }

    #[tokio::test]
    async fn a_bulk_task_interrupted_by_shutdown_is_no_failure() {
        let tracker = SharedTracker::default();
        let finished = supervise(String::new(), tokio::spawn(async { None })).await;
        assert_eq!(mark_done(&tracker, finished), Ok(()));
    }
}
