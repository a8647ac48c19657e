//! The librdkafka settings of a consuming role, built the same way for every role; each role
//! passes the values that differ.

use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::ClientConfig;

use super::context::{ConsumerRole, RoleConsumer, RoleContext};
use super::error::ConsumerError;
use crate::config::{GroupProtocol, KafkaConfig, StartFrom};

/// How a role's consumer joins its group and reads.
#[derive(Debug, Clone)]
pub struct ConsumerSettings {
    group_id: String,
    /// `Some` for a group member that subscribes; `None` for a consumer that assigns itself
    /// partitions at chosen offsets.
    member_start_from: Option<StartFrom>,
    statistics_interval_ms: Option<u32>,
    partition_eof: bool,
    prefetch_kbytes: Option<u32>,
}

impl ConsumerSettings {
    /// A member of consumer group `group_id` that subscribes and is given partitions by the group;
    /// without a committed offset it starts at `start_from`. Offsets are committed only by the
    /// role (never automatically), for what it has made durable.
    pub fn member(group_id: &str, start_from: StartFrom) -> Self {
        Self {
            group_id: group_id.to_string(),
            member_start_from: Some(start_from),
            statistics_interval_ms: None,
            partition_eof: false,
            prefetch_kbytes: None,
        }
    }

    /// A consumer that assigns itself partitions at chosen offsets and commits nothing (a
    /// backfill); `group_id` only names it to the brokers.
    pub fn assigned(group_id: &str) -> Self {
        Self { member_start_from: None, ..Self::member(group_id, StartFrom::Earliest) }
    }

    /// Have librdkafka report statistics (and so consumer lag) every `interval_ms`.
    pub fn statistics_every(mut self, interval_ms: u32) -> Self {
        self.statistics_interval_ms = Some(interval_ms);
        self
    }

    /// Report reaching the end of a partition as an event rather than staying silent.
    pub fn partition_eof(mut self) -> Self {
        self.partition_eof = true;
        self
    }

    /// Bound librdkafka's prefetch queue to `kbytes` per partition.
    pub fn prefetch_kbytes(mut self, kbytes: u32) -> Self {
        self.prefetch_kbytes = Some(kbytes);
        self
    }

    /// The client configuration: brokers, these settings, then the user's `kafka.librdkafka`
    /// properties, which win over skein's own.
    pub fn client_config(&self, kafka: &KafkaConfig) -> ClientConfig {
        let mut config = crate::kafka::client_config(kafka);
        config.set("group.id", &self.group_id).set("enable.auto.commit", "false");
        if let Some(start_from) = self.member_start_from {
            config
                .set("enable.auto.offset.store", "false")
                .set("auto.offset.reset", start_from.as_librdkafka())
                .set("group.protocol", kafka.group_protocol.as_librdkafka());
            match kafka.group_protocol {
                GroupProtocol::Classic => {
                    // Three heartbeats per session, as librdkafka's defaults have it.
                    let heartbeat = (kafka.session_timeout_ms / 3).clamp(100, 3_000);
                    config
                        .set("session.timeout.ms", kafka.session_timeout_ms.to_string())
                        .set("heartbeat.interval.ms", heartbeat.to_string())
                        .set("partition.assignment.strategy", "range,roundrobin");
                }
                // The broker owns timeouts and assignment; librdkafka refuses the classic keys.
                GroupProtocol::Consumer => {}
            }
            if let Some(id) = &kafka.group_instance_id {
                config.set("group.instance.id", id);
            }
        }
        if let Some(interval) = self.statistics_interval_ms {
            config.set("statistics.interval.ms", interval.to_string());
        }
        if self.partition_eof {
            config.set("enable.partition.eof", "true");
        }
        if let Some(kbytes) = self.prefetch_kbytes {
            config.set("queued.max.messages.kbytes", kbytes.to_string());
        }
        for (key, value) in &kafka.librdkafka {
            config.set(key, value);
        }
        config
    }

