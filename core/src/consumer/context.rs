//! The librdkafka context of a consuming role: rebalances, statistics, logs and client errors go
//! to the role's hooks or to `tracing`.

use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, CommitMode, ConsumerContext, Rebalance, StreamConsumer};
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::statistics::Statistics;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{ClientContext, Offset, TopicPartitionList};

use super::commit::commit_list;
use crate::offsets::TopicPartition;

/// What a consuming role does when the group moves its partitions, and how it counts. Hooks run
/// on librdkafka's callbacks (inside the read loop's poll) and must finish quickly.
pub trait ConsumerRole: Send + Sync + 'static {
    /// The role's name in log lines (`ingester`, `analytics`).
    fn name(&self) -> &'static str;

    /// Partitions were assigned, before any of their records is read.
    fn assigned(&self, _partitions: &[TopicPartition]) {}

    /// Partitions are about to leave this consumer. Returns the offsets to commit before they go
    /// (committed synchronously, so the next owner starts there).
    fn revoking(&self, _partitions: &[TopicPartition]) -> Vec<(TopicPartition, i64)> {
        Vec::new()
    }

    /// `count` partition offsets were committed.
    fn committed(&self, _count: u64) {}

    /// Kafka did not take these offsets (librdkafka's answer to a commit, asynchronous ones
    /// included, whose call returned at once). A role that tracks what it handed out for commit
    /// offers them again ([`OffsetTracker::commit_failed`](crate::offsets::OffsetTracker::commit_failed)),
    /// so the next commit retries them while the partition is still assigned.
    fn commit_failed(&self, _offsets: &[(TopicPartition, i64)]) {}

    /// librdkafka's statistics say the consumer is `lag` records behind on a partition.
    fn lag(&self, _topic: &str, _partition: i32, _lag: i64) {}
}

/// librdkafka callbacks of a consuming role.
pub struct RoleContext<R> {
    role: R,
}

/// A role's consumer.
pub type RoleConsumer<R> = StreamConsumer<RoleContext<R>>;

impl<R: ConsumerRole> RoleContext<R> {
    /// The context of `role`.
    pub fn new(role: R) -> Self {
        Self { role }
    }

    /// The role whose hooks this context calls.
    pub fn role(&self) -> &R {
        &self.role
    }
}

impl<R: ConsumerRole> ClientContext for RoleContext<R> {
    fn stats(&self, statistics: Statistics) {
        for (topic, stats) in &statistics.topics {
            for (partition, p) in &stats.partitions {
                if *partition >= 0 && p.consumer_lag >= 0 {
                    self.role.lag(topic, *partition, p.consumer_lag);
                }
            }
        }
    }

    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        crate::kafka::forward_log(level, fac, log_message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        // End of partition is how idle partitions are noticed, not a failure.
        let end_of_partition =
            matches!(error, KafkaError::PartitionEOF(_) | KafkaError::Global(RDKafkaErrorCode::PartitionEOF));
        if !end_of_partition {
            tracing::warn!(%error, reason, "kafka client error");
        }
    }
}

impl<R: ConsumerRole> ConsumerContext for RoleContext<R> {
    fn commit_callback(&self, result: KafkaResult<()>, offsets: &TopicPartitionList) {
        let entries =
            offsets.elements().into_iter().map(|e| ((e.topic().to_string(), e.partition()), e.offset(), e.error()));
        let failed = failed_commits(&result, entries);
        if failed.is_empty() {
            return;
        }
        let offsets: Vec<(TopicPartition, i64)> = failed.iter().map(|(tp, offset, _)| (tp.clone(), *offset)).collect();
        for ((topic, partition), offset, error) in &failed {
            tracing::warn!(topic, partition, offset, %error, "{} offset commit failed; committing it again on the next tick", self.role.name());
        }
        self.role.commit_failed(&offsets);
    }

    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(partitions) = rebalance {
            let offsets = self.role.revoking(&topic_partitions(partitions));
            if !offsets.is_empty() {
                match commit_list(consumer, &offsets, CommitMode::Sync) {
                    Ok(()) => self.role.committed(offsets.len() as u64),
                    Err(error) => tracing::warn!(%error, "cannot commit offsets of revoked partitions"),
                }
            }
            tracing::info!(partitions = ?partition_ids(partitions), "{} partitions revoked", self.role.name());
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(partitions) = rebalance {
            self.role.assigned(&topic_partitions(partitions));
            tracing::info!(partitions = ?partition_ids(partitions), "{} partitions assigned", self.role.name());
        }
    }
}

