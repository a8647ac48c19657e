//! `kafka`: where the cluster is and how the span topics look; and where a new consumer group starts.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
pub use skein_schemas::encoding::RecordEncoding;

/// Kafka settings shared by every role.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaConfig {
    /// Bootstrap servers, comma separated.
    pub brokers: String,
    /// Topic the collector publishes span records to.
    pub spans_topic: String,
    /// What the records of `spans_topic` are, for the ingester and analytics: `skein` (the
    /// collector's records), or what Jaeger or the OpenTelemetry Collector writes to Kafka
    /// (`jaeger_proto`, `jaeger_json`, `otlp_proto`, `otlp_json`). The collector writes `skein` only.
    pub encoding: RecordEncoding,
    /// Topic for records the ingester can never index.
    pub dlq_topic: String,
    /// Partitions of the spans topic when skein creates it.
    pub partitions: i32,
    /// Replication factor of topics skein creates.
    pub replication_factor: i32,
    /// Create the spans and DLQ topics at start when missing.
    pub create_topics: bool,
    /// Raw librdkafka properties applied to every client (for SASL, ...).
    pub librdkafka: BTreeMap<String, String>,
    /// TLS to the brokers, for every Kafka client skein makes.
    pub tls: KafkaTlsConfig,
    /// SASL user name (librdkafka `sasl.username`), kept apart from `librdkafka` so it can come
    /// from `SKEIN_KAFKA__SASL_USERNAME` (a Kubernetes Secret).
    pub sasl_username: Option<String>,
    /// SASL password (librdkafka `sasl.password`); prefer `SKEIN_KAFKA__SASL_PASSWORD`.
    pub sasl_password: Option<String>,
    /// How consumer groups (ingester, analytics) balance partitions.
    pub group_protocol: GroupProtocol,
    /// How long a consumer that stops heartbeating keeps its partitions (classic protocol; with
    /// `consumer` the brokers' `group.consumer.session.timeout.ms` decides).
    pub session_timeout_ms: u32,
    /// Static group membership: a member restarted with the same id takes its partitions straight
    /// back, without a rebalance. Unique per process within a group (the pod name, the hostname).
    pub group_instance_id: Option<String>,
}

impl Default for KafkaConfig {
    fn default() -> Self {
        Self {
            brokers: "127.0.0.1:9092".into(),
            spans_topic: "skein-spans".into(),
            encoding: RecordEncoding::Skein,
            dlq_topic: "skein-spans-dlq".into(),
            partitions: 6,
            // A single local broker cannot hold more copies.
            replication_factor: 1,
            create_topics: true,
            librdkafka: BTreeMap::new(),
            tls: KafkaTlsConfig::default(),
            sasl_username: None,
            sasl_password: None,
            group_protocol: GroupProtocol::Classic,
            // The brokers' default `group.min.session.timeout.ms`: a killed member's partitions
            // move within seconds, not librdkafka's default 45 s.
            session_timeout_ms: 6_000,
            group_instance_id: None,
        }
    }
}

/// TLS to the brokers through librdkafka (OpenSSL): `security.protocol` `ssl`, or `sasl_ssl`
/// when SASL is configured, and the `ssl.*` file locations.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaTlsConfig {
    /// Speak TLS to the brokers.
    pub enabled: bool,
    /// PEM file of the CA that signed the brokers' certificates (`ssl.ca.location`); without one
    /// the system's trusted roots are used.
    pub ca_file: Option<String>,
    /// PEM client certificate, for brokers that require one (`ssl.certificate.location`).
    pub cert_file: Option<String>,
    /// PEM private key of `cert_file` (`ssl.key.location`).
    pub key_file: Option<String>,
}

/// librdkafka properties `kafka.tls` sets; `kafka.librdkafka` may not set them too.
const TLS_PROPERTIES: [&str; 4] =
    ["security.protocol", "ssl.ca.location", "ssl.certificate.location", "ssl.key.location"];

impl KafkaTlsConfig {
    /// The librdkafka properties for these settings; `sasl` says whether SASL is in use.
    pub fn librdkafka_properties(&self, sasl: bool) -> Vec<(&'static str, String)> {
        if !self.enabled {
            return Vec::new();
        }
        let protocol = if sasl { "sasl_ssl" } else { "ssl" };
        let mut properties = vec![("security.protocol", protocol.to_string())];
        let files = [
            ("ssl.ca.location", &self.ca_file),
            ("ssl.certificate.location", &self.cert_file),
            ("ssl.key.location", &self.key_file),
        ];
        properties.extend(files.into_iter().filter_map(|(key, file)| Some((key, file.clone()?))));
        properties
    }
}

