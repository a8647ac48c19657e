//! The Kafka side of analytics: the live worker (consumer group, checkpoints, offset commits,
//! watermark markers for idle partitions) and the backfill (a fixed time range, from Kafka).
//!
//! Every flush, in this order: final documents are written → checkpoints are saved → offsets are
//! committed → checkpoints no commit points at are deleted. A crash anywhere in between leaves
//! the committed offset pointing at a saved checkpoint whose documents are durable.
//!
//! Every write of a partition's documents and checkpoints carries the epoch its owner took on
//! assignment ([`crate::fence`]); a write a newer owner refused fences the partition here: nothing
//! more of it is written, checkpointed or committed, and it is read again from its committed
//! checkpoint only if it is still assigned to this worker.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use skein_core::consumer::{commit_offsets, ConsumerError, ConsumerRole, ConsumerSettings, RoleConsumer};
use skein_core::elasticsearch::retention::{OutsideRetention, RetainedDays};
use skein_core::offsets::TopicPartition;
use skein_core::SkeinConfig;
use skein_schemas::elasticsearch::IndexNames;
use skein_schemas::encoding::RecordEncoding;
use skein_schemas::kafka_record::{ENCODING_HEADER, ENCODING_WATERMARK};
use tokio_util::sync::CancellationToken;

use crate::documents::{Document, Target};
use crate::error::AnalyticsError;
use crate::fence::Fence;
use crate::names::Names;
use crate::partition::{PartitionState, Payload, Read, Scratch, Settings};
use crate::red::{RedLocal, RedMetrics};
use crate::store::{checkpoint_id, CheckpointError, OwnerError, Store, StoredCheckpoint};
use crate::telemetry;
use crate::tenants::Tenants;

/// The trace and bucket settings of a configuration.
pub fn settings(config: &SkeinConfig) -> Settings {
    let a = &config.analytics;
    Settings {
        idle_gap_ms: a.trace_idle_ms as i64,
        max_age_ms: a.trace_max_age_ms as i64,
        max_open_traces: a.max_open_traces,
        max_spans_per_trace: a.max_spans_per_trace,
        bucket_ms: i64::from(a.bucket_seconds) * 1000,
        dependencies_bucket_ms: i64::from(a.dependencies_bucket_seconds) * 1000,
    }
}

fn floor_to(t: i64, width: i64) -> i64 {
    t - t.rem_euclid(width)
}

/// The analytics hooks of core's consumer scaffold: remember revoked partitions so the loop drops
/// their state. Nothing is committed on revoke: the committed offset already points at a saved
/// checkpoint, from which the next owner resumes.
struct AnalyticsRole {
    revoked: Arc<Mutex<Vec<i32>>>,
}

impl ConsumerRole for AnalyticsRole {
    fn name(&self) -> &'static str {
        "analytics"
    }

    fn revoking(&self, partitions: &[TopicPartition]) -> Vec<(TopicPartition, i64)> {
        self.revoked.lock().unwrap_or_else(|p| p.into_inner()).extend(partitions.iter().map(|(_, p)| *p));
        Vec::new()
    }

    fn committed(&self, count: u64) {
        telemetry::commits(count);
    }
}

type AnalyticsConsumer = RoleConsumer<AnalyticsRole>;

/// The prefetch queue holds records while a flush writes: bound it.
const PREFETCH_KBYTES: u32 = 65536;

struct Part {
    state: PartitionState,
    /// The consumer reached the partition's end and nothing arrived since.
    at_end: bool,
    last_activity: Instant,
    /// Checkpoint id the committed offset points at.
    committed: Option<String>,
    /// The offset the group's committed offset is at, as far as this worker knows (where it
    /// started, or its last commit): where to read the partition again after being fenced.
    committed_offset: i64,
    /// The epoch this worker owns the partition at; its writes carry it.
    epoch: u64,
}

/// Documents left out of a flush because their day is outside the retained days.
#[derive(Default)]
struct Outside {
    documents: u64,
    /// Why the first was left out.
    first: Option<OutsideRetention>,
}

