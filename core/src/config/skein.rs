//! The configuration as a whole: every section, loading it (YAML file, `SKEIN_*` variables,
//! `--set` flags) and checking it (each section's own checks, then the rules across sections).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{
    AgentConfig, AgentConfigError, AnalyticsConfig, AnalyticsConfigError, AuthConfigError, CollectorConfig,
    CollectorConfigError, ElasticsearchConfig, ElasticsearchConfigError, IngesterConfig, IngesterConfigError,
    KafkaConfig, KafkaConfigError, ListenersConfig, ListenersConfigError, LogConfig, QueryConfig, TenancyConfig,
    TenancyConfigError,
};

/// Errors while loading or checking the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration: {0} (check the --config path and the SKEIN_* variables)")]
    Load(#[from] config::ConfigError),
    #[error("invalid configuration: {0}")]
    Kafka(KafkaConfigError),
    #[error("invalid configuration: {0}")]
    Elasticsearch(ElasticsearchConfigError),
    #[error("invalid configuration: {0}")]
    Collector(CollectorConfigError),
    #[error("invalid configuration: {0}")]
    Agent(AgentConfigError),
    #[error("invalid configuration: {0}")]
    Ingester(IngesterConfigError),
    #[error("invalid configuration: {0}")]
    Analytics(AnalyticsConfigError),
    #[error("invalid configuration: {0}")]
    Listeners(ListenersConfigError),
    #[error("invalid configuration: {0}")]
    Tenancy(TenancyConfigError),
    #[error("invalid configuration: {0}")]
    Auth(AuthConfigError),
    #[error("invalid configuration: {0}")]
    Query(super::QueryConfigError),
    #[error(
        "invalid configuration: analytics.group_id must differ from ingester.group_id (both are '{0}'), or each of the two roles would read only part of the records"
    )]
    SharedGroup(String),
}

/// The whole configuration of every role.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct SkeinConfig {
    /// Where the Kafka cluster is and how the span topics look.
    pub kafka: KafkaConfig,
    /// Where Elasticsearch is and how indices are named.
    pub elasticsearch: ElasticsearchConfig,
    /// The collector role: OTLP receivers and the Kafka publisher.
    pub collector: CollectorConfig,
    /// The ingester role: Kafka → Elasticsearch.
    pub ingester: IngesterConfig,
    /// The analytics role: dependency links and latency aggregates.
    pub analytics: AnalyticsConfig,
    /// The query role: Jaeger's HTTP API over the indices.
    pub query: QueryConfig,
    /// The agent role: Jaeger agent UDP and sampling on a host, forwarding to collectors.
    pub agent: AgentConfig,
    /// How each group of listeners (receivers, query, admin) takes connections: TLS and limits.
    pub listeners: ListenersConfig,
    /// Logging.
    pub log: LogConfig,
    /// Multi-tenancy: tenant header, allow-list, rate limits.
    pub tenancy: TenancyConfig,
}

/// Options whose value is a list: one `SKEIN_*` variable or `--set` gives it comma-separated.
const LIST_OPTIONS: [&str; 2] = ["query.collector_metrics_urls", "tenancy.tenants"];

impl SkeinConfig {
    /// Load the configuration: defaults, then the YAML file (when given), then `SKEIN_*` variables
    /// (`SKEIN_KAFKA__BROKERS` sets `kafka.brokers`), then `overrides` (dotted keys from CLI flags).
    pub fn load(file: Option<&Path>, overrides: &[(String, String)]) -> Result<Self, ConfigError> {
        let defaults = config::Config::try_from(&SkeinConfig::default())?;
        let mut builder = config::Config::builder().add_source(defaults);
        if let Some(path) = file {
            builder = builder.add_source(config::File::from(path).format(config::FileFormat::Yaml).required(true));
        }
        // Options are all inside a section, so their variables have a `__`; the other SKEIN_*
        // variables (SKEIN_CONFIG naming the file, the scripts' SKEIN_CACHE_DIR, ...) are not options.
        let environment: config::Map<String, String> = std::env::vars_os()
            .filter_map(|(key, value)| Some((key.into_string().ok()?, value.into_string().ok()?)))
            .filter(|(key, _)| key.strip_prefix("SKEIN_").is_some_and(|rest| rest.contains("__")))
            .collect();
        builder = builder.add_source(
            config::Environment::with_prefix("SKEIN")
                .prefix_separator("_")
                .separator("__")
                .try_parsing(true)
                // A list from one variable: SKEIN_QUERY__COLLECTOR_METRICS_URLS=http://a/metrics,http://b/metrics
                .list_separator(",")
                .with_list_parse_key(LIST_OPTIONS[0])
                .with_list_parse_key(LIST_OPTIONS[1])
                .source(Some(environment)),
        );
        for (key, value) in overrides {
            builder = if LIST_OPTIONS.contains(&key.as_str()) {
                // `--set query.collector_metrics_urls=http://a/metrics,http://b/metrics`, as the variable takes it.
                let items: Vec<String> =
                    value.split(',').map(str::trim).filter(|v| !v.is_empty()).map(str::to_string).collect();
                builder.set_override(key.as_str(), items)?
            } else {
                builder.set_override(key.as_str(), value.as_str())?
            };
        }
        let loaded: SkeinConfig = builder.build()?.try_deserialize()?;
        loaded.validate()?;
        Ok(loaded)
    }

    /// Parse a YAML document alone (no environment), as `load` would.
    pub fn from_yaml_str(yaml: &str) -> Result<Self, ConfigError> {
        let defaults = config::Config::try_from(&SkeinConfig::default())?;
        let loaded: SkeinConfig = config::Config::builder()
            .add_source(defaults)
            .add_source(config::File::from_str(yaml, config::FileFormat::Yaml))
            .build()?
            .try_deserialize()?;
        loaded.validate()?;
        Ok(loaded)
    }

