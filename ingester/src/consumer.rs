//! The Kafka side of the ingester: a consumer whose rebalance callbacks keep the offset tracker
//! in step with the assignment, commit what is done before a partition leaves, and report lag.

use std::sync::{Arc, Mutex, MutexGuard};

use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer};
use rdkafka::statistics::Statistics;
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use skein_core::config::{IngesterConfig, KafkaConfig};
use skein_core::offsets::{OffsetTracker, TopicPartition};

use crate::error::IngesterError;
use crate::telemetry;

/// Shared between the poll loop and librdkafka's callbacks.
#[derive(Clone, Default)]
pub struct SharedTracker(Arc<Mutex<OffsetTracker>>);

impl SharedTracker {
    pub fn lock(&self) -> MutexGuard<'_, OffsetTracker> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// librdkafka callbacks of the ingester's consumer.
pub struct IngesterContext {
    tracker: SharedTracker,
}

impl ClientContext for IngesterContext {
    fn stats(&self, statistics: Statistics) {
        for (topic, stats) in &statistics.topics {
            for (partition, p) in &stats.partitions {
                if *partition >= 0 && p.consumer_lag >= 0 {
                    telemetry::consumer_lag(topic, *partition, p.consumer_lag);
                }
            }
        }
    }

    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        skein_core::kafka::forward_log(level, fac, log_message);
    }
}

impl ConsumerContext for IngesterContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(partitions) = rebalance {
            // Commit what is durable before another consumer takes the partition, so it does not
            // re-index more than the records still in flight here.
            let mut final_offsets = TopicPartitionList::new();
            {
                let mut tracker = self.tracker.lock();
                for element in partitions.elements() {
                    let tp: TopicPartition = (element.topic().to_string(), element.partition());
                    if let Some(offset) = tracker.revoke(&tp) {
                        let _ = final_offsets.add_partition_offset(&tp.0, tp.1, Offset::Offset(offset));
                    }
                }
            }
            if final_offsets.count() > 0 {
                match consumer.commit(&final_offsets, CommitMode::Sync) {
                    Ok(()) => telemetry::commits(final_offsets.count() as u64),
                    Err(error) => tracing::warn!(%error, "cannot commit offsets of revoked partitions"),
                }
            }
            tracing::info!(partitions = ?partition_ids(partitions), "partitions revoked");
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(partitions) = rebalance {
            let mut tracker = self.tracker.lock();
            for element in partitions.elements() {
                tracker.assign((element.topic().to_string(), element.partition()));
            }
            tracing::info!(partitions = ?partition_ids(partitions), "partitions assigned");
        }
    }
}

fn partition_ids(list: &TopicPartitionList) -> Vec<i32> {
    list.elements().iter().map(|e| e.partition()).collect()
}

pub type IngesterConsumer = StreamConsumer<IngesterContext>;

/// Create the consumer (auto-commit off) and subscribe to the spans topic.
pub fn subscribe(
    kafka: &KafkaConfig,
    ingester: &IngesterConfig,
    tracker: SharedTracker,
) -> Result<IngesterConsumer, IngesterError> {
    let mut config = skein_core::kafka::client_config(kafka);
    config
        .set("group.id", &ingester.group_id)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", ingester.start_from.as_librdkafka())
        .set("statistics.interval.ms", "5000")
        .set("session.timeout.ms", "30000")
        .set("partition.assignment.strategy", "range,roundrobin")
        // The prefetch queue is what holds records while every bulk writer is busy: bound it.
        .set("queued.max.messages.kbytes", "32768");
    for (key, value) in &kafka.librdkafka {
        config.set(key, value);
    }
    let consumer: IngesterConsumer = config
        .create_with_context(IngesterContext { tracker })
        .map_err(|source| IngesterError::Consumer { brokers: kafka.brokers.clone(), source })?;
    consumer
        .subscribe(&[&kafka.spans_topic])
        .map_err(|source| IngesterError::Subscribe { topic: kafka.spans_topic.clone(), source })?;
    Ok(consumer)
}
