//! The librdkafka context of a consuming role: rebalances, statistics, logs and client errors go
//! to the role's hooks or to `tracing`.

use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, CommitMode, ConsumerContext, Rebalance, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::statistics::Statistics;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{ClientContext, TopicPartitionList};

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

fn topic_partitions(list: &TopicPartitionList) -> Vec<TopicPartition> {
    list.elements().iter().map(|e| (e.topic().to_string(), e.partition())).collect()
}

fn partition_ids(list: &TopicPartitionList) -> Vec<i32> {
    list.elements().iter().map(|e| e.partition()).collect()
}