/// The offsets a commit answer says were not committed, with why: every one when the whole commit
/// failed, else those whose partition has an error. Offsets that are not plain positions (nothing
/// to retry) are left out.
pub(super) fn failed_commits(
    result: &KafkaResult<()>,
    entries: impl IntoIterator<Item = (TopicPartition, Offset, KafkaResult<()>)>,
) -> Vec<(TopicPartition, i64, KafkaError)> {
    entries
        .into_iter()
        .filter_map(|(tp, offset, partition_result)| {
            let error = result.clone().and(partition_result).err()?;
            match offset {
                Offset::Offset(offset) => Some((tp, offset, error)),
                _ => None,
            }
        })
        .collect()
}

fn topic_partitions(list: &TopicPartitionList) -> Vec<TopicPartition> {
    list.elements().iter().map(|e| (e.topic().to_string(), e.partition())).collect()
}

fn partition_ids(list: &TopicPartitionList) -> Vec<i32> {
    list.elements().iter().map(|e| e.partition()).collect()
}

#[cfg(test)]
mod tests {
    use rdkafka::types::RDKafkaErrorCode;

    use super::*;

    fn tp(partition: i32) -> TopicPartition {
        ("spans".to_string(), partition)
    }

    #[test]
    fn a_failed_commit_reports_every_offset_it_carried() {
        let result = Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::RequestTimedOut));
        let entries = vec![(tp(0), Offset::Offset(10), Ok(())), (tp(1), Offset::Offset(4), Ok(()))];
        let failed = failed_commits(&result, entries);
        let offsets: Vec<_> = failed.iter().map(|(tp, offset, _)| (tp.clone(), *offset)).collect();
        assert_eq!(offsets, vec![(tp(0), 10), (tp(1), 4)]);
        assert!(failed[0].2.to_string().contains("timed out"), "{}", failed[0].2);
    }

    #[test]
    fn a_commit_taken_but_for_one_partition_reports_that_partition() {
        let refused = Err(KafkaError::OffsetFetch(RDKafkaErrorCode::UnknownTopicOrPartition));
        let entries = vec![(tp(0), Offset::Offset(10), Ok(())), (tp(1), Offset::Offset(4), refused)];
        let failed = failed_commits(&Ok(()), entries);
        assert_eq!(failed.len(), 1);
        assert_eq!((failed[0].0.clone(), failed[0].1), (tp(1), 4));
    }

    #[derive(Default)]
    struct Recording(std::sync::Mutex<Vec<(TopicPartition, i64)>>);

    impl ConsumerRole for Recording {
        fn name(&self) -> &'static str {
            "test"
        }

        fn commit_failed(&self, offsets: &[(TopicPartition, i64)]) {
            self.0.lock().unwrap().extend_from_slice(offsets);
        }
    }

    #[test]
    fn librdkafkas_answer_to_a_failed_commit_reaches_the_role() {
        let context = RoleContext::new(Recording::default());
        let mut offsets = TopicPartitionList::new();
        offsets.add_partition_offset("spans", 3, Offset::Offset(42)).unwrap();
        context.commit_callback(Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NotCoordinator)), &offsets);
        assert_eq!(*context.role().0.lock().unwrap(), vec![(tp(3), 42)]);
        context.commit_callback(Ok(()), &offsets);
        assert_eq!(context.role().0.lock().unwrap().len(), 1, "a commit taken is no failure");
    }

    #[test]
    fn a_commit_taken_whole_reports_nothing() {
        let entries = vec![(tp(0), Offset::Offset(10), Ok(())), (tp(1), Offset::Invalid, Ok(()))];
        assert!(failed_commits(&Ok(()), entries).is_empty());
    }
}