/// The consumer group protocol (librdkafka `group.protocol`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum GroupProtocol {
    /// The group's leader assigns partitions; the session timeout is the client's.
    Classic,
    /// Kafka 4's protocol (KIP-848): the broker assigns, incrementally; the session timeout is the
    /// broker's (at least 45 s unless the brokers lower `group.consumer.min.session.timeout.ms`).
    Consumer,
}

impl GroupProtocol {
    /// The librdkafka `group.protocol` value.
    pub fn as_librdkafka(self) -> &'static str {
        match self {
            GroupProtocol::Classic => "classic",
            GroupProtocol::Consumer => "consumer",
        }
    }
}

/// A `kafka` option that cannot work.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KafkaConfigError {
    #[error("kafka.partitions must be at least 1 (it is {0})")]
    NoPartitions(i32),
    #[error("kafka.session_timeout_ms must be at least 1000 (it is {0}); brokers refuse less than their group.min.session.timeout.ms, 6000 by default")]
    SessionTimeoutTooShort(u32),
    #[error("kafka.group_instance_id must not be empty: leave it unset for dynamic membership")]
    EmptyGroupInstanceId,
    #[error("kafka.tls.{0} is set but kafka.tls.enabled is false: enable TLS or remove the file")]
    TlsFileWithoutTls(&'static str),
    #[error("kafka.tls.cert_file and kafka.tls.key_file go together: set both for a client certificate, or neither")]
    TlsCertWithoutKey,
    #[error("kafka.librdkafka sets {0}, which kafka.tls sets when enabled: remove it from kafka.librdkafka")]
    TlsPropertyTwice(String),
    #[error("kafka.dlq_topic must differ from kafka.spans_topic (both are '{0}'), or dead letters would be read as spans again")]
    DlqIsSpansTopic(String),
    #[error("kafka.librdkafka may not set {key}: skein sets it because {guarantee}; remove it from kafka.librdkafka")]
    GuaranteedSetting { key: String, guarantee: &'static str },
}

/// librdkafka properties skein's delivery guarantees rest on (with librdkafka's aliases), and why.
const GUARANTEED_SETTINGS: [(&str, &str); 6] = [
    ("acks", "a client is answered only once every in-sync replica has its spans (acks=all)"),
    ("request.required.acks", "a client is answered only once every in-sync replica has its spans (acks=all)"),
    ("enable.idempotence", "producer retries must neither duplicate nor reorder records of a trace"),
    ("enable.auto.commit", "offsets are committed only for records written to Elasticsearch (at-least-once delivery)"),
    ("auto.commit.enable", "offsets are committed only for records written to Elasticsearch (at-least-once delivery)"),
    (
        "enable.auto.offset.store",
        "an offset is stored only once its record is written to Elasticsearch (at-least-once delivery)",
    ),
];

impl KafkaConfig {
    /// Rules within `kafka` that serde cannot express.
    pub fn validate(&self) -> Result<(), KafkaConfigError> {
        if self.partitions < 1 {
            return Err(KafkaConfigError::NoPartitions(self.partitions));
        }
        if self.session_timeout_ms < 1_000 {
            return Err(KafkaConfigError::SessionTimeoutTooShort(self.session_timeout_ms));
        }
        if self.group_instance_id.as_deref().is_some_and(|id| id.trim().is_empty()) {
            return Err(KafkaConfigError::EmptyGroupInstanceId);
        }
        if self.spans_topic == self.dlq_topic {
            return Err(KafkaConfigError::DlqIsSpansTopic(self.dlq_topic.clone()));
        }
        for key in self.librdkafka.keys() {
            let normalized = key.trim().to_ascii_lowercase();
            if let Some((_, guarantee)) = GUARANTEED_SETTINGS.iter().find(|(name, _)| *name == normalized) {
                return Err(KafkaConfigError::GuaranteedSetting { key: key.clone(), guarantee });
            }
        }
        self.validate_tls()
    }

    fn validate_tls(&self) -> Result<(), KafkaConfigError> {
        let tls = &self.tls;
        if tls.cert_file.is_some() != tls.key_file.is_some() {
            return Err(KafkaConfigError::TlsCertWithoutKey);
        }
        if !tls.enabled {
            let files = [("ca_file", &tls.ca_file), ("cert_file", &tls.cert_file), ("key_file", &tls.key_file)];
            return match files.into_iter().find(|(_, file)| file.is_some()) {
                Some((name, _)) => Err(KafkaConfigError::TlsFileWithoutTls(name)),
                None => Ok(()),
            };
        }
        match TLS_PROPERTIES.into_iter().find(|key| self.librdkafka.contains_key(*key)) {
            Some(key) => Err(KafkaConfigError::TlsPropertyTwice(key.to_string())),
            None => Ok(()),
        }
    }

    /// Whether SASL is configured (a mechanism in `librdkafka`, or a user name), so that TLS
    /// becomes `sasl_ssl` rather than `ssl`.
    pub fn uses_sasl(&self) -> bool {
        self.sasl_username.is_some() || self.librdkafka.keys().any(|key| key.starts_with("sasl."))
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

    #[test]
    fn a_session_timeout_below_a_second_is_refused() {
        let kafka = KafkaConfig { session_timeout_ms: 500, ..KafkaConfig::default() };
        assert_eq!(kafka.validate(), Err(KafkaConfigError::SessionTimeoutTooShort(500)));
    }

    fn tls(ca: Option<&str>, cert: Option<&str>, key: Option<&str>) -> KafkaTlsConfig {
        let file = |f: Option<&str>| f.map(str::to_string);
        KafkaTlsConfig { enabled: true, ca_file: file(ca), cert_file: file(cert), key_file: file(key) }
    }

    #[test]
    fn tls_maps_onto_librdkafka_ssl_properties() {
        let tls = tls(Some("ca.pem"), Some("client.pem"), Some("client.key"));
        assert_eq!(
            tls.librdkafka_properties(false),
            [
                ("security.protocol", "ssl".to_string()),
                ("ssl.ca.location", "ca.pem".to_string()),
                ("ssl.certificate.location", "client.pem".to_string()),
                ("ssl.key.location", "client.key".to_string()),
            ]
        );
        assert_eq!(tls.librdkafka_properties(true)[0], ("security.protocol", "sasl_ssl".to_string()));
        assert!(KafkaTlsConfig::default().librdkafka_properties(false).is_empty(), "off by default");
    }

    #[test]
    fn sasl_in_librdkafka_makes_tls_sasl_ssl() {
        let mut kafka = KafkaConfig { tls: tls(None, None, None), ..KafkaConfig::default() };
        assert!(!kafka.uses_sasl());
        kafka.librdkafka.insert("sasl.mechanism".into(), "SCRAM-SHA-512".into());
        assert!(kafka.uses_sasl());
        kafka.validate().expect("SASL and TLS together are fine");
    }

    #[test]
    fn tls_files_without_tls_enabled_are_refused() {
        let kafka = KafkaConfig {
            tls: KafkaTlsConfig { enabled: false, ..tls(Some("ca.pem"), None, None) },
            ..KafkaConfig::default()
        };
        assert_eq!(kafka.validate(), Err(KafkaConfigError::TlsFileWithoutTls("ca_file")));
    }

    #[test]
    fn a_client_certificate_needs_its_key() {
        let kafka = KafkaConfig { tls: tls(None, Some("client.pem"), None), ..KafkaConfig::default() };
        assert_eq!(kafka.validate(), Err(KafkaConfigError::TlsCertWithoutKey));
    }

    #[test]
    fn tls_properties_in_librdkafka_are_refused_when_tls_is_on() {
        let mut kafka = KafkaConfig { tls: tls(None, None, None), ..KafkaConfig::default() };
        kafka.librdkafka.insert("security.protocol".into(), "plaintext".into());
        assert_eq!(kafka.validate(), Err(KafkaConfigError::TlsPropertyTwice("security.protocol".into())));
    }

    #[test]
    fn librdkafka_may_not_override_what_delivery_rests_on() {
        for key in [
            "acks",
            "request.required.acks",
            "enable.idempotence",
            "enable.auto.commit",
            "auto.commit.enable",
            "enable.auto.offset.store",
            " ACKS",
        ] {
            let kafka =
                KafkaConfig { librdkafka: [(key.to_string(), "1".to_string())].into(), ..KafkaConfig::default() };
            let error = kafka.validate().unwrap_err();
            assert!(
                matches!(&error, KafkaConfigError::GuaranteedSetting { key: named, .. } if named == key),
                "{error}"
            );
        }
        let error = crate::config::SkeinConfig::from_yaml_str("kafka:\n  librdkafka:\n    acks: '1'\n").unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid configuration: kafka.librdkafka may not set acks: skein sets it because a client is answered only once every in-sync replica has its spans (acks=all); remove it from kafka.librdkafka"
        );
        let tls = KafkaConfig {
            librdkafka: [("security.protocol".to_string(), "SSL".to_string())].into(),
            ..KafkaConfig::default()
        };
        assert_eq!(tls.validate(), Ok(()), "other properties stay free");
    }

    #[test]
    fn an_empty_group_instance_id_is_refused() {
        let kafka = KafkaConfig { group_instance_id: Some(" ".into()), ..KafkaConfig::default() };
        assert_eq!(kafka.validate(), Err(KafkaConfigError::EmptyGroupInstanceId));
    }
}
