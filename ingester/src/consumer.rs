//! The Kafka side of the ingester: core's consumer scaffold with the ingester's hooks, which keep
//! the offset tracker in step with the assignment, commit what is done before a partition
//! leaves, and report lag.

use skein_core::config::{IngesterConfig, KafkaConfig};
use skein_core::consumer::{ConsumerRole, ConsumerSettings, RoleConsumer, SharedTracker};
use skein_core::offsets::TopicPartition;

use crate::error::IngesterError;
use crate::telemetry;

/// The ingester's rebalance and statistics hooks.
pub struct IngesterRole {
    tracker: SharedTracker,
}

impl ConsumerRole for IngesterRole {
    fn name(&self) -> &'static str {
        "ingester"
    }

    fn assigned(&self, partitions: &[TopicPartition]) {
        let mut tracker = self.tracker.lock();
        for tp in partitions {
            tracker.assign(tp.clone());
        }
    }

    /// Commit what is durable before another consumer takes the partition, so it does not
    /// re-index more than the records still in flight here.
    fn revoking(&self, partitions: &[TopicPartition]) -> Vec<(TopicPartition, i64)> {
        let mut tracker = self.tracker.lock();
        partitions.iter().filter_map(|tp| Some((tp.clone(), tracker.revoke(tp)?))).collect()
    }

    fn committed(&self, count: u64) {
        telemetry::commits(count);
    }

    fn lag(&self, topic: &str, partition: i32, lag: i64) {
        telemetry::consumer_lag(topic, partition, lag);
    }
}

pub type IngesterConsumer = RoleConsumer<IngesterRole>;

/// Statistics (and so lag) interval.
const STATISTICS_INTERVAL_MS: u32 = 5000;

/// The prefetch queue is what holds records while every bulk writer is busy: bound it.
const PREFETCH_KBYTES: u32 = 32768;

/// Create the consumer (auto-commit off) and subscribe to the spans topic.
pub fn subscribe(
    kafka: &KafkaConfig,
    ingester: &IngesterConfig,
    tracker: SharedTracker,
) -> Result<IngesterConsumer, IngesterError> {
    let settings = ConsumerSettings::member(&ingester.group_id, ingester.start_from)
        .statistics_every(STATISTICS_INTERVAL_MS)
        .prefetch_kbytes(PREFETCH_KBYTES);
    Ok(settings.subscribe(kafka, &kafka.spans_topic, IngesterRole { tracker })?)
}