impl Outside {
    /// Render a bucket starting at `start_ms` into `docs` with `render`, then take its documents
    /// back out (counted) when `days` does not allow its day.
    fn keep_if_retained(
        &mut self,
        days: &RetainedDays,
        start_ms: i64,
        docs: &mut Vec<Document>,
        render: impl FnOnce(&mut Vec<Document>),
    ) {
        let before = docs.len();
        // Rendered either way: rendering an open bucket marks its series written, and a bucket
        // that may not be written must not be offered again at every flush.
        render(docs);
        if let Err(outside) = days.check_millis(start_ms) {
            self.documents += (docs.len() - before) as u64;
            self.first.get_or_insert(outside);
            docs.truncate(before);
        }
    }
}

/// State shared by the live worker and the backfill.
struct Engine {
    settings: Settings,
    indices: IndexNames,
    topic: String,
    /// What the topic's records are (`kafka.encoding`).
    encoding: RecordEncoding,
    /// The Kafka consumer group (the backfill's own, `<group_id>-backfill`).
    group: String,
    /// The configured `analytics.group_id`: documents and owner documents are this
    /// configuration's, a backfill's as well.
    identity: String,
    parts: BTreeMap<i32, Part>,
    /// Partitions fenced by a newer owner, each with the offset the consumer was sent back to:
    /// records before that one arrives are left unread.
    fenced: BTreeMap<i32, i64>,
    names: Names,
    /// `elasticsearch.retention_days`: buckets of older days are not written.
    retention_days: u32,
    scratch: Scratch,
    red_local: RedLocal,
    red: RedMetrics,
    /// The tenants of the records read, and whether their indices are ready.
    tenants: Tenants,
    store: Store,
}

impl Engine {
    fn new(config: &SkeinConfig, group: String, store: Store, red: RedMetrics) -> Self {
        Self {
            settings: settings(config),
            indices: config.elasticsearch.index_names(),
            topic: config.kafka.spans_topic.clone(),
            encoding: config.kafka.encoding,
            group,
            identity: config.analytics.group_id.clone(),
            parts: BTreeMap::new(),
            fenced: BTreeMap::new(),
            names: Names::default(),
            retention_days: config.elasticsearch.retention_days,
            scratch: Scratch::default(),
            red_local: RedLocal::default(),
            red,
            tenants: Tenants::new(store.client().clone(), config.elasticsearch.clone(), crate::backoff(config)),
            store,
        }
    }

    /// Read one record into its partition (which must have state).
    fn read(&mut self, message: &BorrowedMessage<'_>) {
        let Self { parts, names, scratch, red_local, encoding, tenants, .. } = self;
        let Some(part) = parts.get_mut(&message.partition()) else { return };
        let header = message.headers().and_then(|headers| {
            headers.iter().find(|h| h.key == ENCODING_HEADER).and_then(|h| h.value).map(String::from_utf8_lossy)
        });
        let converted;
        let payload = if header.as_deref() == Some(ENCODING_WATERMARK) {
            // Markers are skein's in any encoding: analytics appends them to foreign topics too.
            Payload::Marker
        } else {
            // A record whose tenant is not one is skipped like one that does not decode: counting
            // its spans as untenanted would show them to whoever reads the untenanted indices.
            match tenants.of_record(message, names) {
                Err(error) => Payload::Undecodable(error.to_string()),
                Ok(tenant) => {
                    match encoding.traces_data_bytes(header.as_deref(), message.payload().unwrap_or_default()) {
                        Ok(bytes) => {
                            converted = bytes;
                            Payload::Spans(converted.as_ref(), tenant)
                        }
                        Err(error) => Payload::Undecodable(error.to_string()),
                    }
                }
            }
        };
        let read = part.state.read(
            message.offset(),
            message.timestamp().to_millis(),
            payload,
            names,
            scratch,
            |service, operation, kind, error, duration| red_local.observe(service, operation, kind, error, duration),
        );
        if let Read::Undecodable(error) = read {
            tracing::warn!(partition = message.partition(), offset = message.offset(), %error, "analytics skips an undecodable record");
        }
        part.at_end = false;
        part.last_activity = Instant::now();
    }

