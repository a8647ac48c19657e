//! The dead-letter queue: records that can never be indexed go here, with why and where from, so
//! their partition keeps flowing and nothing is silently dropped.

use std::time::Duration;

use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use skein_core::config::KafkaConfig;
use skein_schemas::dlq::{self, DeadLetterKind};
use skein_schemas::tenant::TENANT_HEADER;
use tokio_util::sync::CancellationToken;

use crate::batch::RecordOrigin;
use crate::error::IngesterError;
use crate::retry::Backoff;
use crate::telemetry;

/// Producer of dead letters.
#[derive(Clone)]
pub struct DeadLetterQueue {
    producer: FutureProducer,
    topic: String,
    backoff: Backoff,
}

impl DeadLetterQueue {
    pub fn new(kafka: &KafkaConfig, backoff: Backoff) -> Result<Self, IngesterError> {
        let mut config = skein_core::kafka::client_config(kafka);
        config.set("enable.idempotence", "true").set("acks", "all").set("message.timeout.ms", "30000");
        for (key, value) in &kafka.librdkafka {
            config.set(key, value);
        }
        let producer = config.create().map_err(IngesterError::DeadLetterProducer)?;
        Ok(Self { producer, topic: kafka.dlq_topic.clone(), backoff })
    }

    /// Publish a dead letter, retrying until Kafka acknowledges it. Returns false only when
    /// shutdown came first (the record then stays uncommitted and is read again).
    pub async fn send(
        &self,
        origin: &RecordOrigin,
        kind: DeadLetterKind,
        error: &str,
        shutdown: &CancellationToken,
    ) -> bool {
        let partition = origin.tp.1.to_string();
        let offset = origin.offset.to_string();
        let timestamp = origin.timestamp.map(|t| t.to_string());
        let mut attempt = 0;
        loop {
            let mut headers = OwnedHeaders::new_with_capacity(6)
                .insert(Header { key: dlq::ERROR_HEADER, value: Some(error) })
                .insert(Header { key: dlq::ERROR_KIND_HEADER, value: Some(kind.as_str()) })
                .insert(Header { key: dlq::ORIGIN_TOPIC_HEADER, value: Some(origin.tp.0.as_str()) })
                .insert(Header { key: dlq::ORIGIN_PARTITION_HEADER, value: Some(partition.as_str()) })
                .insert(Header { key: dlq::ORIGIN_OFFSET_HEADER, value: Some(offset.as_str()) });
            if let Some(timestamp) = &timestamp {
                headers = headers.insert(Header { key: dlq::ORIGIN_TIMESTAMP_HEADER, value: Some(timestamp.as_str()) });
            }
            // Whose spans these are stays with them.
            if let Some(tenant) = &origin.tenant {
                headers = headers.insert(Header { key: TENANT_HEADER, value: Some(tenant.as_str()) });
            }
            let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(&self.topic).headers(headers);
            if let Some(key) = &origin.key {
                record = record.key(key.as_slice());
            }
            if let Some(value) = &origin.value {
                record = record.payload(value.as_slice());
            }
            match self.producer.send(record, Duration::from_secs(5)).await {
                Ok(_) => {
                    telemetry::dead_letters(kind.as_str());
                    tracing::warn!(topic = %origin.tp.0, partition = origin.tp.1, offset = origin.offset, kind = kind.as_str(), error, "record sent to the dead-letter topic");
                    return true;
                }
                Err((kafka_error, _)) => {
                    tracing::warn!(%kafka_error, offset = origin.offset, "cannot publish dead letter yet; retrying");
                    if !self.backoff.wait(attempt, shutdown).await {
                        return false;
                    }
                    attempt += 1;
                }
            }
        }
    }
}
