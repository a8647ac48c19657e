//! The Kafka side of the ingester: core's consumer scaffold with the ingester's hooks, which keep
//! the offset tracker in step with the assignment, commit what is done before a partition
//! leaves, and report lag.

use skein_core::config::{IngesterConfig, KafkaConfig};
use skein_core::consumer::{ConsumerRole, ConsumerSettings, RoleConsumer, SharedTracker};
use skein_core::offsets::TopicPartition;

use crate::error::IngesterError;
use crate::lag::ReadTimes;
use crate::telemetry;

/// The ingester's rebalance and statistics hooks.
pub struct IngesterRole {
    tracker: SharedTracker,
    /// Timestamps of the records read, for the lag in seconds (the read loop updates them).
    pub read_times: ReadTimes,
}

impl IngesterRole {
    /// Hooks that keep `tracker` in step.
    pub fn new(tracker: SharedTracker) -> Self {
        Self { tracker, read_times: ReadTimes::default() }
    }
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
        for tp in partitions {
            // The gauges stay on /metrics after the partition left: 0 here, so a `max` over the
            // group shows the new owner's figure, not this one's last.
            telemetry::consumer_lag(&tp.0, tp.1, 0);
            telemetry::consumer_lag_seconds(&tp.0, tp.1, 0.0);
        }
        let mut tracker = self.tracker.lock();
        partitions.iter().filter_map(|tp| Some((tp.clone(), tracker.revoke(tp)?))).collect()
    }

    fn committed(&self, count: u64) {
        telemetry::commits(count);
    }

    /// Offer what Kafka did not take again, so the next commit tick retries it: otherwise an
    /// idle partition would keep its old committed offset for good.
    fn commit_failed(&self, offsets: &[(TopicPartition, i64)]) {
        telemetry::commit_failures(offsets.len() as u64);
        self.tracker.lock().commit_failed(offsets);
    }

    fn lag(&self, topic: &str, partition: i32, lag: i64) {
        telemetry::consumer_lag(topic, partition, lag);
        let now_ms = chrono::Utc::now().timestamp_millis();
        if let Some(seconds) = self.read_times.seconds_behind(&(topic.to_string(), partition), lag, now_ms) {
            telemetry::consumer_lag_seconds(topic, partition, seconds);
        }
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
    Ok(settings.subscribe(kafka, &kafka.spans_topic, IngesterRole::new(tracker))?)
}

#[cfg(test)]
mod tests {
    use rdkafka::consumer::ConsumerContext;
    use rdkafka::error::KafkaError;
    use rdkafka::types::RDKafkaErrorCode;
    use rdkafka::{Offset, TopicPartitionList};
    use skein_core::consumer::RoleContext;

    use super::*;

    #[test]
    fn an_offset_kafka_did_not_take_is_committed_again_on_the_next_tick() {
        let tracker = SharedTracker::default();
        let tp = ("spans".to_string(), 0);
        let epoch = tracker.lock().assign(tp.clone());
        tracker.lock().read(&tp, 7);
        tracker.lock().done(&tp, epoch, 7);
        let commits = tracker.lock().take_commits();
        assert_eq!(commits, vec![(tp.clone(), 8)]);

        let context = RoleContext::new(IngesterRole::new(tracker.clone()));
        let mut answered = TopicPartitionList::new();
        answered.add_partition_offset("spans", 0, Offset::Offset(8)).unwrap();
        context.commit_callback(Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::RequestTimedOut)), &answered);
        assert_eq!(tracker.lock().take_commits(), commits, "offered again although nothing new is durable");

        context.commit_callback(Ok(()), &answered);
        assert!(tracker.lock().take_commits().is_empty(), "taken: nothing to commit again");
    }
}