    /// Documents of every bucket that became final (and, when asked, of open buckets), keyed so
    /// that a later version of a document replaces an earlier one. Buckets at or after `until`
    /// are left out (backfill's end).
    fn documents(&mut self, open_buckets: bool, until: i64) -> BTreeMap<(String, String), (Vec<u8>, Option<Fence>)> {
        let mut out = BTreeMap::new();
        let mut docs: Vec<Document> = Vec::new();
        // A bucket of a day no index may be created for (older than the retained days, after
        // tomorrow) is not written: the clean would delete its index, or the day is a bad clock's.
        let days = RetainedDays::at(chrono::Utc::now(), self.retention_days);
        let mut outside = Outside::default();
        for (partition, part) in &mut self.parts {
            let target = Target {
                group: &self.identity,
                indices: &self.indices,
                topic: &self.topic,
                partition: *partition,
                settings: &self.settings,
                fence: Some(Fence { partition: *partition, epoch: part.epoch }),
            };
            let (finals, totals) = part.state.take_finals(&self.names);
            for f in finals.iter().filter(|f| f.start_ms < until) {
                outside.keep_if_retained(&days, f.start_ms, &mut docs, |docs| {
                    target.bucket_documents(f.start_ms, &f.bucket, &self.names, docs)
                });
            }
            for t in totals.iter().filter(|t| t.start_ms < until) {
                outside.keep_if_retained(&days, t.start_ms, &mut docs, |docs| target.dependencies_documents(t, docs));
            }
            if open_buckets {
                let (buckets, totals) = part.state.open_buckets(&self.names);
                for (start, bucket) in buckets {
                    outside.keep_if_retained(&days, start, &mut docs, |docs| {
                        target.changed_documents(start, bucket, &self.names, docs)
                    });
                }
                for t in &totals {
                    outside
                        .keep_if_retained(&days, t.start_ms, &mut docs, |docs| target.dependencies_documents(t, docs));
                }
            }
            telemetry::counters(&std::mem::take(&mut part.state.counters));
            telemetry::partition_state(
                *partition,
                part.state.open_traces(),
                part.state.buffered_spans(),
                part.state.watermark(),
            );
            for doc in docs.drain(..) {
                out.insert((doc.index, doc.id), (doc.body, doc.fence));
            }
        }
        self.red.fold(&mut self.red_local, &self.names);
        if let Some(reason) = outside.first {
            telemetry::documents_outside_retention(outside.documents);
            tracing::warn!(documents = outside.documents, %reason, "analytics documents not written: their day is outside the retained days");
        }
        out
    }

    /// Write documents, first preparing the indices of tenants new to this worker; the
    /// partitions a newer owner fenced, or None when shutdown interrupted.
    async fn write(
        &mut self,
        documents: BTreeMap<(String, String), (Vec<u8>, Option<Fence>)>,
        shutdown: &CancellationToken,
    ) -> Result<Option<BTreeSet<i32>>, AnalyticsError> {
        let docs: Vec<Document> =
            documents.into_iter().map(|((index, id), (body, fence))| Document { index, id, body, fence }).collect();
        if docs.is_empty() {
            return Ok(Some(BTreeSet::new()));
        }
        if !self.tenants.prepare(shutdown).await? {
            return Ok(None);
        }
        Ok(self.store.write(&docs, shutdown).await.ok())
    }

