//! Kafka's part of the pipeline report, read directly from the brokers (so it is right whichever
//! processes run the ingester and analytics): partitions and watermarks of the spans topic, each
//! group's committed offsets, state and members, the age of the oldest record a group has not
//! committed, and the dead-letter topic.
//!
//! librdkafka's calls block, so these functions run on a blocking thread; every call is bounded by
//! what is left of the request's budget.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::message::{Headers, Message};
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use skein_core::config::KafkaConfig;
use skein_schemas::dlq;

use super::format::rfc3339;
use super::report::{ConsumerGroupReport, DeadLetter, DeadLetters, GroupRole, PartitionLag};

/// Longest single call to Kafka.
const CALL_TIMEOUT: Duration = Duration::from_secs(3);
/// The group id of the record reader (see [`read_records`]).
const READER_GROUP: &str = "skein-query-pipeline-report";
/// How long reading records (the oldest uncommitted ones, the latest dead letters) may take.
const READ_TIMEOUT: Duration = Duration::from_millis(1500);

/// librdkafka's own log lines at debug level: a report about an unreachable broker must not fill
/// the query role's log with connection errors every time a page polls it.
struct Quiet;

impl ClientContext for Quiet {
    fn log(&self, _level: rdkafka::config::RDKafkaLogLevel, fac: &str, message: &str) {
        tracing::debug!(target: "librdkafka", fac, "{message}");
    }

    fn error(&self, error: KafkaError, reason: &str) {
        tracing::debug!(target: "librdkafka", %error, reason, "kafka client error");
    }
}

impl ConsumerContext for Quiet {}

type Client = BaseConsumer<Quiet>;

/// A consumer that never joins a group: `group` only names whose committed offsets it reads.
fn client(kafka: &KafkaConfig, group: Option<&str>) -> Result<Client, String> {
    let mut config = skein_core::kafka::client_config(kafka);
    config
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("enable.partition.eof", "true")
        .set("auto.offset.reset", "earliest")
        .set("fetch.wait.max.ms", "100")
        .set("queued.max.messages.kbytes", "8192");
    if let Some(group) = group {
        config.set("group.id", group);
    }
    config.create_with_context(Quiet).map_err(|error| {
        format!(
            "cannot create a Kafka client for {}: {error} (check kafka.brokers and kafka.librdkafka)",
            kafka.brokers
        )
    })
}

/// What is left of the request's time.
#[derive(Clone, Copy)]
pub struct Budget {
    pub deadline: Instant,
}

impl Budget {
    /// The timeout for the next call, or an error once the budget is spent.
    fn call(&self, what: &str) -> Result<Duration, String> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left < Duration::from_millis(20) {
            return Err(format!("ran out of time before reading {what} from Kafka"));
        }
        Ok(left.min(CALL_TIMEOUT))
    }
}

/// Partitions of a topic with their low and high watermarks.
fn watermarks(client: &Client, topic: &str, budget: Budget) -> Result<Vec<(i32, i64, i64)>, TopicError> {
    let metadata = client
        .fetch_metadata(Some(topic), budget.call("metadata").map_err(TopicError::Unreachable)?)
        .map_err(|error| TopicError::Unreachable(format!("cannot read the metadata of topic {topic}: {error}")))?;
    let Some(found) = metadata.topics().iter().find(|t| t.name() == topic) else {
        return Err(TopicError::Missing(topic.to_string()));
    };
    if found.error().is_some() || found.partitions().is_empty() {
        return Err(TopicError::Missing(topic.to_string()));
    }
    let mut ids: Vec<i32> = found.partitions().iter().map(|p| p.id()).collect();
    ids.sort_unstable();
    let mut out = Vec::with_capacity(ids.len());
    for partition in ids {
        let (low, high) = client
            .fetch_watermarks(topic, partition, budget.call("watermarks").map_err(TopicError::Other)?)
            .map_err(|error| TopicError::Other(format!("cannot read the offsets of {topic}/{partition}: {error}")))?;
        out.push((partition, low, high));
    }
    Ok(out)
}

enum TopicError {
    /// No broker answered: Kafka is unreachable.
    Unreachable(String),
    Missing(String),
    Other(String),
}

impl TopicError {
    fn message(&self) -> String {
        match self {
            TopicError::Unreachable(error) => format!("{error} (is Kafka running? check kafka.brokers; run `make up` locally)"),
            TopicError::Missing(topic) => format!(
                "topic {topic} does not exist yet (the collector, ingester and analytics roles create it at start, and so does `skein init`)"
            ),
            TopicError::Other(error) => error.clone(),
        }
    }
}

