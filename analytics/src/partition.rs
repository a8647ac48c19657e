//! Everything one partition's records turn into, as a pure state machine: trace assembly on a
//! record-time watermark, per-bucket aggregates, finalized documents, and the checkpoint that lets
//! a restarted worker produce exactly the same documents.
//!
//! Clock: the watermark is the largest Kafka record timestamp seen on the partition (the time the
//! collector published; idle partitions get marker records, see `worker`). Nothing here reads a
//! wall clock, so the same records give the same output at any speed.
//!
//! - A span counts in the per-operation series of the bucket holding the watermark when its record
//!   is read.
//! - A trace closes when the watermark passes its deadline: `idle_gap` after the watermark at its
//!   last record, capped at `max_age` after its first. Its links (service and operation level)
//!   count in the bucket holding the deadline. Span limit and capacity overflow close a trace at the current watermark.
//! - A bucket is final (written, never changed) once the watermark reaches its end: every trace
//!   that could still close into it has closed by then.
//!
//! - Tenants: a record's spans belong to the tenant of its `skein.tenant` header (none without
//!   it). Traces are assembled per (tenant, trace id), and every series and link is the tenant's:
//!   two tenants sending one trace id to one partition never share a trace, a series or a link.
//!
//! Exactly once: the checkpoint offset is the earliest record still feeding an open trace or an
//! unfinal bucket. Replaying from it re-derives all of those. Traces that started before it and
//! closed after it already counted in final buckets; the checkpoint lists them ("spanning") so the
//! replay skips their records up to where they closed.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use skein_schemas::sketch::DurationSketch;
use skein_schemas::span_summary::for_each_span;

use crate::links::{dependency_calls, CompactSpan, LinkCall, LinkScratch, NO_NAME};
use crate::names::Names;

/// How traces are assembled and bucketed. Identical settings are needed for identical output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    pub idle_gap_ms: i64,
    pub max_age_ms: i64,
    pub max_open_traces: usize,
    pub max_spans_per_trace: usize,
    pub bucket_ms: i64,
    pub dependencies_bucket_ms: i64,
}

/// Duration, calls and errors of one series in one bucket.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Series {
    pub calls: u64,
    pub errors: u64,
    pub sum_nanos: u64,
    pub min_nanos: u64,
    pub max_nanos: u64,
    pub sketch: DurationSketch,
    /// Changed since its document was last rendered provisionally (see [`Bucket::drain_changed`]).
    unwritten: bool,
}

impl Series {
    /// Count one call; true when the series was up to date before (its key must be listed as
    /// changed).
    fn add(&mut self, duration_nanos: u64, error: bool) -> bool {
        if self.calls == 0 || duration_nanos < self.min_nanos {
            self.min_nanos = duration_nanos;
        }
        self.max_nanos = self.max_nanos.max(duration_nanos);
        self.calls += 1;
        self.errors += u64::from(error);
        self.sum_nanos = self.sum_nanos.saturating_add(duration_nanos);
        self.sketch.add(duration_nanos);
        !std::mem::replace(&mut self.unwritten, true)
    }
}

/// An operation link's series, with the trace of its slowest call as an exemplar (for "view
/// traces" from a graph edge).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OperationLinkSeries {
    pub series: Series,
    /// (duration, trace id) of the slowest call; on a tie the smaller trace id, so the choice
    /// does not depend on the order traces close in.
    pub exemplar: (u64, u128),
}

impl OperationLinkSeries {
    fn add(&mut self, duration_nanos: u64, error: bool, trace: u128) -> bool {
        let (slowest, exemplar) = self.exemplar;
        if self.series.calls == 0 || duration_nanos > slowest || (duration_nanos == slowest && trace < exemplar) {
            self.exemplar = (duration_nanos, trace);
        }
        self.series.add(duration_nanos, error)
    }
}

/// A record offset and the watermark just before it: where a replay starts, with what clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Mark {
    pub offset: i64,
    pub watermark: i64,
}