    /// Every section's own rules, then the rules across sections.
    pub fn validate(&self) -> Result<(), ConfigError> {
        // The section's message is the whole message (not a source too), so it is printed once.
        self.kafka.validate().map_err(ConfigError::Kafka)?;
        self.elasticsearch.validate().map_err(ConfigError::Elasticsearch)?;
        self.collector.validate().map_err(ConfigError::Collector)?;
        self.agent.validate().map_err(ConfigError::Agent)?;
        self.ingester.validate().map_err(ConfigError::Ingester)?;
        self.analytics.validate().map_err(ConfigError::Analytics)?;
        self.listeners.validate().map_err(ConfigError::Listeners)?;
        self.tenancy.validate().map_err(ConfigError::Tenancy)?;
        self.query.validate().map_err(ConfigError::Query)?;
        self.listeners.validate_auth().map_err(ConfigError::Auth)?;
        if self.analytics.group_id == self.ingester.group_id {
            return Err(ConfigError::SharedGroup(self.analytics.group_id.clone()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::*;
    use crate::config::LogFormat;

    #[test]
    fn documented_example_parses() {
        let yaml = include_str!("../../../config/skein.example.yaml");
        let config = SkeinConfig::from_yaml_str(yaml).expect("example config parses");
        assert_eq!(config.kafka.spans_topic, "skein-spans");
    }

    #[test]
    fn container_config_parses() {
        // The Docker image's /etc/skein/skein.yaml: every listener reachable from outside the container.
        let yaml = include_str!("../../../config/container.yaml");
        let config = SkeinConfig::from_yaml_str(yaml).expect("container config parses");
        let any = |port: u16| -> SocketAddr { SocketAddr::from(([0, 0, 0, 0], port)) };
        let c = &config.collector;
        assert_eq!(c.otlp_grpc_listen, any(4317));
        assert_eq!(c.otlp_http_listen, any(4318));
        assert_eq!(c.admin_listen, any(14269));
        for (listen, port) in [
            (c.jaeger_grpc_listen, 14250),
            (c.jaeger_thrift_http_listen, 14268),
            (c.jaeger_compact_udp_listen, 6831),
            (c.jaeger_binary_udp_listen, 6832),
            (c.zipkin_listen, 9411),
            (c.sampling_http_listen, 5778),
            (config.agent.compact_udp_listen, 6831),
            (config.agent.binary_udp_listen, 6832),
            (config.agent.sampling_http_listen, 5778),
        ] {
            assert_eq!(listen.0, Some(any(port)));
        }
        assert_eq!(config.ingester.admin_listen, any(14270));
        assert_eq!(config.analytics.admin_listen, any(14272));
        assert_eq!(config.query.listen, any(16686));
        assert_eq!(config.query.admin_listen, any(16687));
        assert_eq!(config.agent.admin_listen, any(14271));
        assert_eq!(config.log.format, LogFormat::Json);
    }

    #[test]
    fn defaults_are_valid_local_settings() {
        let config = SkeinConfig::default();
        config.validate().expect("defaults validate");
        assert_eq!(config.kafka.brokers, "127.0.0.1:9092");
        assert_eq!(config.collector.otlp_grpc_listen.port(), 4317);
    }

    #[test]
    fn unknown_field_is_rejected() {
        let err = SkeinConfig::from_yaml_str("kafka:\n  brokerz: x\n").unwrap_err();
        assert!(err.to_string().contains("brokerz"), "{err}");
    }

    #[test]
    fn a_section_error_is_reported_as_invalid_configuration() {
        let err = SkeinConfig::from_yaml_str("kafka:\n  partitions: 0\n").unwrap_err();
        assert_eq!(err.to_string(), "invalid configuration: kafka.partitions must be at least 1 (it is 0)");
        // A source would print the message a second time under `Caused by`.
        assert!(std::error::Error::source(&err).is_none(), "the section's error is not a source");
    }

    #[test]
    fn analytics_and_ingester_cannot_share_a_group() {
        let err = SkeinConfig::from_yaml_str("analytics:\n  group_id: skein-ingester\n").unwrap_err();
        assert!(matches!(&err, ConfigError::SharedGroup(group) if group == "skein-ingester"), "{err}");
    }

    #[test]
    fn a_list_option_is_set_comma_separated_by_a_flag() {
        let overrides =
            [("query.collector_metrics_urls".to_string(), "http://a/metrics, http://b/metrics".to_string())];
        let config = SkeinConfig::load(None, &overrides).unwrap();
        assert_eq!(config.query.collector_metrics_urls, ["http://a/metrics", "http://b/metrics"]);
    }

    #[test]
    fn the_tenant_allow_list_is_set_comma_separated_by_a_flag_and_checked() {
        let overrides = [
            ("tenancy.enabled".to_string(), "true".to_string()),
            ("tenancy.tenants".to_string(), "acme, globex".to_string()),
        ];
        let config = SkeinConfig::load(None, &overrides).unwrap();
        assert_eq!(config.tenancy.tenants, ["acme", "globex"]);
        let err = SkeinConfig::load(None, &overrides[..1]).unwrap_err();
        assert!(matches!(err, ConfigError::Tenancy(_)), "tenancy on needs an allow-list: {err}");
    }

    #[test]
    fn override_sets_nested_field() {
        let config =
            SkeinConfig::load(None, &[("kafka.spans_topic".into(), "other".into())]).expect("override applies");
        assert_eq!(config.kafka.spans_topic, "other");
    }
}
