//! `kafka`: where the cluster is and how the span topics look; and where a new consumer group starts.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Kafka settings shared by every role.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaConfig {
    /// Bootstrap servers, comma separated.
    pub brokers: String,
    /// Topic the collector publishes span records to.
    pub spans_topic: String,
    /// Topic for records the ingester can never index.
    pub dlq_topic: String,
    /// Partitions of the spans topic when skein creates it.
    pub partitions: i32,
    /// Replication factor of topics skein creates.
    pub replication_factor: i32,
    /// Create the spans and DLQ topics at start when missing.
    pub create_topics: bool,
    /// Raw librdkafka properties applied to every client (for TLS, SASL, ...).
    pub librdkafka: BTreeMap<String, String>,
    /// SASL user name (librdkafka `sasl.username`), kept apart from `librdkafka` so it can come
    /// from `SKEIN_KAFKA__SASL_USERNAME` (a Kubernetes Secret).
    pub sasl_username: Option<String>,
    /// SASL password (librdkafka `sasl.password`); prefer `SKEIN_KAFKA__SASL_PASSWORD`.
    pub sasl_password: Option<String>,
}

impl Default for KafkaConfig {
    fn default() -> Self {
        Self {
            brokers: "127.0.0.1:9092".into(),
            spans_topic: "skein-spans".into(),
            dlq_topic: "skein-spans-dlq".into(),
            partitions: 6,
            // A single local broker cannot hold more copies.
            replication_factor: 1,
            create_topics: true,
            librdkafka: BTreeMap::new(),
            sasl_username: None,
            sasl_password: None,
        }
    }
}

/// A `kafka` option that cannot work.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KafkaConfigError {
    #[error("kafka.partitions must be at least 1 (it is {0})")]
    NoPartitions(i32),
    #[error("kafka.dlq_topic must differ from kafka.spans_topic (both are '{0}'), or dead letters would be read as spans again")]
    DlqIsSpansTopic(String),
}

impl KafkaConfig {
    /// Rules within `kafka` that serde cannot express.
    pub fn validate(&self) -> Result<(), KafkaConfigError> {
        if self.partitions < 1 {
            return Err(KafkaConfigError::NoPartitions(self.partitions));
        }
        if self.spans_topic == self.dlq_topic {
            return Err(KafkaConfigError::DlqIsSpansTopic(self.dlq_topic.clone()));
        }
        Ok(())
    }
}

/// Where a consumer group without committed offsets starts.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum StartFrom {
    Earliest,
    Latest,
}

impl StartFrom {
    /// The librdkafka `auto.offset.reset` value.
    pub fn as_librdkafka(self) -> &'static str {
        match self {
            StartFrom::Earliest => "earliest",
            StartFrom::Latest => "latest",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_partitions_are_refused() {
        let kafka = KafkaConfig { partitions: 0, ..KafkaConfig::default() };
        assert_eq!(kafka.validate(), Err(KafkaConfigError::NoPartitions(0)));
    }

    #[test]
    fn dead_letters_cannot_go_to_the_spans_topic() {
        let kafka = KafkaConfig { dlq_topic: "skein-spans".into(), ..KafkaConfig::default() };
        assert_eq!(kafka.validate(), Err(KafkaConfigError::DlqIsSpansTopic("skein-spans".into())));
    }
}