/// The spans topic and the consumer groups on it.
#[derive(Debug, Default)]
pub struct SpansTopic {
    pub reachable: bool,
    pub errors: Vec<String>,
    /// Partition ids, ascending (empty when unknown).
    pub partitions: Vec<i32>,
    pub groups: Vec<ConsumerGroupReport>,
}

/// Read the spans topic and every group's position on it.
pub fn spans_topic(kafka: &KafkaConfig, groups: &[(String, GroupRole)], budget: Budget, now_ms: i64) -> SpansTopic {
    let mut out = SpansTopic::default();
    let probe = match client(kafka, None) {
        Ok(probe) => probe,
        Err(error) => {
            out.errors.push(error);
            return out;
        }
    };
    let marks = match watermarks(&probe, &kafka.spans_topic, budget) {
        Ok(marks) => marks,
        Err(error) => {
            out.reachable = !matches!(error, TopicError::Unreachable(_));
            out.errors.push(error.message());
            return out;
        }
    };
    out.reachable = true;
    out.partitions = marks.iter().map(|(p, _, _)| *p).collect();
    for (group, role) in groups {
        match group_report(kafka, &probe, group, *role, &marks, budget, now_ms) {
            Ok((report, warning)) => {
                out.groups.push(report);
                out.errors.extend(warning);
            }
            Err(error) => out.errors.push(format!("consumer group {group}: {error}")),
        }
    }
    out
}

fn group_report(
    kafka: &KafkaConfig,
    probe: &Client,
    group: &str,
    role: GroupRole,
    marks: &[(i32, i64, i64)],
    budget: Budget,
    now_ms: i64,
) -> Result<(ConsumerGroupReport, Option<String>), String> {
    let topic = &kafka.spans_topic;
    let member = client(kafka, Some(group))?;
    let mut list = TopicPartitionList::new();
    for (partition, _, _) in marks {
        list.add_partition(topic, *partition);
    }
    let committed = member
        .committed_offsets(list, budget.call("committed offsets")?)
        .map_err(|error| format!("cannot read committed offsets: {error}"))?;
    let committed: BTreeMap<i32, i64> = committed
        .elements()
        .iter()
        .filter_map(|e| match e.offset() {
            Offset::Offset(offset) => Some((e.partition(), offset)),
            _ => None,
        })
        .collect();
    let (state, members) = match probe.fetch_group_list(Some(group), budget.call("group state")?) {
        Ok(list) => list
            .groups()
            .iter()
            .find(|g| g.name() == group)
            .map_or(("Unknown".to_string(), 0), |g| (g.state().to_string(), g.members().len())),
        Err(error) => return Err(format!("cannot describe the group: {error}")),
    };

    let positions: Vec<Position> = marks
        .iter()
        .map(|&(partition, low, high)| position(partition, low, high, committed.get(&partition).copied()))
        .collect();
    let wanted: Vec<(i32, i64, i64)> =
        positions.iter().filter_map(|p| p.read_from.map(|from| (p.partition, from, from + 1))).collect();
    let (records, warning) = match read_records(kafka, topic, &wanted, budget) {
        Ok(records) => (records, None),
        Err(error) => (Vec::new(), Some(format!("consumer group {group}: lag in seconds unknown: {error}"))),
    };
    let oldest: BTreeMap<i32, i64> =
        records.into_iter().filter_map(|record| Some((record.partition, record.timestamp_ms?))).collect();
    let partitions: Vec<PartitionLag> = positions
        .into_iter()
        .map(|p| PartitionLag {
            partition: p.partition,
            committed: p.committed,
            high_watermark: p.high,
            lag: p.lag,
            lag_seconds: if p.lag == 0 {
                Some(0.0)
            } else {
                oldest.get(&p.partition).map(|ts| (now_ms - ts).max(0) as f64 / 1000.0)
            },
        })
        .collect();
    let report = ConsumerGroupReport {
        group: group.to_string(),
        role,
        state,
        members,
        total_lag: partitions.iter().map(|p| p.lag).sum(),
        max_lag_seconds: partitions.iter().filter_map(|p| p.lag_seconds).reduce(f64::max),
        partitions,
    };
    Ok((report, warning))
}