/// Interned tenant of records without the tenant header (its name is empty, which no tenant's is).
pub const NO_TENANT: u32 = u32::MAX;

/// (tenant, trace id): what a trace is assembled by.
pub type TraceKey = (u32, u128);
/// (tenant, service, operation, span kind).
pub type OperationKey = (u32, u32, u32, u8);
/// (tenant, parent service, child service).
pub type LinkKey = (u32, u32, u32);
/// (tenant, parent service, parent operation, child service, child operation).
pub type OperationLinkKey = (u32, u32, u32, u32, u32);

/// A series whose provisional document is out of date, by key.
#[derive(Debug, Clone, Copy)]
enum Changed {
    Operation(OperationKey),
    Link(LinkKey),
    OperationLink(OperationLinkKey),
}

/// One series of a bucket, for rendering.
pub enum SeriesRef<'a> {
    Operation(&'a OperationKey, &'a Series),
    Link(&'a LinkKey, &'a Series),
    OperationLink(&'a OperationLinkKey, &'a OperationLinkSeries),
}

/// Aggregates of one time bucket not yet final.
#[derive(Default)]
pub struct Bucket {
    /// The earliest record that contributed.
    holdback: Option<Mark>,
    pub operations: FxHashMap<OperationKey, Series>,
    pub links: FxHashMap<LinkKey, Series>,
    pub operation_links: FxHashMap<OperationLinkKey, OperationLinkSeries>,
    /// Series changed since the last provisional rendering, each listed once: a flush rewrites
    /// only these, so its cost follows what arrived, not how many series the bucket holds
    /// (rewriting 10,000 operation names every flush outlasted the flush interval).
    changed: Vec<Changed>,
}

impl Bucket {
    fn hold(&mut self, mark: Mark) {
        if self.holdback.is_none_or(|held| mark.offset < held.offset) {
            self.holdback = Some(mark);
        }
    }

    fn add_operation(&mut self, key: OperationKey, duration_nanos: u64, error: bool) {
        if self.operations.entry(key).or_default().add(duration_nanos, error) {
            self.changed.push(Changed::Operation(key));
        }
    }

    fn add_call(&mut self, tenant: u32, call: &LinkCall, trace: u128) {
        let key = (tenant, call.parent, call.child);
        if self.links.entry(key).or_default().add(call.duration_nanos, call.error) {
            self.changed.push(Changed::Link(key));
        }
        let key = (tenant, call.parent, call.parent_operation, call.child, call.child_operation);
        if self.operation_links.entry(key).or_default().add(call.duration_nanos, call.error, trace) {
            self.changed.push(Changed::OperationLink(key));
        }
    }

