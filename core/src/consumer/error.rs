//! Why a consumer could not start, or cannot go on.

use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;

/// Failures creating a consumer, giving it partitions, or consuming for good.
#[derive(Debug, thiserror::Error)]
pub enum ConsumerError {
    #[error("cannot create the Kafka consumer for {brokers}: {source} (check kafka.brokers and kafka.librdkafka)")]
    Create { brokers: String, source: KafkaError },
    #[error("cannot subscribe to topic {topic}: {source} (does it exist? is kafka.spans_topic right?)")]
    Subscribe { topic: String, source: KafkaError },
    #[error("cannot assign partitions of topic {topic}: {source} (does it exist? is kafka.spans_topic right?)")]
    Assign { topic: String, source: KafkaError },
    #[error("the Kafka consumer stopped for good: {source} ({hint})")]
    Fatal { source: KafkaError, hint: &'static str },
}

impl ConsumerError {
    /// `Some` when `error`, returned by a read, means the consumer will never read again: the
    /// role must stop (and exit non-zero) rather than poll on, looking healthy and reading nothing.
    pub fn fatal(error: &KafkaError) -> Option<Self> {
        let KafkaError::MessageConsumptionFatal(code) = error else { return None };
        let hint = match code {
            RDKafkaErrorCode::UnreleasedInstanceId | RDKafkaErrorCode::FencedInstanceId => {
                "another process of the group uses the same kafka.group_instance_id, or one that was \
                 killed and whose session has not yet expired: give every process its own id; \
                 restarting after the session timeout works"
            }
            _ => "restart the role; librdkafka's log above says why",
        };
        Some(Self::Fatal { source: error.clone(), hint })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reused_instance_id_is_fatal_and_says_what_to_do() {
        let error = ConsumerError::fatal(&KafkaError::MessageConsumptionFatal(RDKafkaErrorCode::UnreleasedInstanceId))
            .expect("fatal");
        assert!(error.to_string().contains("kafka.group_instance_id"), "{error}");
    }

    #[test]
    fn ordinary_consume_errors_are_not_fatal() {
        assert!(
            ConsumerError::fatal(&KafkaError::MessageConsumption(RDKafkaErrorCode::BrokerTransportFailure)).is_none()
        );
        assert!(ConsumerError::fatal(&KafkaError::PartitionEOF(3)).is_none());
    }
}
