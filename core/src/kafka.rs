//! Kafka client settings and topic set-up shared by every role.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::{ClientContext, DefaultClientContext};
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, DeliveryResult, Producer, ProducerContext};
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
/// rdkafka queues librdkafka's logs and errors on the main queue, which only a producer's or a
/// consumer's poll serves (the admin client never does): so a producer probes.
#[derive(Default)]
struct ProbeContext {
    refused: Mutex<Option<String>>,
}

impl ProbeContext {
    fn refused(&self) -> Option<String> {
        self.refused.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    fn keep(&self, reason: &str) {
        self.refused.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).get_or_insert_with(|| reason.into());
    }
}

impl ClientContext for ProbeContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        if fac == "FAIL" && is_refusal(log_message) {
            self.keep(log_message);
        }
        forward_log(level, fac, log_message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        if matches!(error.rdkafka_error_code(), Some(RDKafkaErrorCode::SSL | RDKafkaErrorCode::Authentication)) {
            self.keep(reason);
        }
    }
}

impl ProducerContext for ProbeContext {
    type DeliveryOpaque = ();
    fn delivery(&self, _: &DeliveryResult<'_>, _: ()) {}
}

/// A broker failure that waiting does not cure: the TLS handshake (`SSL handshake failed`, or an
/// OpenSSL error such as the broker's alert that a client certificate is required, which TLS 1.3
/// delivers after the handshake) or SASL authentication.
fn is_refusal(failure: &str) -> bool {
    ["SSL handshake failed", "SSL routines", "SASL authentication"].iter().any(|what| failure.contains(what))
}

/// Connect to the brokers once (a metadata request), up to `patience`: a refused TLS handshake
/// or authentication is an error at once, with librdkafka's reason; anything else (brokers not
/// up yet) is left to the caller's own requests and time-outs.
fn probe(kafka: &KafkaConfig, patience: Duration) -> Result<(), KafkaSetupError> {
    let producer: BaseProducer<ProbeContext> = client_config(kafka)
        .create_with_context(ProbeContext::default())
        .map_err(|source| KafkaSetupError::Client { brokers: kafka.brokers.clone(), source })?;
    let deadline = Instant::now() + patience;
    loop {
        let answered = producer.client().fetch_metadata(None, Duration::from_millis(500)).is_ok();
        producer.poll(Duration::ZERO);
        if let Some(reason) = producer.context().refused() {
            return Err(KafkaSetupError::Refused { brokers: kafka.brokers.clone(), reason });
        }
        if answered || Instant::now() > deadline {
            return Ok(());
        }
    }
}

/// Create the spans and DLQ topics when missing. Existing topics are left as they are. Brokers
/// that refuse the TLS handshake (wrong CA, missing client certificate) or authentication fail it
/// at once, with librdkafka's reason.
pub async fn ensure_topics(kafka: &KafkaConfig) -> Result<(), KafkaSetupError> {
    let probed = kafka.clone();
    tokio::task::spawn_blocking(move || probe(&probed, Duration::from_secs(10)))
        .await
        .expect("the Kafka probe does not panic")?;
    let admin: AdminClient<DefaultClientContext> = client_config(kafka)
        .create()
        .map_err(|source| KafkaSetupError::Client { brokers: kafka.brokers.clone(), source })?;
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let topics = [
        NewTopic::new(&kafka.spans_topic, kafka.partitions, TopicReplication::Fixed(kafka.replication_factor)),
        NewTopic::new(&kafka.dlq_topic, 1, TopicReplication::Fixed(kafka.replication_factor)),
    ];
    let created = admin.create_topics(&topics, &options).await;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_and_authentication_failures_are_refusals_and_others_are_not() {
        let refusals = [
            "ssl://127.0.0.1:19492/bootstrap: SSL handshake failed: error:0A000086:SSL routines::certificate verify failed",
            "ssl://127.0.0.1:19492/bootstrap: Receive failed: error:0A00045C:SSL routines::tlsv13 alert certificate required",
            "sasl_ssl://b:9093/bootstrap: SASL authentication error: Authentication failed (after 5ms in state AUTH_REQ)",
        ];
        assert!(refusals.iter().all(|failure| is_refusal(failure)));
        assert!(!is_refusal("127.0.0.1:19092/bootstrap: Connect to ipv4#127.0.0.1:19092 failed: Connection refused"));
    }
}
