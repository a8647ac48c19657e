//! `skein replay`: move the ingester group's committed offsets so the ingesters read the spans
//! topic again from an earlier point. A document's id is its span's identity, so a replay overwrites.

use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::{Offset, TopicPartitionList};
use skein_core::config::KafkaConfig;

const TIMEOUT: Duration = Duration::from_secs(15);

/// Where to move the offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayTarget {
    /// The oldest record still in each partition.
    Earliest,
    /// The first record at or after this time (ms since the epoch); the end when none.
    Timestamp(i64),
    /// This offset in every partition, clamped to what the partition still holds.
    Offset(i64),
}

/// Why the offsets were not moved.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(
        "consumer group {group} has {members} live member(s); stop every ingester of the group first, then replay"
    )]
    GroupActive { group: String, members: usize },
    #[error("topic {0} does not exist or has no partitions")]
    NoSuchTopic(String),
    #[error("kafka error while {doing}: {source} (is Kafka reachable at the configured brokers?)")]
    Kafka { doing: &'static str, source: KafkaError },
}

fn kafka(doing: &'static str) -> impl FnOnce(KafkaError) -> ReplayError {
    move |source| ReplayError::Kafka { doing, source }
}

/// Reset `group`'s offsets on `topic`; returns the new offset of each partition.
pub fn reset_offsets(
    kafka_config: &KafkaConfig,
    group: &str,
    topic: &str,
    target: ReplayTarget,
) -> Result<Vec<(i32, i64)>, ReplayError> {
    let mut config = skein_core::kafka::client_config(kafka_config);
    config.set("group.id", group).set("enable.auto.commit", "false");
    let consumer: BaseConsumer = config.create().map_err(kafka("creating a client"))?;

    let groups = consumer.fetch_group_list(Some(group), TIMEOUT).map_err(kafka("describing the consumer group"))?;
    if let Some(described) = groups.groups().iter().find(|g| g.name() == group) {
        if !described.members().is_empty() {
            return Err(ReplayError::GroupActive { group: group.to_string(), members: described.members().len() });
        }
    }

    let metadata = consumer.fetch_metadata(Some(topic), TIMEOUT).map_err(kafka("reading topic metadata"))?;
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .filter(|t| t.name() == topic && t.error().is_none())
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    if partitions.is_empty() {
        return Err(ReplayError::NoSuchTopic(topic.to_string()));
    }

    let mut offsets = Vec::with_capacity(partitions.len());
    let by_time = match target {
        ReplayTarget::Timestamp(ms) => {
            let mut query = TopicPartitionList::new();
            for partition in &partitions {
                query
                    .add_partition_offset(topic, *partition, Offset::Offset(ms))
                    .map_err(kafka("building the query"))?;
            }
            Some(consumer.offsets_for_times(query, TIMEOUT).map_err(kafka("looking up offsets by time"))?)
        }
        _ => None,
    };
    for partition in partitions {
        let (low, high) = consumer.fetch_watermarks(topic, partition, TIMEOUT).map_err(kafka("reading watermarks"))?;
        let offset = match target {
            ReplayTarget::Earliest => low,
            ReplayTarget::Offset(n) => n.clamp(low, high),
            ReplayTarget::Timestamp(_) => {
                match by_time.as_ref().and_then(|list| list.find_partition(topic, partition)).map(|e| e.offset()) {
                    Some(Offset::Offset(found)) => found,
                    _ => high,
                }
            }
        };
        offsets.push((partition, offset));
    }

    let mut commit = TopicPartitionList::new();
    for (partition, offset) in &offsets {
        commit
            .add_partition_offset(topic, *partition, Offset::Offset(*offset))
            .map_err(kafka("building the commit"))?;
    }
    consumer.commit(&commit, CommitMode::Sync).map_err(kafka("committing the new offsets"))?;
    Ok(offsets)
}