    /// Stop owning partitions a newer owner has taken: drop their state (nothing of it is
    /// checkpointed or committed) and send the consumer back to the committed offset, so that, if
    /// the partition is still assigned here (the newer owner was an evicted worker that took it
    /// late), it is read again from the committed checkpoint at a new epoch. If it is not (this
    /// worker is the one that was evicted), the revocation the next poll brings forgets it.
    fn fence(&mut self, consumer: &AnalyticsConsumer, partitions: &BTreeSet<i32>) {
        for &partition in partitions {
            let Some(part) = self.parts.remove(&partition) else { continue };
            telemetry::fenced(partition);
            tracing::warn!(
                partition,
                epoch = part.epoch,
                resume_offset = part.committed_offset,
                "a newer owner took this analytics partition (this worker was probably evicted from the group while \
                 Elasticsearch was slow): stopped writing it, nothing of it committed; it is read again from the \
                 committed checkpoint if it is still assigned here"
            );
            let offset = Offset::Offset(part.committed_offset);
            if let Err(error) = consumer.seek(&self.topic, partition, offset, Duration::from_secs(5)) {
                tracing::warn!(%error, partition, "cannot seek the fenced partition back; its records stay unread until it is revoked");
            }
            self.fenced.insert(partition, part.committed_offset);
        }
    }
}

fn marker_header() -> OwnedHeaders {
    OwnedHeaders::new().insert(Header { key: ENCODING_HEADER, value: Some(ENCODING_WATERMARK) })
}

/// The live worker: consumer group `analytics.group_id`, until `shutdown`.
pub async fn run_live(
    config: SkeinConfig,
    store: Store,
    red: RedMetrics,
    shutdown: CancellationToken,
    on_subscribed: impl FnOnce(),
) -> Result<(), AnalyticsError> {
    let a = config.analytics.clone();
    let revoked = Arc::new(Mutex::new(Vec::new()));
    let consumer: AnalyticsConsumer = ConsumerSettings::member(&a.group_id, a.start_from)
        .partition_eof()
        .prefetch_kbytes(PREFETCH_KBYTES)
        .subscribe(&config.kafka, &config.kafka.spans_topic, AnalyticsRole { revoked: revoked.clone() })?;
    let producer: FutureProducer = skein_core::kafka::client_config(&config.kafka)
        .set("linger.ms", "0")
        .create()
        .map_err(|source| AnalyticsError::Producer { brokers: config.kafka.brokers.clone(), source })?;
    on_subscribed();
    tracing::info!(topic = %config.kafka.spans_topic, group = %a.group_id, "analytics consuming");

    let mut engine = Engine::new(&config, a.group_id.clone(), store, red);
    let mut flush = tokio::time::interval(Duration::from_millis(a.flush_interval_ms));
    flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let idle_after = Duration::from_millis(a.idle_partition_ms);
    loop {
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => break,
            _ = flush.tick() => {
                drop_revoked(&mut engine, &revoked);
                let started = Instant::now();
                if !flush_live(&mut engine, &consumer, a.write_open_buckets, &shutdown).await? {
                    break;
                }
                telemetry::flush_duration(started.elapsed());
                send_markers(&mut engine, &producer, idle_after);
                // The next flush is a whole interval after this one ended: a flush slower than
                // the interval would otherwise find its next tick due at once and, first in this
                // biased select, starve reading (no record, no end of partition, no marker, no
                // trace ever closing again).
                flush.reset();
            }
            received = consumer.recv() => {
                drop_revoked(&mut engine, &revoked);
                match received {
                    Ok(message) => {
                        let partition = message.partition();
                        if let Some(&resume) = engine.fenced.get(&partition) {
                            if message.offset() != resume {
                                continue; // read before the seek back took effect
                            }
                            engine.fenced.remove(&partition);
                        }
                        if !engine.parts.contains_key(&partition)
                            && !init_partition(&mut engine, &consumer, &message, &shutdown).await?
                        {
                            break;
                        }
                        engine.read(&message);
                    }
                    Err(KafkaError::PartitionEOF(partition)) => {
                        if let Some(part) = engine.parts.get_mut(&partition) {
                            part.at_end = true;
                        }
                    }
                    Err(error) => match ConsumerError::fatal(&error) {
                        // Nothing more can be read or committed: stop without a last flush (the
                        // next owner rebuilds from the checkpoints).
                        Some(fatal) => return Err(fatal.into()),
                        None => tracing::warn!(%error, "kafka consume error"),
                    },
                }
            }
        }
    }
    // Graceful stop: what is final is written and checkpointed; the rest is re-read next time.
    let stop = CancellationToken::new();
    let flushed = tokio::time::timeout(Duration::from_secs(15), flush_live(&mut engine, &consumer, false, &stop)).await;
    consumer.unsubscribe();
    tracing::info!("analytics stopped");
    match flushed {
        Ok(Err(refused)) => Err(refused),
        _ => Ok(()),
    }
}