    /// Every series (a final bucket is written whole).
    pub fn for_each_series(&self, mut each: impl FnMut(SeriesRef<'_>)) {
        self.operations.iter().for_each(|(key, series)| each(SeriesRef::Operation(key, series)));
        self.links.iter().for_each(|(key, series)| each(SeriesRef::Link(key, series)));
        self.operation_links.iter().for_each(|(key, link)| each(SeriesRef::OperationLink(key, link)));
    }

    /// The series changed since the last call, each once, marked up to date.
    pub fn drain_changed(&mut self, mut each: impl FnMut(SeriesRef<'_>)) {
        for changed in self.changed.drain(..) {
            match changed {
                Changed::Operation(key) => {
                    if let Some(series) = self.operations.get_mut(&key) {
                        series.unwritten = false;
                        each(SeriesRef::Operation(&key, series));
                    }
                }
                Changed::Link(key) => {
                    if let Some(series) = self.links.get_mut(&key) {
                        series.unwritten = false;
                        each(SeriesRef::Link(&key, series));
                    }
                }
                Changed::OperationLink(key) => {
                    if let Some(link) = self.operation_links.get_mut(&key) {
                        link.series.unwritten = false;
                        each(SeriesRef::OperationLink(&key, link));
                    }
                }
            }
        }
    }
}

struct OpenTrace {
    first: Mark,
    first_seen: i64,
    deadline: i64,
    spans: Vec<CompactSpan>,
    /// (index into `spans`, referenced span id) for links beyond the parent.
    extra_refs: Vec<(u32, u64)>,
}

/// A closed trace, remembered until the checkpoint passes where it closed.
struct Closed {
    trace: TraceKey,
    first_offset: i64,
    close_offset: i64,
}

/// A trace the checkpoint says is already counted: its records before `close_offset` are skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spanning {
    /// Trace id, 32 hex characters.
    pub trace: String,
    /// The trace's tenant; absent for records without the tenant header (and in checkpoints
    /// written before tenants).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    pub close_offset: i64,
}

/// Links summed over the final buckets of the dependencies bucket in progress, of every tenant
/// (each tenant's are one document in its own index).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DependencyTotals {
    pub start_ms: i64,
    /// (tenant, parent, child) → (calls, errors), the tenant empty without the tenant header;
    /// sorted, so documents are byte-identical.
    #[serde(with = "link_list")]
    pub links: BTreeMap<(String, String, String), (u64, u64)>,
}

impl DependencyTotals {
    /// The tenants with links, each once (`""`: records without the tenant header).
    pub fn tenants(&self) -> impl Iterator<Item = &str> {
        let mut last: Option<&str> = None;
        self.links.keys().filter_map(move |(tenant, _, _)| {
            let new = last != Some(tenant.as_str());
            last = Some(tenant.as_str());
            new.then_some(tenant.as_str())
        })
    }

    /// One tenant's links: (parent, child) → (calls, errors).
    pub fn links_of<'a>(&'a self, tenant: &'a str) -> impl Iterator<Item = (&'a str, &'a str, u64, u64)> + 'a {
        self.links
            .iter()
            .filter(move |((t, _, _), _)| t == tenant)
            .map(|((_, parent, child), (calls, errors))| (parent.as_str(), child.as_str(), *calls, *errors))
    }
}

/// JSON object keys must be strings: store the totals as a list of `[parent, child, calls,
/// errors]` (records without the tenant header, as checkpoints before tenants have them) and
/// `[tenant, parent, child, calls, errors]`.
mod link_list {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    type Links = BTreeMap<(String, String, String), (u64, u64)>;

    #[derive(Serialize, Deserialize)]
    #[serde(untagged)]
    enum Entry<'a> {
        Untenanted(&'a str, &'a str, u64, u64),
        Tenanted(&'a str, &'a str, &'a str, u64, u64),
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OwnedEntry {
        Untenanted(String, String, u64, u64),
        Tenanted(String, String, String, u64, u64),
    }

    pub fn serialize<S: Serializer>(links: &Links, serializer: S) -> Result<S::Ok, S::Error> {
        let list: Vec<Entry<'_>> = links
            .iter()
            .map(|((t, p, c), (calls, errors))| match t.as_str() {
                "" => Entry::Untenanted(p, c, *calls, *errors),
                t => Entry::Tenanted(t, p, c, *calls, *errors),
            })
            .collect();
        list.serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Links, D::Error> {
        let list: Vec<OwnedEntry> = Vec::deserialize(deserializer)?;
        Ok(list
            .into_iter()
            .map(|entry| match entry {
                OwnedEntry::Untenanted(p, c, calls, errors) => ((String::new(), p, c), (calls, errors)),
                OwnedEntry::Tenanted(t, p, c, calls, errors) => ((t, p, c), (calls, errors)),
            })
            .collect())
    }
}

/// What a worker persists so that a restart produces the same documents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartitionCheckpoint {
    /// Resume here, with this watermark.
    pub resume: Mark,
    pub finalized_through: i64,
    pub dependencies: Option<DependencyTotals>,
    pub spanning: Vec<Spanning>,
    pub settings: Settings,
}

/// Why traces closed, and other counts for metrics.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Counters {
    pub records: u64,
    pub markers: u64,
    pub undecodable_records: u64,
    pub spans: u64,
    pub late_spans: u64,
    pub spans_dropped_from_links: u64,
    pub traces_closed_idle: u64,
    pub traces_closed_max_age: u64,
    pub traces_closed_span_limit: u64,
    pub traces_closed_capacity: u64,
    pub replayed_spans_skipped: u64,
}

