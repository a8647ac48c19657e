//! Why a consumer could not start.

use rdkafka::error::KafkaError;

/// Failures creating a consumer or giving it partitions.
#[derive(Debug, thiserror::Error)]
pub enum ConsumerError {
    #[error("cannot create the Kafka consumer for {brokers}: {source} (check kafka.brokers and kafka.librdkafka)")]
    Create { brokers: String, source: KafkaError },
    #[error("cannot subscribe to topic {topic}: {source} (does it exist? is kafka.spans_topic right?)")]
    Subscribe { topic: String, source: KafkaError },
    #[error("cannot assign partitions of topic {topic}: {source} (does it exist? is kafka.spans_topic right?)")]
    Assign { topic: String, source: KafkaError },
}