fn drop_revoked(engine: &mut Engine, revoked: &Mutex<Vec<i32>>) {
    for partition in revoked.lock().unwrap_or_else(|p| p.into_inner()).drain(..) {
        // The next owner resumes from the last checkpoint; nothing here is lost or doubled.
        engine.parts.remove(&partition);
        engine.fenced.remove(&partition);
    }
}

/// State for a partition whose first record (since assignment) is `message`: a new epoch of the
/// partition, then the checkpoint the committed offset points at, or a fresh start. False when
/// shutdown came first; an error when Elasticsearch refuses the owner document.
async fn init_partition(
    engine: &mut Engine,
    consumer: &AnalyticsConsumer,
    message: &BorrowedMessage<'_>,
    shutdown: &CancellationToken,
) -> Result<bool, AnalyticsError> {
    let (partition, offset) = (message.partition(), message.offset());
    // The epoch comes first: every write from the state built here carries it, so none of an
    // older owner's writes can land over them afterwards.
    let epoch = match engine.store.take_epoch(&engine.identity, &engine.topic, partition, shutdown).await {
        Ok(epoch) => epoch,
        Err(OwnerError::Interrupted) => return Ok(false),
        Err(refused) => return Err(refused.into()),
    };
    telemetry::epoch(partition, epoch);
    let id = checkpoint_id(&engine.group, &engine.topic, partition, offset);
    let stored = engine.store.load_checkpoint(&id, shutdown).await;
    if shutdown.is_cancelled() {
        return Ok(false);
    }
    let state = match stored {
        Some(stored) if stored.checkpoint.resume.offset == offset => {
            if stored.checkpoint.settings != engine.settings {
                tracing::warn!(
                    partition,
                    "analytics settings changed since the checkpoint; new settings apply from here"
                );
            }
            tracing::info!(partition, offset, epoch, "analytics resumes from its checkpoint");
            // Totals carried over name tenants that may not have sent a record since.
            for tenant in stored.checkpoint.dependencies.iter().flat_map(|d| d.tenants()) {
                if let Ok(tenant) = skein_schemas::tenant::Tenant::parse(tenant) {
                    engine.tenants.saw(tenant);
                }
            }
            PartitionState::restore(engine.settings.clone(), stored.checkpoint, &mut engine.names)
        }
        _ => {
            let low = tokio::task::block_in_place(|| {
                let mut attempt = 0;
                loop {
                    match consumer.fetch_watermarks(&engine.topic, partition, Duration::from_secs(10)) {
                        Ok((low, _)) => return Ok(low),
                        Err(error) if attempt < 10 && !shutdown.is_cancelled() => {
                            tracing::warn!(%error, partition, "cannot read the partition's first offset yet; retrying");
                            attempt += 1;
                            std::thread::sleep(Duration::from_millis(500));
                        }
                        Err(error) => return Err(error),
                    }
                }
            });
            if low.is_ok_and(|low| offset <= low) {
                tracing::info!(partition, offset, epoch, "analytics starts at the beginning of the partition");
                PartitionState::new(engine.settings.clone(), i64::MIN)
            } else {
                // Starting mid-stream: the first dependencies bucket would be partial and could
                // overwrite a complete one written earlier, so figures start at the next one.
                let ts = message.timestamp().to_millis().unwrap_or(0);
                let width = engine.settings.dependencies_bucket_ms;
                let from = floor_to(ts, width) + width;
                tracing::warn!(
                    partition,
                    offset,
                    from_ms = from,
                    "no analytics checkpoint at the committed offset; figures start at the next dependencies bucket"
                );
                PartitionState::new(engine.settings.clone(), from)
            }
        }
    };
    let part = Part {
        state,
        at_end: false,
        last_activity: Instant::now(),
        committed: Some(id),
        committed_offset: offset,
        epoch,
    };
    engine.parts.insert(partition, part);
    Ok(true)
}

