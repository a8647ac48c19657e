//! Kafka client settings and topic set-up shared by every role.

use std::sync::Mutex;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::ClientContext;
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
    #[error("Kafka at {brokers} refused the connection: {reason} (check kafka.tls.enabled, kafka.tls.ca_file, kafka.tls.cert_file and kafka.tls.key_file, and the brokers' listener)")]
    Refused { brokers: String, reason: String },
}

/// A librdkafka client configuration with the brokers, the user's raw properties and TLS applied.
/// Every Kafka client skein makes starts from it.
pub fn client_config(kafka: &KafkaConfig) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", &kafka.brokers);
    for (key, value) in &kafka.librdkafka {
        config.set(key, value);
    }
    for (key, value) in kafka.tls.librdkafka_properties(kafka.uses_sasl()) {
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

/// A client context that keeps the first TLS or authentication failure librdkafka reports: such
/// a failure repeats on every reconnect, so set-up stops with it rather than waiting for a timeout.
#[derive(Default)]
struct SetupContext {
    refused: Mutex<Option<String>>,
}

impl SetupContext {
    fn refused(&self) -> Option<String> {
        self.refused.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }
}

impl ClientContext for SetupContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        forward_log(level, fac, log_message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        if is_refusal(&error) {
            self.refused.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).get_or_insert_with(|| reason.into());
        }
        tracing::warn!(target: "librdkafka", %error, reason, "kafka client error");
    }
}

/// A TLS handshake or authentication failure: not cured by waiting.
pub fn is_refusal(error: &KafkaError) -> bool {
    matches!(error.rdkafka_error_code(), Some(RDKafkaErrorCode::SSL | RDKafkaErrorCode::Authentication))
}

/// Create the spans and DLQ topics when missing. Existing topics are left as they are. A broker
/// that refuses the TLS handshake (wrong CA, missing client certificate) or authentication fails
/// it at once, with librdkafka's reason.
pub async fn ensure_topics(kafka: &KafkaConfig) -> Result<(), KafkaSetupError> {
    let admin: AdminClient<SetupContext> = client_config(kafka)
        .create_with_context(SetupContext::default())
        .map_err(|source| KafkaSetupError::Client { brokers: kafka.brokers.clone(), source })?;
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let topics = [
        NewTopic::new(&kafka.spans_topic, kafka.partitions, TopicReplication::Fixed(kafka.replication_factor)),
        NewTopic::new(&kafka.dlq_topic, 1, TopicReplication::Fixed(kafka.replication_factor)),
    ];
    let refused = async {
        loop {
            if let Some(reason) = admin.inner().context().refused() {
                return reason;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let created = tokio::select! {
        created = admin.create_topics(&topics, &options) => created,
        reason = refused => return Err(KafkaSetupError::Refused { brokers: kafka.brokers.clone(), reason }),
    };
    let results = created.map_err(|error| KafkaSetupError::CreateTopic {
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