/// Where a group stands on one partition.
#[derive(Debug, PartialEq)]
pub struct Position {
    pub partition: i32,
    pub committed: Option<i64>,
    pub high: i64,
    pub lag: i64,
    /// The oldest record not committed (the one whose age is the lag in seconds), when lagging.
    pub read_from: Option<i64>,
}

/// Lag = high − committed; without a commit the group would read the whole partition: high − low.
/// Records deleted by retention cannot be read, so the oldest readable one is at ≥ low.
pub fn position(partition: i32, low: i64, high: i64, committed: Option<i64>) -> Position {
    let lag = (high - committed.unwrap_or(low)).max(0);
    let read_from = (lag > 0).then(|| committed.unwrap_or(low).max(low)).filter(|from| *from < high);
    Position { partition, committed, high, lag, read_from }
}

/// A record read back, without its value.
#[derive(Debug)]
struct Record {
    partition: i32,
    offset: i64,
    timestamp_ms: Option<i64>,
    headers: Vec<(String, String)>,
}

/// Records of `topic` in `[from, to)` per `(partition, from, to)`, for at most [`READ_TIMEOUT`].
/// Assigned, not subscribed: no group is joined and nothing is committed.
fn read_records(
    kafka: &KafkaConfig,
    topic: &str,
    ranges: &[(i32, i64, i64)],
    budget: Budget,
) -> Result<Vec<Record>, String> {
    let mut records = Vec::new();
    if ranges.is_empty() {
        return Ok(records);
    }
    // librdkafka assigns only in a consumer with a group id; assigned at explicit offsets and never
    // committing, it never contacts that group.
    let reader = client(kafka, Some(READER_GROUP))?;
    let mut list = TopicPartitionList::new();
    for (partition, from, _) in ranges {
        list.add_partition_offset(topic, *partition, Offset::Offset(*from))
            .map_err(|error| format!("cannot read {topic}/{partition} at {from}: {error}"))?;
    }
    reader.assign(&list).map_err(|error| format!("cannot assign {topic} to read records: {error}"))?;
    let ends: BTreeMap<i32, i64> = ranges.iter().map(|(p, _, to)| (*p, *to)).collect();
    let mut open: std::collections::BTreeSet<i32> = ends.keys().copied().collect();
    let stop = budget.deadline.min(Instant::now() + READ_TIMEOUT);
    while !open.is_empty() {
        let left = stop.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        match reader.poll(left.min(Duration::from_millis(100))) {
            Some(Ok(message)) => {
                let partition = message.partition();
                let Some(&end) = ends.get(&partition) else { continue };
                if message.offset() >= end || !open.contains(&partition) {
                    open.remove(&partition);
                    continue;
                }
                let headers = message
                    .headers()
                    .map(|headers| {
                        headers
                            .iter()
                            .filter_map(|h| Some((h.key.to_string(), String::from_utf8_lossy(h.value?).into_owned())))
                            .collect()
                    })
                    .unwrap_or_default();
                records.push(Record {
                    partition,
                    offset: message.offset(),
                    timestamp_ms: message.timestamp().to_millis(),
                    headers,
                });
                if message.offset() + 1 >= end {
                    open.remove(&partition);
                }
            }
            Some(Err(KafkaError::PartitionEOF(partition))) => {
                open.remove(&partition);
            }
            Some(Err(error)) => tracing::debug!(%error, topic, "reading records for the pipeline report"),
            None => {}
        }
    }
    Ok(records)
}

/// Most dead letters listed.
pub const LATEST_DEAD_LETTERS: usize = 10;

/// The dead-letter topic: how many records it holds and the latest ones' reasons.
pub fn dead_letters(kafka: &KafkaConfig, budget: Budget) -> (DeadLetters, Option<String>) {
    let mut out = DeadLetters { topic: kafka.dlq_topic.clone(), records: 0, latest: Vec::new() };
    let probe = match client(kafka, None) {
        Ok(probe) => probe,
        Err(error) => return (out, Some(error)),
    };
    let marks = match watermarks(&probe, &kafka.dlq_topic, budget) {
        Ok(marks) => marks,
        // No dead letter was ever written where the topic does not exist.
        Err(TopicError::Missing(_)) => return (out, None),
        Err(error) => return (out, Some(error.message())),
    };
    out.records = marks.iter().map(|(_, low, high)| (high - low).max(0)).sum();
    let ranges: Vec<(i32, i64, i64)> = marks
        .iter()
        .filter(|(_, low, high)| high > low)
        .map(|&(partition, low, high)| (partition, low.max(high - LATEST_DEAD_LETTERS as i64), high))
        .collect();
    match read_records(kafka, &kafka.dlq_topic, &ranges, budget) {
        Ok(records) => {
            out.latest = latest(records.into_iter().map(dead_letter).collect());
            (out, None)
        }
        Err(error) => (out, Some(format!("the latest reasons are unknown: {error}"))),
    }
}

