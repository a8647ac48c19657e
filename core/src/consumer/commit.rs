//! Committing offsets a role has made durable.

use rdkafka::bindings as rdsys;
use rdkafka::client::Client;
use rdkafka::consumer::{CommitMode, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{ClientContext, Offset, TopicPartitionList};

use super::context::{ConsumerRole, RoleConsumer};
use super::tracker::SharedTracker;
use crate::offsets::TopicPartition;

/// Commit `offsets` (per partition, the next offset to read) and count them through the role. An
/// asynchronous commit's answer comes later, to [`ConsumerRole::commit_failed`] when Kafka did not
/// take it.
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

/// Commit what `tracker` says advanced since the last commit. A commit that fails at once is
/// logged and offered again by the next call; one Kafka refuses later reaches the role's
/// [`ConsumerRole::commit_failed`], which should do the same.
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
    match mode {
        CommitMode::Sync => consumer.commit(&list, mode),
        CommitMode::Async => commit_answered(consumer.client(), &list),
    }
}

/// Send an asynchronous commit whose answer librdkafka puts on the consumer's queue, where
/// polling hands it to `ConsumerContext::commit_callback`. rdkafka's own asynchronous
/// `Consumer::commit` asks for no answer at all (rust-rdkafka issue 856), so a commit Kafka
/// refused would go unnoticed and an idle partition keep its old committed offset.
fn commit_answered<C: ClientContext>(client: &Client<C>, list: &TopicPartitionList) -> Result<(), KafkaError> {
    let rk = client.native_ptr();
    // SAFETY: `rk` is the live consumer `client` owns. `rd_kafka_queue_get_consumer` returns a
    // new reference to its queue (null without a group), released below; `rd_kafka_commit_queue`
    // copies the list and keeps its own reference to the queue for the answer, and with a queue
    // given it returns at once without serving it.
    let error = unsafe {
        let queue = rdsys::rd_kafka_queue_get_consumer(rk);
        if queue.is_null() {
            return Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::UnknownGroup));
        }
        let error = rdsys::rd_kafka_commit_queue(rk, list.ptr(), queue, None, std::ptr::null_mut());
        rdsys::rd_kafka_queue_destroy(queue);
        error
    };
    match RDKafkaErrorCode::from(error) {
        RDKafkaErrorCode::NoError => Ok(()),
        code => Err(KafkaError::ConsumerCommit(code)),
    }
}