/// Write final (and open) documents, save checkpoints, commit, forget old checkpoints. False when
/// shutdown interrupted a write; an error when Elasticsearch refused a checkpoint for good, so
/// that the worker stops without committing an offset that points at no checkpoint.
async fn flush_live(
    engine: &mut Engine,
    consumer: &AnalyticsConsumer,
    open_buckets: bool,
    shutdown: &CancellationToken,
) -> Result<bool, AnalyticsError> {
    let documents = engine.documents(open_buckets, i64::MAX);
    let mut checkpoints = Vec::new();
    for (partition, part) in &mut engine.parts {
        if let Some(checkpoint) = part.state.checkpoint(&engine.names) {
            let id = checkpoint_id(&engine.group, &engine.topic, *partition, checkpoint.resume.offset);
            if part.committed.as_deref() != Some(id.as_str()) {
                let stored = StoredCheckpoint {
                    group: engine.group.clone(),
                    topic: engine.topic.clone(),
                    partition: *partition,
                    epoch: part.epoch,
                    checkpoint,
                };
                checkpoints.push((*partition, id, stored));
            }
        }
    }
    let Some(mut fenced) = engine.write(documents, shutdown).await? else { return Ok(false) };
    // A fenced partition's checkpoint would claim documents a newer owner refused.
    checkpoints.retain(|(partition, _, _)| !fenced.contains(partition));
    if !checkpoints.is_empty() {
        let to_save: Vec<(String, StoredCheckpoint)> =
            checkpoints.iter().map(|(_, id, stored)| (id.clone(), stored.clone())).collect();
        match engine.store.save_checkpoints(&to_save, shutdown).await {
            Ok(lost) => fenced.extend(lost),
            Err(CheckpointError::Interrupted) => return Ok(false),
            Err(refused) => return Err(refused.into()),
        }
        checkpoints.retain(|(partition, _, _)| !fenced.contains(partition));
    }
    engine.fence(consumer, &fenced);
    if checkpoints.is_empty() {
        return Ok(true);
    }
    let offsets: Vec<(TopicPartition, i64)> = checkpoints
        .iter()
        .map(|(partition, _, stored)| ((engine.topic.clone(), *partition), stored.checkpoint.resume.offset))
        .collect();
    match commit_offsets(consumer, &offsets, CommitMode::Sync) {
        Ok(()) => {
            let mut obsolete = Vec::new();
            for (partition, id, stored) in checkpoints {
                if let Some(part) = engine.parts.get_mut(&partition) {
                    part.committed_offset = stored.checkpoint.resume.offset;
                    if let Some(old) = part.committed.replace(id) {
                        obsolete.push(old);
                    }
                }
            }
            engine.store.delete_checkpoints(&obsolete).await;
        }
        // Not fatal: the checkpoint is saved and the commit is tried again next flush.
        Err(error) => tracing::warn!(%error, "analytics offset commit failed; will retry"),
    }
    Ok(true)
}

/// Append a marker to each partition read to its end, idle, with traces or buckets waiting for
/// time to pass. The marker carries the current time as its record timestamp; because it is in
/// the log, a replay closes the same traces at the same place.
fn send_markers(engine: &mut Engine, producer: &FutureProducer, idle_after: Duration) {
    for (partition, part) in &mut engine.parts {
        if part.at_end && part.state.has_pending_work() && part.last_activity.elapsed() >= idle_after {
            let empty: &[u8] = &[];
            let record: FutureRecord<'_, (), [u8]> =
                FutureRecord::to(&engine.topic).partition(*partition).payload(empty).headers(marker_header());
            match producer.send_result(record) {
                Ok(delivery) => {
                    drop(delivery);
                    telemetry::markers_sent(*partition);
                }
                Err((error, _)) => tracing::warn!(%error, partition, "cannot send a watermark marker"),
            }
            part.last_activity = Instant::now();
        }
    }
}

