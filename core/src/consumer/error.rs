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

    /// Whether the group fenced this member's static id: another member joined with it. That is
    /// not only a duplicate id: a live member whose session lapsed while the group coordinator
    /// moved to another broker is fenced too (the chaos suite saw it when a broker was killed),
    /// and a new consumer with the same id reads on. A duplicate fences its twin in turn, so
    /// [`Rejoins`] runs out and one of them stops with the error.
    pub fn fenced(&self) -> bool {
        matches!(
            self,
            Self::Fatal { source: KafkaError::MessageConsumptionFatal(RDKafkaErrorCode::FencedInstanceId), .. }
        )
    }
}

/// How often a role may make its consumer anew after being fenced: [`Rejoins::MAX`] times within
/// [`Rejoins::WINDOW`]; past that the fencing is taken for a duplicate id and the role stops.
#[derive(Debug, Default)]
pub struct Rejoins {
    recent: std::collections::VecDeque<std::time::Instant>,
}

impl Rejoins {
    pub const MAX: usize = 3;
    pub const WINDOW: std::time::Duration = std::time::Duration::from_secs(600);

    /// Whether one more rejoin at `now` stays within the budget (and, if so, counts it).
    pub fn allow(&mut self, now: std::time::Instant) -> bool {
        while self.recent.front().is_some_and(|&t| now.duration_since(t) > Self::WINDOW) {
            self.recent.pop_front();
        }
        if self.recent.len() >= Self::MAX {
            return false;
        }
        self.recent.push_back(now);
        true
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
    fn only_a_fenced_static_id_is_worth_a_new_consumer() {
        let fenced = ConsumerError::fatal(&KafkaError::MessageConsumptionFatal(RDKafkaErrorCode::FencedInstanceId));
        assert!(fenced.expect("fatal").fenced());
        let unreleased =
            ConsumerError::fatal(&KafkaError::MessageConsumptionFatal(RDKafkaErrorCode::UnreleasedInstanceId));
        assert!(!unreleased.expect("fatal").fenced(), "the id is held by a live session: waiting is the fix");
    }

    #[test]
    fn rejoins_are_limited_within_the_window_and_allowed_again_after_it() {
        let start = std::time::Instant::now();
        let mut rejoins = Rejoins::default();
        for i in 0..Rejoins::MAX {
            assert!(rejoins.allow(start + std::time::Duration::from_secs(i as u64)), "rejoin {i}");
        }
        assert!(!rejoins.allow(start + std::time::Duration::from_secs(10)), "a fourth within the window");
        assert!(rejoins.allow(start + Rejoins::WINDOW + std::time::Duration::from_secs(1)), "the first has aged out");
    }

    #[test]
    fn ordinary_consume_errors_are_not_fatal() {
        assert!(
            ConsumerError::fatal(&KafkaError::MessageConsumption(RDKafkaErrorCode::BrokerTransportFailure)).is_none()
        );
        assert!(ConsumerError::fatal(&KafkaError::PartitionEOF(3)).is_none());
    }
}