/// A bucket that just became final.
pub struct FinalBucket {
    pub start_ms: i64,
    pub bucket: Bucket,
}

/// What a record is.
pub enum Payload<'a> {
    /// An encoded `TracesData` and its tenant (interned; [`NO_TENANT`] without the header).
    Spans(&'a [u8], u32),
    /// A watermark marker: only its timestamp counts.
    Marker,
    /// A record that does not decode in the topic's encoding, with why: only its timestamp counts.
    Undecodable(String),
}

/// Outcome of reading one record.
#[derive(Debug, PartialEq, Eq)]
pub enum Read {
    Processed,
    /// Read before (a replayed or duplicate delivery).
    AlreadySeen,
    Undecodable(String),
}

/// A span as seen per record, before it is buffered.
struct Parsed {
    trace: TraceKey,
    span: CompactSpan,
    links: std::ops::Range<usize>,
}

/// Reusable per-worker buffers.
#[derive(Default)]
pub struct Scratch {
    parsed: Vec<Parsed>,
    link_ids: Vec<u64>,
    span_links: Vec<u64>,
    calls: Vec<LinkCall>,
    links: LinkScratch,
}

/// One partition's state.
pub struct PartitionState {
    settings: Settings,
    next_offset: i64,
    watermark: i64,
    finalized_through: i64,
    open: FxHashMap<TraceKey, OpenTrace>,
    /// Open traces by (deadline, first offset, trace); a record may open several traces (a
    /// foreign topic's batch), so the offset alone does not name one.
    by_deadline: BTreeSet<(i64, i64, TraceKey)>,
    /// Open traces by (first offset, trace).
    by_first: BTreeSet<(i64, TraceKey)>,
    buffered_spans: usize,
    buckets: BTreeMap<i64, Bucket>,
    dependencies: Option<DependencyTotals>,
    closed: VecDeque<Closed>,
    recently_closed: FxHashMap<TraceKey, u32>,
    /// Spanning traces of the checkpoint this state was restored from: trace → close offset.
    phantoms: FxHashMap<TraceKey, i64>,
    phantom_expiry: BTreeSet<(i64, TraceKey)>,
    finals: Vec<FinalBucket>,
    pub counters: Counters,
}

fn floor_to(t: i64, width: i64) -> i64 {
    t - t.rem_euclid(width)
}

fn trace_key(trace_id: &[u8]) -> u128 {
    u128::from_be_bytes(trace_id.try_into().expect("trace ids are checked to be 16 bytes"))
}

impl PartitionState {
    /// A partition read from its start (or from where a new group starts), nothing counted yet.
    /// Buckets starting before `finalized_through` are never written (backfill's start).
    pub fn new(settings: Settings, finalized_through: i64) -> Self {
        Self {
            settings,
            next_offset: i64::MIN,
            watermark: i64::MIN,
            finalized_through,
            open: FxHashMap::default(),
            by_deadline: BTreeSet::new(),
            by_first: BTreeSet::new(),
            buffered_spans: 0,
            buckets: BTreeMap::new(),
            dependencies: None,
            closed: VecDeque::new(),
            recently_closed: FxHashMap::default(),
            phantoms: FxHashMap::default(),
            phantom_expiry: BTreeSet::new(),
            finals: Vec::new(),
            counters: Counters::default(),
        }
    }