/// What a backfill did.
#[derive(Debug, Default)]
pub struct BackfillReport {
    pub partitions: usize,
    pub records: u64,
    pub documents: usize,
}

/// Recompute `[from_ms, to_ms)` (widened to whole dependencies buckets) from Kafka, overwriting the
/// documents of that range. Reads from `trace_max_age + trace_idle` before the start so that traces
/// under way at the start are whole.
pub async fn run_backfill(
    config: SkeinConfig,
    store: Store,
    red: RedMetrics,
    from_ms: i64,
    to_ms: i64,
    shutdown: CancellationToken,
) -> Result<BackfillReport, AnalyticsError> {
    let a = config.analytics.clone();
    let settings = settings(&config);
    let width = settings.dependencies_bucket_ms;
    let from = floor_to(from_ms, width);
    let until = floor_to(to_ms, width);
    if until <= from {
        return Err(AnalyticsError::Range(format!(
            "nothing to backfill: --from and --to must span at least one whole dependencies bucket ({} s)",
            width / 1000
        )));
    }
    let group = format!("{}-backfill", a.group_id);
    let consumer: AnalyticsConsumer = ConsumerSettings::assigned(&group)
        .partition_eof()
        .create(&config.kafka, AnalyticsRole { revoked: Arc::default() })?;
    let topic = config.kafka.spans_topic.clone();
    let (positions, ends) = tokio::task::block_in_place(|| -> Result<_, AnalyticsError> {
        let timeout = Duration::from_secs(30);
        let metadata = consumer
            .fetch_metadata(Some(&topic), timeout)
            .map_err(|error| AnalyticsError::Range(format!("cannot read metadata of topic {topic}: {error}")))?;
        let partitions: Vec<i32> = metadata
            .topics()
            .iter()
            .filter(|t| t.name() == topic)
            .flat_map(|t| t.partitions().iter().map(|p| p.id()))
            .collect();
        if partitions.is_empty() {
            return Err(AnalyticsError::Range(format!("topic {topic} has no partitions (does it exist?)")));
        }
        let start = from - settings.max_age_ms - settings.idle_gap_ms;
        let mut query = TopicPartitionList::new();
        let mut ends = HashMap::new();
        for partition in &partitions {
            let _ = query.add_partition_offset(&topic, *partition, Offset::Offset(start));
            let (_, high) = consumer.fetch_watermarks(&topic, *partition, timeout).map_err(|error| {
                AnalyticsError::Range(format!("cannot read offsets of {topic}/{partition}: {error}"))
            })?;
            ends.insert(*partition, high);
        }
        let positions = consumer
            .offsets_for_times(query, timeout)
            .map_err(|error| AnalyticsError::Range(format!("cannot look up offsets by time: {error}")))?;
        Ok((positions, ends))
    })?;
    let mut engine = Engine::new(&config, group, store, red);
    let identity = engine.identity.clone();
    let mut remaining = 0;
    let mut assignment = TopicPartitionList::new();
    for element in positions.elements() {
        let partition = element.partition();
        let end = ends[&partition];
        let start = match element.offset() {
            Offset::Offset(offset) if offset < end => offset,
            _ => continue, // no records at or after the start time
        };
        let _ = assignment.add_partition_offset(&topic, partition, Offset::Offset(start));
        let state = PartitionState::new(settings.clone(), from);
        // The live owner's epoch, not a new one: the backfill overwrites the live documents of
        // its range without fencing their owner, and a newer owner's documents win over it.
        let epoch = match engine.store.current_epoch(&identity, &topic, partition, &shutdown).await {
            Ok(epoch) => epoch,
            Err(OwnerError::Interrupted) => return Err(AnalyticsError::Range("backfill interrupted".into())),
            Err(error) => return Err(error.into()),
        };
        let part = Part {
            state,
            at_end: false,
            last_activity: Instant::now(),
            committed: None,
            committed_offset: start,
            epoch,
        };
        engine.parts.insert(partition, part);
        remaining += 1;
    }
    let report_partitions = engine.parts.len();
    let mut report = BackfillReport { partitions: report_partitions, ..Default::default() };
    if remaining > 0 {
        consumer.assign(&assignment).map_err(|source| ConsumerError::Assign { topic: topic.clone(), source })?;
    }
    let mut done: HashMap<i32, bool> = engine.parts.keys().map(|p| (*p, false)).collect();
    let mut flush = tokio::time::interval(Duration::from_millis(a.flush_interval_ms));
    while remaining > 0 {
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => return Err(AnalyticsError::Range("backfill interrupted".into())),
            _ = flush.tick() => {
                let documents = engine.documents(false, until);
                report.documents += documents.len();
                backfill_write(&mut engine, documents, &shutdown).await?;
                // As in the live loop: reading always gets a whole interval between writes.
                flush.reset();
            }
            received = consumer.recv() => match received {
                Ok(message) => {
                    let partition = message.partition();
                    if done.get(&partition).copied().unwrap_or(true) {
                        continue;
                    }
                    engine.read(&message);
                    report.records += 1;
                    let finished = message.offset() + 1 >= ends[&partition]
                        || engine.parts[&partition].state.watermark() >= until;
                    if finished {
                        done.insert(partition, true);
                        remaining -= 1;
                    }
                }
                Err(KafkaError::PartitionEOF(partition)) => {
                    if done.get(&partition) == Some(&false) {
                        done.insert(partition, true);
                        remaining -= 1;
                    }
                }
                Err(error) => match ConsumerError::fatal(&error) {
                    Some(fatal) => return Err(fatal.into()),
                    None => tracing::warn!(%error, "kafka consume error"),
                },
            }
        }
    }
    let documents = engine.documents(false, until);
    report.documents += documents.len();
    backfill_write(&mut engine, documents, &shutdown).await?;
    Ok(report)
}

