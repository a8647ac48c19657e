//! Kafka client settings and topic set-up shared by every role.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::ClientConfig;

use crate::config::KafkaConfig;

/// Errors talking to Kafka at start-up.
#[derive(Debug, thiserror::Error)]
pub enum KafkaSetupError {
    #[error("cannot create a Kafka client for {brokers}: {source} (check kafka.brokers and kafka.librdkafka)")]
    Client { brokers: String, source: KafkaError },
    #[error("cannot create topic {topic}: {reason} (is Kafka reachable at {brokers}? run `make up` locally)")]
    CreateTopic { topic: String, brokers: String, reason: String },
}

/// A librdkafka client configuration with the brokers and the user's raw properties applied.
pub fn client_config(kafka: &KafkaConfig) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", &kafka.brokers);
    for (key, value) in &kafka.librdkafka {
        config.set(key, value);
    }
    if let Some(user) = &kafka.sasl_username {
        config.set("sasl.username", user);
    }
    if let Some(password) = &kafka.sasl_password {
        config.set("sasl.password", password);
    }
    config
}

/// Create the spans and DLQ topics when missing. Existing topics are left as they are.
pub async fn ensure_topics(kafka: &KafkaConfig) -> Result<(), KafkaSetupError> {
    let admin: AdminClient<DefaultClientContext> = client_config(kafka)
        .create()
        .map_err(|source| KafkaSetupError::Client { brokers: kafka.brokers.clone(), source })?;
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let topics = [
        NewTopic::new(&kafka.spans_topic, kafka.partitions, TopicReplication::Fixed(kafka.replication_factor)),
        NewTopic::new(&kafka.dlq_topic, 1, TopicReplication::Fixed(kafka.replication_factor)),
    ];
    let results = admin.create_topics(&topics, &options).await.map_err(|error| KafkaSetupError::CreateTopic {
        topic: kafka.spans_topic.clone(),
        brokers: kafka.brokers.clone(),
        reason: error.to_string(),
    })?;
    for result in results {
        match result {
            Ok(topic) => tracing::info!(topic, "created topic"),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => {
                return Err(KafkaSetupError::CreateTopic {
                    topic,
                    brokers: kafka.brokers.clone(),
                    reason: code.to_string(),
                })
            }
        }
    }
    Ok(())
}

/// Forward a librdkafka log line to `tracing` at the matching level; every client context uses it.
pub fn forward_log(level: RDKafkaLogLevel, fac: &str, message: &str) {
    match level {
        RDKafkaLogLevel::Emerg | RDKafkaLogLevel::Alert | RDKafkaLogLevel::Critical | RDKafkaLogLevel::Error => {
            tracing::error!(target: "librdkafka", fac, "{message}")
        }
        RDKafkaLogLevel::Warning => tracing::warn!(target: "librdkafka", fac, "{message}"),
        _ => tracing::debug!(target: "librdkafka", fac, "{message}"),
    }
}
