//! The Kafka publisher: sends a request's trace records and resolves once Kafka acknowledged all
//! of them (idempotent producer, `acks=all`). It owns the in-flight byte bound and knows when
//! Kafka is unreachable, so receivers can answer 429 or 503 instead of queueing without limit.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::join_all;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer, ProducerContext};
use rdkafka::{ClientConfig, ClientContext};
use skein_core::config::{CollectorConfig, KafkaConfig};
use skein_schemas::kafka_record::{TraceRecord, ENCODING_HEADER, ENCODING_OTLP_PROTO, SPAN_COUNT_HEADER};
use skein_schemas::tenant::{Tenant, TENANT_HEADER};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

use crate::error::PublishError;
use crate::telemetry;

/// Tracks whether librdkafka can reach any broker.
#[derive(Clone, Default)]
pub struct KafkaHealth {
    all_brokers_down: Arc<AtomicBool>,
}

impl KafkaHealth {
    pub fn is_down(&self) -> bool {
        self.all_brokers_down.load(Ordering::Relaxed)
    }

    fn set_down(&self, down: bool) {
        if self.all_brokers_down.swap(down, Ordering::Relaxed) != down {
            if down {
                tracing::warn!("all Kafka brokers are down: answering 503 until one is reachable");
            } else {
                tracing::info!("Kafka is reachable again");
            }
        }
    }
}

/// librdkafka callbacks: notices when every broker is gone.
pub struct PublisherContext {
    health: KafkaHealth,
}

impl ClientContext for PublisherContext {
    fn error(&self, error: KafkaError, reason: &str) {
        if matches!(error, KafkaError::Global(RDKafkaErrorCode::AllBrokersDown)) {
            // set_down logs the transition once; librdkafka repeats this error while it reconnects.
            self.health.set_down(true);
            return;
        }
        tracing::warn!(%error, reason, "kafka client error");
    }

    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        skein_core::kafka::forward_log(level, fac, log_message);
    }
}

impl ProducerContext for PublisherContext {
    type DeliveryOpaque = ();
    fn delivery(&self, _: &rdkafka::message::DeliveryResult<'_>, _: Self::DeliveryOpaque) {}
}

/// The bound on request bytes waiting for Kafka (`collector.max_in_flight_bytes`).
#[derive(Clone)]
pub struct InFlightBound {
    bytes: Arc<Semaphore>,
    retry_after: Duration,
}

impl InFlightBound {
    pub fn new(max_bytes: usize, retry_after: Duration) -> Self {
        Self { bytes: Arc::new(Semaphore::new(max_bytes)), retry_after }
    }

    /// Take room for `bytes`, or refuse at once with a retry delay when the bound is reached.
    pub fn try_reserve(&self, bytes: usize) -> Result<InFlight, PublishError> {
        let permits = u32::try_from(bytes.max(1)).unwrap_or(u32::MAX);
        let permit = self
            .bytes
            .clone()
            .try_acquire_many_owned(permits)
            .map_err(|_| PublishError::Overloaded { retry_after: self.retry_after })?;
        telemetry::in_flight_bytes(bytes as f64);
        Ok(InFlight { _permit: permit, bytes })
    }

    /// Room left, in bytes.
    pub fn available(&self) -> usize {
        self.bytes.available_permits()
    }
}

/// Bytes a request holds while its records are on the way to Kafka.
pub struct InFlight {
    _permit: OwnedSemaphorePermit,
    bytes: usize,
}

impl InFlight {
    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Hold `more` as well: one reservation grown as a body streams in.
    pub fn absorb(&mut self, mut more: InFlight) {
        if let Some(permits) = more._permit.split(more._permit.num_permits()) {
            self._permit.merge(permits);
        }
        self.bytes += std::mem::take(&mut more.bytes);
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        telemetry::in_flight_bytes(-(self.bytes as f64));
    }
}

/// Publishes trace records to the spans topic.
#[derive(Clone)]
pub struct KafkaPublisher {
    producer: FutureProducer<PublisherContext>,
    topic: Arc<str>,
    in_flight: InFlightBound,
    health: KafkaHealth,
    retry_after: Duration,
}

impl KafkaPublisher {
    /// Create the producer. It connects lazily; `health` reports reachability.
    pub fn new(kafka: &KafkaConfig, collector: &CollectorConfig) -> Result<Self, PublishError> {
        let health = KafkaHealth::default();
        let mut config: ClientConfig = skein_core::kafka::client_config(kafka);
        // Our own in-flight bound is the memory limit; librdkafka's queue must never be the one
        // that fills first, or sends would fail with QueueFull instead of clients seeing 429.
        let queue_kbytes = (collector.max_in_flight_bytes / 1024 + 1024).min(i32::MAX as usize);
        let max_message = (collector.max_record_bytes + 64 * 1024).max(1_000_000);
        config
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("compression.type", collector.compression.as_librdkafka())
            .set("linger.ms", collector.linger_ms.to_string())
            .set("message.timeout.ms", collector.produce_timeout_ms.to_string())
            .set("queue.buffering.max.kbytes", queue_kbytes.to_string())
            .set("queue.buffering.max.messages", "1000000")
            .set("message.max.bytes", max_message.to_string())
            .set("partitioner", "murmur2_random");
        // User-supplied properties win over our defaults.
        for (key, value) in &kafka.librdkafka {
            config.set(key, value);
        }
        let producer = config
            .create_with_context(PublisherContext { health: health.clone() })
            .map_err(|source| PublishError::Setup { brokers: kafka.brokers.clone(), source })?;
        Ok(Self {
            producer,
            topic: kafka.spans_topic.as_str().into(),
            in_flight: InFlightBound::new(
                collector.max_in_flight_bytes,
                Duration::from_secs(collector.retry_after_seconds),
            ),
            health,
            retry_after: Duration::from_secs(collector.retry_after_seconds),
        })
    }