fn dead_letter(record: Record) -> DeadLetter {
    let header = |name: &str| record.headers.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str());
    DeadLetter {
        partition: record.partition,
        offset: record.offset,
        timestamp: record.timestamp_ms.map(rfc3339).unwrap_or_default(),
        error: header(dlq::ERROR_HEADER).unwrap_or_default().to_string(),
        error_kind: header(dlq::ERROR_KIND_HEADER).unwrap_or_default().to_string(),
        origin_partition: header(dlq::ORIGIN_PARTITION_HEADER).and_then(|v| v.parse().ok()),
        origin_offset: header(dlq::ORIGIN_OFFSET_HEADER).and_then(|v| v.parse().ok()),
    }
}

/// Newest first (record time, then offset), at most [`LATEST_DEAD_LETTERS`].
fn latest(mut letters: Vec<DeadLetter>) -> Vec<DeadLetter> {
    letters.sort_by(|a, b| {
        (b.timestamp.as_str(), b.offset, b.partition).cmp(&(a.timestamp.as_str(), a.offset, a.partition))
    });
    letters.truncate(LATEST_DEAD_LETTERS);
    letters
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_is_high_minus_committed_and_the_oldest_uncommitted_record_is_read() {
        assert_eq!(
            position(0, 0, 10, Some(7)),
            Position { partition: 0, committed: Some(7), high: 10, lag: 3, read_from: Some(7) }
        );
    }

    #[test]
    fn a_caught_up_group_reads_nothing() {
        assert_eq!(position(1, 5, 10, Some(10)).lag, 0);
        assert_eq!(position(1, 5, 10, Some(10)).read_from, None);
        assert_eq!(
            position(2, 0, 0, None),
            Position { partition: 2, committed: None, high: 0, lag: 0, read_from: None }
        );
    }

    #[test]
    fn without_a_commit_the_whole_partition_is_behind() {
        assert_eq!(
            position(0, 4, 10, None),
            Position { partition: 0, committed: None, high: 10, lag: 6, read_from: Some(4) }
        );
    }

    #[test]
    fn a_commit_below_retention_reads_from_the_oldest_record_kept() {
        let p = position(0, 50, 60, Some(20));
        assert_eq!((p.lag, p.read_from), (40, Some(50)));
    }

    #[test]
    fn dead_letters_are_listed_newest_first_and_at_most_ten() {
        let letter = |partition: i32, offset: i64, ts: &str| DeadLetter {
            partition,
            offset,
            timestamp: ts.into(),
            error: String::new(),
            error_kind: "decode".into(),
            origin_partition: None,
            origin_offset: None,
        };
        let mut letters: Vec<DeadLetter> = (0..12).map(|i| letter(0, i, "2025-01-01T00:00:00.000Z")).collect();
        letters.push(letter(1, 3, "2025-01-02T00:00:00.000Z"));
        let latest = latest(letters);
        assert_eq!(latest.len(), 10);
        assert_eq!((latest[0].partition, latest[0].offset), (1, 3));
        assert_eq!(latest[1].offset, 11);
        assert_eq!(latest[9].offset, 3);
    }

    #[test]
    fn a_dead_letter_reads_its_reason_and_origin_from_the_headers() {
        let record = Record {
            partition: 0,
            offset: 4,
            timestamp_ms: Some(1_700_000_000_123),
            headers: vec![
                (dlq::ERROR_HEADER.into(), "not a span record".into()),
                (dlq::ERROR_KIND_HEADER.into(), "decode".into()),
                (dlq::ORIGIN_PARTITION_HEADER.into(), "2".into()),
                (dlq::ORIGIN_OFFSET_HEADER.into(), "17".into()),
            ],
        };
        let letter = dead_letter(record);
        assert_eq!(letter.error, "not a span record");
        assert_eq!(letter.error_kind, "decode");
        assert_eq!((letter.origin_partition, letter.origin_offset), (Some(2), Some(17)));
        assert_eq!(letter.timestamp, "2023-11-14T22:13:20.123Z");
    }
}