    /// Continue from a checkpoint: the caller reads records from `checkpoint.resume.offset`.
    /// `names` interns the tenants of its spanning traces.
    pub fn restore(settings: Settings, checkpoint: PartitionCheckpoint, names: &mut Names) -> Self {
        let mut state = Self::new(settings, checkpoint.finalized_through);
        state.next_offset = checkpoint.resume.offset;
        state.watermark = checkpoint.resume.watermark;
        state.dependencies = checkpoint.dependencies;
        for spanning in checkpoint.spanning {
            let Ok(bytes) = hex::decode(&spanning.trace) else { continue };
            let Ok(id) = <[u8; 16]>::try_from(bytes.as_slice()) else { continue };
            let tenant = match spanning.tenant.as_deref() {
                None => NO_TENANT,
                Some(tenant) => names.id(tenant),
            };
            let trace = (tenant, u128::from_be_bytes(id));
            state.phantoms.insert(trace, spanning.close_offset);
            state.phantom_expiry.insert((spanning.close_offset, trace));
        }
        state
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn watermark(&self) -> i64 {
        self.watermark
    }

    pub fn finalized_through(&self) -> i64 {
        self.finalized_through
    }

    pub fn open_traces(&self) -> usize {
        self.open.len()
    }

    pub fn buffered_spans(&self) -> usize {
        self.buffered_spans
    }

    /// True while anything waits for the watermark to move (so an idle partition needs a marker).
    pub fn has_pending_work(&self) -> bool {
        !self.open.is_empty() || !self.buckets.is_empty()
    }

    /// Read one record. `observe` sees every span counted in a not-yet-final bucket (for the
    /// Prometheus RED metrics): (service, operation, kind, error, duration).
    pub fn read(
        &mut self,
        offset: i64,
        timestamp: Option<i64>,
        payload: Payload<'_>,
        names: &mut Names,
        scratch: &mut Scratch,
        mut observe: impl FnMut(u32, u32, u8, bool, u64),
    ) -> Read {
        if offset < self.next_offset {
            return Read::AlreadySeen;
        }
        self.counters.records += 1;
        let before = Mark { offset, watermark: self.watermark };
        if let Some(ts) = timestamp {
            self.watermark = self.watermark.max(ts);
        }
        self.expire_phantoms(offset);
        self.close_due(offset, scratch);
        self.finalize_due();

        let (bytes, tenant) = match payload {
            Payload::Marker => {
                self.counters.markers += 1;
                self.next_offset = offset + 1;
                return Read::Processed;
            }
            Payload::Undecodable(error) => {
                self.counters.undecodable_records += 1;
                self.next_offset = offset + 1;
                return Read::Undecodable(error);
            }
            Payload::Spans(bytes, tenant) => (bytes, tenant),
        };
        if let Err(error) = parse(bytes, tenant, names, scratch) {
            self.counters.undecodable_records += 1;
            self.next_offset = offset + 1;
            return Read::Undecodable(error);
        }

        // Per-operation figures: the bucket of the watermark now.
        let bucket_start = floor_to(self.watermark, self.settings.bucket_ms);
        let counted = bucket_start >= self.finalized_through;
        if counted {
            let bucket = self.buckets.entry(bucket_start).or_default();
            bucket.hold(before);
            for p in &scratch.parsed {
                bucket.add_operation(
                    (p.trace.0, p.span.service, p.span.operation, p.span.kind),
                    p.span.duration_nanos,
                    p.span.error,
                );
                observe(p.span.service, p.span.operation, p.span.kind, p.span.error, p.span.duration_nanos);
            }
        }
        self.counters.spans += scratch.parsed.len() as u64;

        // Trace assembly. A skein record holds one trace; a foreign topic's batch may hold several,
        // even interleaved: each run of one trace's spans joins that trace.
        let parsed = std::mem::take(&mut scratch.parsed);
        let link_ids = std::mem::take(&mut scratch.link_ids);
        let mut start = 0;
        while start < parsed.len() {
            let trace = parsed[start].trace;
            let end = start + parsed[start..].iter().take_while(|p| p.trace == trace).count();
            self.assemble(trace, &parsed[start..end], &link_ids, offset, before, scratch);
            start = end;
        }
        scratch.parsed = parsed;
        scratch.link_ids = link_ids;
        self.next_offset = offset + 1;
        Read::Processed
    }

    fn assemble(
        &mut self,
        trace: TraceKey,
        spans: &[Parsed],
        link_ids: &[u64],
        offset: i64,
        before: Mark,
        scratch: &mut Scratch,
    ) {
        if self.phantoms.contains_key(&trace) {
            // Already counted before the checkpoint this replay started from.
            self.counters.replayed_spans_skipped += spans.len() as u64;
            return;
        }
        let limit = self.settings.max_spans_per_trace;
        let mut continues_split = false;
        if let Some(open) = self.open.get(&trace) {
            if open.spans.len() + spans.len() > limit {
                self.counters.traces_closed_span_limit += 1;
                self.close(trace, offset, self.watermark, scratch);
                continues_split = true;
            }
        }
        if !self.open.contains_key(&trace) {
            if !continues_split && self.recently_closed.contains_key(&trace) {
                self.counters.late_spans += spans.len() as u64;
            }
            while self.open.len() + self.phantoms.len() >= self.settings.max_open_traces && self.evict(offset, scratch)
            {
                self.counters.traces_closed_capacity += 1;
            }
            let deadline = self.watermark.saturating_add(self.settings.idle_gap_ms.min(self.settings.max_age_ms));
            self.open.insert(
                trace,
                OpenTrace {
                    first: before,
                    first_seen: self.watermark,
                    deadline,
                    spans: Vec::new(),
                    extra_refs: Vec::new(),
                },
            );
            self.by_first.insert((offset, trace));
            self.by_deadline.insert((deadline, offset, trace));
        }
        let open = self.open.get_mut(&trace).expect("inserted above");
        let room = limit.saturating_sub(open.spans.len());
        for p in spans.iter().take(room) {
            for id in &link_ids[p.links.clone()] {
                open.extra_refs.push((open.spans.len() as u32, *id));
            }
            open.spans.push(p.span);
        }
        let kept = spans.len().min(room);
        self.counters.spans_dropped_from_links += (spans.len() - kept) as u64;
        self.buffered_spans += kept;
        let deadline = self
            .watermark
            .saturating_add(self.settings.idle_gap_ms)
            .min(open.first_seen.saturating_add(self.settings.max_age_ms));
        if deadline != open.deadline {
            self.by_deadline.remove(&(open.deadline, open.first.offset, trace));
            open.deadline = deadline;
            self.by_deadline.insert((deadline, open.first.offset, trace));
        }
    }

    /// Close the trace with the earliest deadline (capacity overflow). False when none is open.
    fn evict(&mut self, offset: i64, scratch: &mut Scratch) -> bool {
        let Some(&(_, _, trace)) = self.by_deadline.first() else { return false };
        self.close(trace, offset, self.watermark, scratch);
        true
    }

    fn expire_phantoms(&mut self, offset: i64) {
        while let Some(&(close_offset, trace)) = self.phantom_expiry.first() {
            if close_offset > offset {
                break;
            }
            self.phantom_expiry.pop_first();
            self.phantoms.remove(&trace);
            // Still spanning for a later checkpoint whose resume point is before `close_offset`.
            self.closed.push_back(Closed { trace, first_offset: i64::MIN, close_offset });
        }
    }

    fn close_due(&mut self, offset: i64, scratch: &mut Scratch) {
        while let Some(&(deadline, _, trace)) = self.by_deadline.first() {
            if deadline > self.watermark {
                break;
            }
            let open = &self.open[&trace];
            if deadline >= open.first_seen.saturating_add(self.settings.max_age_ms) {
                self.counters.traces_closed_max_age += 1;
            } else {
                self.counters.traces_closed_idle += 1;
            }
            self.close(trace, offset, deadline, scratch);
        }
    }

    /// Close a trace: its links count in the bucket of `at`.
    fn close(&mut self, trace: TraceKey, close_offset: i64, at: i64, scratch: &mut Scratch) {
        let Some(open) = self.open.remove(&trace) else { return };
        self.by_deadline.remove(&(open.deadline, open.first.offset, trace));
        self.by_first.remove(&(open.first.offset, trace));
        self.buffered_spans -= open.spans.len();
        self.closed.push_back(Closed { trace, first_offset: open.first.offset, close_offset });
        *self.recently_closed.entry(trace).or_insert(0) += 1;

        let bucket_start = floor_to(at, self.settings.bucket_ms);
        if bucket_start < self.finalized_through {
            // Only in a replay: that bucket was written before the checkpoint.
            return;
        }
        scratch.calls.clear();
        dependency_calls(&open.spans, &open.extra_refs, &mut scratch.links, &mut scratch.calls);
        if scratch.calls.is_empty() {
            return;
        }
        let bucket = self.buckets.entry(bucket_start).or_default();
        bucket.hold(open.first);
        for call in &scratch.calls {
            bucket.add_call(trace.0, call, trace.1);
        }
    }

    fn finalize_due(&mut self) {
        let width = self.settings.bucket_ms;
        while let Some(entry) = self.buckets.first_entry() {
            if entry.key().saturating_add(width) > self.watermark {
                break;
            }
            let (start_ms, bucket) = entry.remove_entry();
            self.finals.push(FinalBucket { start_ms, bucket });
        }
        if self.watermark != i64::MIN {
            self.finalized_through = self.finalized_through.max(floor_to(self.watermark, width));
        }
    }

    /// Buckets that became final since the last call, with the dependencies totals each one
    /// completes (resolved to names). Dependencies totals are carried into the checkpoint.
    pub fn take_finals(&mut self, names: &Names) -> (Vec<FinalBucket>, Vec<DependencyTotals>) {
        let finals = std::mem::take(&mut self.finals);
        let mut totals: Vec<DependencyTotals> = Vec::new();
        for bucket in &finals {
            let start = floor_to(bucket.start_ms, self.settings.dependencies_bucket_ms);
            if self.dependencies.as_ref().is_none_or(|d| d.start_ms != start) {
                self.dependencies = Some(DependencyTotals { start_ms: start, links: BTreeMap::new() });
            }
            if bucket.bucket.links.is_empty() {
                continue;
            }
            let dependencies = self.dependencies.as_mut().expect("set above");
            add_links(dependencies, &bucket.bucket.links, names);
            match totals.last_mut() {
                Some(last) if last.start_ms == start => *last = dependencies.clone(),
                _ => totals.push(dependencies.clone()),
            }
        }
        (finals, totals)
    }

    /// Buckets not yet final and the dependencies totals they would give, for provisional
    /// documents (overwritten by the final ones); render each bucket's
    /// [`Bucket::drain_changed`] series.
    pub fn open_buckets(&mut self, names: &Names) -> (Vec<(i64, &mut Bucket)>, Vec<DependencyTotals>) {
        let mut totals: Vec<DependencyTotals> = Vec::new();
        for (start_ms, bucket) in &self.buckets {
            let start = floor_to(*start_ms, self.settings.dependencies_bucket_ms);
            if totals.last().is_none_or(|t| t.start_ms != start) {
                let base = self.dependencies.clone().filter(|d| d.start_ms == start);
                totals.push(base.unwrap_or(DependencyTotals { start_ms: start, links: BTreeMap::new() }));
            }
            add_links(totals.last_mut().expect("pushed above"), &bucket.links, names);
        }
        totals.retain(|t| !t.links.is_empty());
        (self.buckets.iter_mut().map(|(s, b)| (*s, b)).collect(), totals)
    }

    /// The checkpoint for everything read so far; call after `take_finals`, once the final
    /// documents are durable. Forgets closed traces it no longer needs. `None` before the first
    /// record.
    pub fn checkpoint(&mut self, names: &Names) -> Option<PartitionCheckpoint> {
        if self.next_offset == i64::MIN {
            return None;
        }
        let mut resume = Mark { offset: self.next_offset, watermark: self.watermark };
        if let Some((_, trace)) = self.by_first.first() {
            resume = resume.min(self.open[trace].first);
        }
        for bucket in self.buckets.values() {
            if let Some(held) = bucket.holdback {
                if held.offset < resume.offset {
                    resume = held;
                }
            }
        }
        while self.closed.front().is_some_and(|c| c.close_offset <= resume.offset) {
            let closed = self.closed.pop_front().expect("checked");
            if let Some(count) = self.recently_closed.get_mut(&closed.trace) {
                *count -= 1;
                if *count == 0 {
                    self.recently_closed.remove(&closed.trace);
                }
            }
        }
        let mut spanning: Vec<Spanning> = self
            .closed
            .iter()
            .filter(|c| c.first_offset < resume.offset)
            .map(|c| spanning_of(c.trace, c.close_offset, names))
            .collect();
        spanning.extend(
            self.phantoms
                .iter()
                .filter(|(_, close)| **close > resume.offset)
                .map(|(trace, close_offset)| spanning_of(*trace, *close_offset, names)),
        );
        spanning.sort_by(|a, b| (a.close_offset, &a.trace, &a.tenant).cmp(&(b.close_offset, &b.trace, &b.tenant)));
        Some(PartitionCheckpoint {
            resume,
            finalized_through: self.finalized_through,
            dependencies: self.dependencies.clone(),
            spanning,
            settings: self.settings.clone(),
        })
    }
}

/// A spanning trace as the checkpoint names it.
fn spanning_of((tenant, trace): TraceKey, close_offset: i64, names: &Names) -> Spanning {
    let tenant = (tenant != NO_TENANT).then(|| names.name(tenant).to_string());
    Spanning { trace: format!("{trace:032x}"), tenant, close_offset }
}

fn add_links(totals: &mut DependencyTotals, links: &FxHashMap<LinkKey, Series>, names: &Names) {
    for ((tenant, parent, child), series) in links {
        let key = (names.name(*tenant).to_string(), names.name(*parent).to_string(), names.name(*child).to_string());
        let entry = totals.links.entry(key).or_insert((0, 0));
        entry.0 += series.calls;
        entry.1 += series.errors;
    }
}

/// Read a record's spans, all of `tenant`, into `scratch.parsed`; nothing is kept when the record
/// is malformed.
fn parse(bytes: &[u8], tenant: u32, names: &mut Names, scratch: &mut Scratch) -> Result<(), String> {
    scratch.parsed.clear();
    scratch.link_ids.clear();
    let Scratch { parsed, link_ids, span_links, .. } = scratch;
    for_each_span(bytes, span_links, |span, links| {
        let start = link_ids.len();
        link_ids.extend_from_slice(links);
        parsed.push(Parsed {
            trace: (tenant, trace_key(span.trace_id)),
            span: CompactSpan {
                span_id: span.span_id,
                parent: span.parent_span_id,
                hash: xxhash_rust::xxh3::xxh3_64(span.bytes),
                duration_nanos: span.duration_nanos(),
                service: names.id(span.service),
                operation: names.id(span.name),
                peer: span.peer_service.map_or(NO_NAME, |peer| names.id(peer)),
                kind: span.kind.clamp(0, 255) as u8,
                error: span.error,
            },
            links: start..link_ids.len(),
        });
    })
    .map(|_| ())
    .map_err(|error| {
        parsed.clear();
        error.to_string()
    })
}