/// A backfill's write: a document a newer live owner has written since the backfill started
/// stays as that owner wrote it (computed from the same records).
async fn backfill_write(
    engine: &mut Engine,
    documents: BTreeMap<(String, String), (Vec<u8>, Option<Fence>)>,
    shutdown: &CancellationToken,
) -> Result<(), AnalyticsError> {
    let fenced =
        engine.write(documents, shutdown).await?.ok_or(AnalyticsError::Range("backfill interrupted".into()))?;
    for partition in fenced {
        tracing::warn!(partition, "a newer live owner wrote some of this partition's documents during the backfill; they stay as it wrote them");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;

    fn document(index: &str) -> Document {
        Document { index: index.into(), id: "1".into(), body: b"{}".to_vec(), fence: None }
    }

    #[test]
    fn documents_of_buckets_outside_the_retained_days_are_taken_out_and_counted() {
        let now = DateTime::parse_from_rfc3339("2024-03-10T12:00:00Z").unwrap().with_timezone(&Utc);
        let days = RetainedDays::at(now, 2);
        let ms = |t: &str| DateTime::parse_from_rfc3339(t).unwrap().timestamp_millis();
        let mut outside = Outside::default();
        let mut docs = vec![document("kept-before")];
        let two = |docs: &mut Vec<Document>| docs.extend([document("a"), document("b")]);
        outside.keep_if_retained(&days, ms("2024-03-09T00:00:00Z"), &mut docs, two);
        outside.keep_if_retained(&days, ms("2024-03-08T23:59:00Z"), &mut docs, two);
        outside.keep_if_retained(&days, ms("2024-03-12T00:00:00Z"), &mut docs, |docs| docs.push(document("c")));
        let indices: Vec<&str> = docs.iter().map(|d| d.index.as_str()).collect();
        assert_eq!(indices, vec!["kept-before", "a", "b"]);
        assert_eq!(outside.documents, 3);
        assert!(matches!(outside.first, Some(OutsideRetention::TooOld { .. })), "the first reason is kept");
    }
}
