//! Committing offsets a role has made durable.

use rdkafka::consumer::{CommitMode, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::{Offset, TopicPartitionList};

use super::context::{ConsumerRole, RoleConsumer};
use super::tracker::SharedTracker;
use crate::offsets::TopicPartition;

/// Commit `offsets` (per partition, the next offset to read) and count them through the role.
pub fn commit_offsets<R: ConsumerRole>(
    consumer: &RoleConsumer<R>,
    offsets: &[(TopicPartition, i64)],
    mode: CommitMode,
) -> Result<(), KafkaError> {
    if offsets.is_empty() {
        return Ok(());
    }
    commit_list(consumer, offsets, mode)?;
    consumer.context().role().committed(offsets.len() as u64);
    Ok(())
}

/// Commit what `tracker` says advanced since the last commit. A failed commit is logged and
/// offered again by the next call.
pub fn commit_durable<R: ConsumerRole>(consumer: &RoleConsumer<R>, tracker: &SharedTracker, mode: CommitMode) {
    let commits = tracker.lock().take_commits();
    if let Err(error) = commit_offsets(consumer, &commits, mode) {
        tracing::warn!(%error, "offset commit failed; will retry");
        tracker.lock().commit_failed(&commits);
    }
}

/// Commit `offsets` through any consumer (the rebalance callbacks get the base consumer).
pub(super) fn commit_list<C: ConsumerContext>(
    consumer: &impl Consumer<C>,
    offsets: &[(TopicPartition, i64)],
    mode: CommitMode,
) -> Result<(), KafkaError> {
    let mut list = TopicPartitionList::new();
    for ((topic, partition), offset) in offsets {
        list.add_partition_offset(topic, *partition, Offset::Offset(*offset))?;
    }
    consumer.commit(&list, mode)
}