    /// Create the consumer with `role`'s callbacks, without giving it partitions.
    pub fn create<R: ConsumerRole>(&self, kafka: &KafkaConfig, role: R) -> Result<RoleConsumer<R>, ConsumerError> {
        let consumer: StreamConsumer<RoleContext<R>> = self
            .client_config(kafka)
            .create_with_context(RoleContext::new(role))
            .map_err(|source| ConsumerError::Create { brokers: kafka.brokers.clone(), source })?;
        Ok(consumer)
    }

    /// Create the consumer and subscribe it to `topic`.
    pub fn subscribe<R: ConsumerRole>(
        &self,
        kafka: &KafkaConfig,
        topic: &str,
        role: R,
    ) -> Result<RoleConsumer<R>, ConsumerError> {
        let consumer = self.create(kafka, role)?;
        consumer.subscribe(&[topic]).map_err(|source| ConsumerError::Subscribe { topic: topic.to_string(), source })?;
        Ok(consumer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kafka() -> KafkaConfig {
        let mut kafka = KafkaConfig::default();
        kafka.librdkafka.insert("security.protocol".into(), "SSL".into());
        kafka.librdkafka.insert("queued.max.messages.kbytes".into(), "1024".into());
        kafka
    }

    #[test]
    fn member_commits_only_what_the_role_commits() {
        let config = ConsumerSettings::member("g", StartFrom::Latest).statistics_every(5000).client_config(&kafka());
        assert_eq!(config.get("group.id"), Some("g"));
        assert_eq!(config.get("enable.auto.commit"), Some("false"));
        assert_eq!(config.get("enable.auto.offset.store"), Some("false"));
        assert_eq!(config.get("auto.offset.reset"), Some("latest"));
        assert_eq!(config.get("group.protocol"), Some("classic"));
        assert_eq!(config.get("session.timeout.ms"), Some("6000"));
        assert_eq!(config.get("heartbeat.interval.ms"), Some("2000"));
        assert_eq!(config.get("partition.assignment.strategy"), Some("range,roundrobin"));
        assert_eq!(config.get("group.instance.id"), None);
        assert_eq!(config.get("statistics.interval.ms"), Some("5000"));
        assert_eq!(config.get("enable.partition.eof"), None);
    }

    #[test]
    fn user_properties_win_over_skeins_own() {
        let config = ConsumerSettings::member("g", StartFrom::Earliest).prefetch_kbytes(32768).client_config(&kafka());
        assert_eq!(config.get("queued.max.messages.kbytes"), Some("1024"));
        assert_eq!(config.get("security.protocol"), Some("SSL"));
    }

    #[test]
    fn a_static_member_has_its_instance_id() {
        let kafka = KafkaConfig { group_instance_id: Some("ingester-0".into()), ..KafkaConfig::default() };
        let config = ConsumerSettings::member("g", StartFrom::Earliest).client_config(&kafka);
        assert_eq!(config.get("group.instance.id"), Some("ingester-0"));
    }

    #[test]
    fn the_consumer_protocol_leaves_timeouts_and_assignment_to_the_broker() {
        let kafka = KafkaConfig { group_protocol: GroupProtocol::Consumer, ..KafkaConfig::default() };
        let config = ConsumerSettings::member("g", StartFrom::Earliest).client_config(&kafka);
        assert_eq!(config.get("group.protocol"), Some("consumer"));
        assert_eq!(config.get("session.timeout.ms"), None);
        assert_eq!(config.get("heartbeat.interval.ms"), None);
        assert_eq!(config.get("partition.assignment.strategy"), None);
    }

    #[test]
    fn assigned_consumer_sets_no_group_membership() {
        // Static membership belongs to group members only: a backfill must not take a member's id.
        let kafka = KafkaConfig { group_instance_id: Some("ingester-0".into()), ..KafkaConfig::default() };
        let config = ConsumerSettings::assigned("g-backfill").partition_eof().client_config(&kafka);
        assert_eq!(config.get("group.id"), Some("g-backfill"));
        assert_eq!(config.get("enable.auto.commit"), Some("false"));
        assert_eq!(config.get("enable.partition.eof"), Some("true"));
        assert_eq!(config.get("auto.offset.reset"), None);
        assert_eq!(config.get("session.timeout.ms"), None);
        assert_eq!(config.get("group.instance.id"), None);
        assert_eq!(config.get("statistics.interval.ms"), None);
    }
}