    /// Reserve room for a request of `bytes`, or refuse at once when the bound is reached or Kafka
    /// is down (both answered with a retry delay).
    pub fn reserve(&self, bytes: usize) -> Result<InFlight, PublishError> {
        if self.health.is_down() {
            return Err(PublishError::Unavailable {
                reason: "no Kafka broker is reachable".into(),
                retry_after: self.retry_after,
            });
        }
        self.in_flight.try_reserve(bytes)
    }

    /// Send every record and wait until Kafka acknowledged all of them. A tenant's records carry
    /// it in [`TENANT_HEADER`] and their key is `<tenant>/<trace>`, so two tenants' same trace id
    /// are two traces to every consumer.
    pub async fn publish(
        &self,
        records: &[TraceRecord],
        tenant: Option<&Tenant>,
        _reservation: &InFlight,
    ) -> Result<(), PublishError> {
        let started = Instant::now();
        let count = records.len();
        let keys: Vec<std::borrow::Cow<'_, str>> = records
            .iter()
            .map(|record| match tenant {
                Some(tenant) => tenant.record_key(&record.key).into(),
                None => record.key.as_str().into(),
            })
            .collect();
        let sends = records.iter().zip(&keys).map(|(record, key)| {
            let span_count = record.span_count.to_string();
            let mut headers = OwnedHeaders::new_with_capacity(3)
                .insert(Header { key: ENCODING_HEADER, value: Some(ENCODING_OTLP_PROTO) })
                .insert(Header { key: SPAN_COUNT_HEADER, value: Some(span_count.as_str()) });
            if let Some(tenant) = tenant {
                headers = headers.insert(Header { key: TENANT_HEADER, value: Some(tenant.as_str()) });
            }
            let future_record =
                FutureRecord::to(&self.topic).key(key.as_ref()).payload(record.value.as_slice()).headers(headers);
            // Our bound keeps librdkafka's queue from filling, so a send never has to wait here.
            self.producer.send(future_record, Duration::ZERO)
        });
        let results = join_all(sends).await;
        let mut first_error = None;
        for result in results {
            if let Err((error, _)) = result {
                first_error.get_or_insert(error);
            }
        }
        telemetry::produce_latency(started.elapsed());
        match first_error {
            None => {
                self.health.set_down(false);
                telemetry::records_produced(count);
                Ok(())
            }
            Some(error) => Err(self.classify(error)),
        }
    }

    fn classify(&self, error: KafkaError) -> PublishError {
        let code = error.rdkafka_error_code();
        match code {
            Some(RDKafkaErrorCode::MessageSizeTooLarge) | Some(RDKafkaErrorCode::InvalidMessageSize) => {
                PublishError::RecordTooLarge { reason: error.to_string() }
            }
            _ => PublishError::Unavailable { reason: error.to_string(), retry_after: self.retry_after },
        }
    }

    /// While Kafka is believed down, ask it for metadata every second and clear the flag once it
    /// answers: the probe that lets the collector recover without letting traffic through blindly.
    pub async fn watch_health(self, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            if !self.health.is_down() {
                continue;
            }
            let producer = self.producer.clone();
            let topic = self.topic.clone();
            let reachable = tokio::task::spawn_blocking(move || {
                producer.client().fetch_metadata(Some(&topic), Duration::from_secs(2)).is_ok()
            })
            .await
            .unwrap_or(false);
            if reachable {
                self.health.set_down(false);
            }
        }
    }

    /// Wait for records still in librdkafka's queue (at shutdown).
    pub fn flush(&self, timeout: Duration) {
        if let Err(error) = self.producer.flush(timeout) {
            tracing::warn!(%error, "records still unacknowledged at shutdown");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_with_overloaded_beyond_the_in_flight_bound_and_frees_room_on_drop() {
        let bound = InFlightBound::new(10_000, Duration::from_secs(2));
        let first = bound.try_reserve(6_000).expect("room for the first request");
        let refused = bound.try_reserve(6_000).err().expect("no room for the second");
        assert!(matches!(refused, PublishError::Overloaded { retry_after } if retry_after == Duration::from_secs(2)));
        assert!(refused.to_string().contains("max_in_flight_bytes"));
        drop(first);
        assert_eq!(bound.available(), 10_000);
        bound.try_reserve(6_000).expect("room again once the first request finished");
    }

    #[test]
    fn a_grown_reservation_holds_and_frees_all_it_absorbed() {
        let bound = InFlightBound::new(10_000, Duration::from_secs(2));
        let mut held = bound.try_reserve(3_000).unwrap();
        held.absorb(bound.try_reserve(4_000).unwrap());
        assert_eq!((held.bytes(), bound.available()), (7_000, 3_000));
        assert!(bound.try_reserve(4_000).is_err());
        drop(held);
        assert_eq!(bound.available(), 10_000);
    }
}
