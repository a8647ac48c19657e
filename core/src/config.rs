//! The one skein configuration file. Every field documents itself and names its default; the same
//! structure is filled from YAML, then `SKEIN_*` environment variables, then CLI flags.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// Errors while loading or checking the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration: {0} (check the --config path and the SKEIN_* variables)")]
    Load(#[from] config::ConfigError),
    #[error("invalid configuration: {0}")]
    Invalid(String),
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
    /// Logging.
    pub log: LogConfig,
}

/// Kafka settings shared by every role.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaConfig {
    /// Bootstrap servers, comma separated. Default `127.0.0.1:9092`.
    pub brokers: String,
    /// Topic the collector publishes span records to. Default `skein-spans`.
    pub spans_topic: String,
    /// Topic for records the ingester can never index. Default `skein-spans-dlq`.
    pub dlq_topic: String,
    /// Partitions of the spans topic when skein creates it. Default `6`.
    pub partitions: i32,
    /// Replication factor of topics skein creates. Default `1` (single local broker).
    pub replication_factor: i32,
    /// Create the spans and DLQ topics at start when missing. Default `true`.
    pub create_topics: bool,
    /// Raw librdkafka properties applied to every client (for TLS, SASL, ...). Default empty.
    pub librdkafka: BTreeMap<String, String>,
    /// SASL user name (librdkafka `sasl.username`), kept apart from `librdkafka` so it can come
    /// from `SKEIN_KAFKA__SASL_USERNAME` (a Kubernetes Secret). Default none.
    pub sasl_username: Option<String>,
    /// SASL password (librdkafka `sasl.password`); prefer `SKEIN_KAFKA__SASL_PASSWORD`. Default none.
    pub sasl_password: Option<String>,
}

impl Default for KafkaConfig {
    fn default() -> Self {
        Self {
            brokers: "127.0.0.1:9092".into(),
            spans_topic: "skein-spans".into(),
            dlq_topic: "skein-spans-dlq".into(),
            partitions: 6,
            replication_factor: 1,
            create_topics: true,
            librdkafka: BTreeMap::new(),
            sasl_username: None,
            sasl_password: None,
        }
    }
}

/// Elasticsearch settings shared by every role.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ElasticsearchConfig {
    /// Base URL. Default `http://127.0.0.1:9200`.
    pub url: String,
    /// Basic-auth user name. Default none.
    pub username: Option<String>,
    /// Basic-auth password. Default none.
    pub password: Option<String>,
    /// Prefix for every index name: `<prefix>-jaeger-span-...`. Default empty (Jaeger's names).
    pub index_prefix: String,
    /// Primary shards per daily index. Default `1`.
    pub shards: u32,
    /// Replicas per daily index. Default `0`, so a single-node cluster is green.
    pub replicas: u32,
    /// Install index templates at start. Default `true`.
    pub create_templates: bool,
    /// How `traceID` is written: `short` (Jaeger 1.x: 16 hex chars when the high 64 bits are zero)
    /// or `full` (Jaeger 2.x: always 32). Use `full` when Jaeger 2's query service reads the
    /// indices. Default `short`.
    pub trace_id_format: skein_schemas::jaeger::TraceIdFormat,
    /// Timeout of one request to Elasticsearch, ms. Default `30000`.
    pub request_timeout_ms: u64,
    /// PEM file of the CA that signed the cluster's certificate, for `https` URLs with a private CA.
    /// Default none (the system's trusted roots).
    pub ca_file: Option<String>,
}

impl Default for ElasticsearchConfig {
    fn default() -> Self {
        Self {
            url: "http://127.0.0.1:9200".into(),
            username: None,
            password: None,
            index_prefix: String::new(),
            shards: 1,
            replicas: 0,
            create_templates: true,
            trace_id_format: skein_schemas::jaeger::TraceIdFormat::Short,
            request_timeout_ms: 30_000,
            ca_file: None,
        }
    }
}

/// Compression codec of produced records.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

impl Compression {
    /// The librdkafka `compression.type` value.
    pub fn as_librdkafka(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }
}

/// The collector role.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CollectorConfig {
    /// OTLP/gRPC listen address. Default `127.0.0.1:4317` (use `0.0.0.0:4317` in containers).
    pub otlp_grpc_listen: SocketAddr,
    /// OTLP/HTTP listen address. Default `127.0.0.1:4318`.
    pub otlp_http_listen: SocketAddr,
    /// `/metrics`, `/healthz`, `/readyz`. Default `127.0.0.1:14269`.
    pub admin_listen: SocketAddr,
    /// Largest accepted request body (after decompression), bytes; larger → 413 / RESOURCE_EXHAUSTED.
    /// Default `4194304` (4 MiB, OTLP's customary gRPC limit).
    pub max_request_bytes: usize,
    /// Largest Kafka record value, bytes; bigger traces are split into several records with the same
    /// key, and a single bigger span is rejected. Keep below the topic's `max.message.bytes`.
    /// Default `900000`.
    pub max_record_bytes: usize,
    /// Bytes of accepted requests not yet acknowledged by Kafka; beyond it clients get 429 /
    /// RESOURCE_EXHAUSTED. Default `268435456` (256 MiB).
    pub max_in_flight_bytes: usize,
    /// Compression of produced records. Default `lz4`.
    pub compression: Compression,
    /// librdkafka `linger.ms`. Default `5`.
    pub linger_ms: u64,
    /// How long a record may wait for Kafka before the request fails with 503 (librdkafka
    /// `message.timeout.ms`). Default `10000`.
    pub produce_timeout_ms: u64,
    /// `Retry-After` seconds sent with 429 and 503. Default `2`.
    pub retry_after_seconds: u64,
    /// Jaeger gRPC (`CollectorService/PostSpans`, `SamplingManager`). Default `127.0.0.1:14250`;
    /// `off` disables.
    pub jaeger_grpc_listen: Listen,
    /// Jaeger Thrift over HTTP (`POST /api/traces`) and `GET /api/sampling`. Default
    /// `127.0.0.1:14268`; `off` disables.
    pub jaeger_thrift_http_listen: Listen,
    /// Jaeger agent UDP, compact Thrift. Default `127.0.0.1:6831`; `off` disables.
    pub jaeger_compact_udp_listen: Listen,
    /// Jaeger agent UDP, binary Thrift. Default `127.0.0.1:6832`; `off` disables.
    pub jaeger_binary_udp_listen: Listen,
    /// Zipkin `POST /api/v2/spans` (JSON, proto3). Default `127.0.0.1:9411`; `off` disables.
    pub zipkin_listen: Listen,
    /// Remote sampling over HTTP (`/sampling`, `/api/sampling`), the agent's classic port.
    /// Default `127.0.0.1:5778`; `off` disables.
    pub sampling_http_listen: Listen,
    /// Jaeger strategies file (JSON). Default none: every service samples 0.1 % (probabilistic 0.001).
    pub sampling_strategies_file: Option<String>,
    /// How often the strategies file is re-read; a changed file is applied, a broken one is
    /// logged and ignored. Default `1000`; `0` reads it once.
    pub sampling_reload_interval_ms: u64,
    /// UDP receivers' limits.
    pub udp: UdpConfig,
}

/// A listen address that can be turned off with `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listen(pub Option<SocketAddr>);

impl Listen {
    pub fn at(addr: &str) -> Self {
        Listen(Some(addr.parse().expect("literal address")))
    }
}

impl Serialize for Listen {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Some(addr) => serializer.serialize_str(&addr.to_string()),
            None => serializer.serialize_str("off"),
        }
    }
}

impl<'de> Deserialize<'de> for Listen {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Flag(bool),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Flag(false) => Ok(Listen(None)),
            Raw::Flag(true) => Err(serde::de::Error::custom("give an address such as 127.0.0.1:9411, or off")),
            Raw::Text(text) if matches!(text.trim(), "" | "off" | "disabled" | "false") => Ok(Listen(None)),
            Raw::Text(text) => text.trim().parse().map(|addr| Listen(Some(addr))).map_err(|_| {
                serde::de::Error::custom(format!("'{text}' is not an address such as 127.0.0.1:9411, or off"))
            }),
        }
    }
}

/// Limits of the Jaeger agent UDP receivers (in the collector and in the agent).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UdpConfig {
    /// Largest datagram accepted, bytes; larger ones are counted as `too_large` and dropped.
    /// Default `65000` (Jaeger clients' limit).
    pub max_packet_bytes: usize,
    /// Decoded batches waiting to be sent on; when full, datagrams are dropped and counted
    /// (`queue_full`): UDP cannot push back. Default `1000`.
    pub queue_batches: usize,
    /// Batches sent on concurrently. Default `16`.
    pub workers: usize,
    /// Socket receive buffer, bytes (`SO_RCVBUF`; the kernel may cap it at `net.core.rmem_max`).
    /// Default `4194304`.
    pub socket_buffer_bytes: usize,
}

impl Default for UdpConfig {
    fn default() -> Self {
        Self { max_packet_bytes: 65_000, queue_batches: 1_000, workers: 16, socket_buffer_bytes: 4 * 1024 * 1024 }
    }
}

/// The agent role (`skein agent`): runs beside applications (DaemonSet or sidecar), receives Jaeger
/// UDP and serves sampling, and forwards to collectors over Jaeger gRPC.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AgentConfig {
    /// Compact Thrift UDP. Default `127.0.0.1:6831`; `off` disables.
    pub compact_udp_listen: Listen,
    /// Binary Thrift UDP. Default `127.0.0.1:6832`; `off` disables.
    pub binary_udp_listen: Listen,
    /// Remote sampling over HTTP, answered from the collector's strategies. Default `127.0.0.1:5778`;
    /// `off` disables.
    pub sampling_http_listen: Listen,
    /// `/metrics`, `/healthz`, `/readyz`. Default `127.0.0.1:14271`.
    pub admin_listen: SocketAddr,
    /// The collectors' Jaeger gRPC endpoint. Default `http://127.0.0.1:14250`.
    pub collector_endpoint: String,
    /// Time allowed for one forward to a collector before it is retried. Default `5000`.
    pub forward_timeout_ms: u64,
    /// How long a batch is retried (collector unreachable or overloaded) before it is dropped and
    /// counted. Default `30000`.
    pub forward_give_up_ms: u64,
    /// UDP receivers' limits.
    pub udp: UdpConfig,
}

impl Default for AgentConfig {
    fn default() -> Self {
        Self {
            compact_udp_listen: Listen::at("127.0.0.1:6831"),
            binary_udp_listen: Listen::at("127.0.0.1:6832"),
            sampling_http_listen: Listen::at("127.0.0.1:5778"),
            admin_listen: "127.0.0.1:14271".parse().expect("literal address"),
            collector_endpoint: "http://127.0.0.1:14250".into(),
            forward_timeout_ms: 5_000,
            forward_give_up_ms: 30_000,
            udp: UdpConfig::default(),
        }
    }
}

impl Default for CollectorConfig {
    fn default() -> Self {
        Self {
            otlp_grpc_listen: "127.0.0.1:4317".parse().expect("literal address"),
            otlp_http_listen: "127.0.0.1:4318".parse().expect("literal address"),
            admin_listen: "127.0.0.1:14269".parse().expect("literal address"),
            max_request_bytes: 4 * 1024 * 1024,
            max_record_bytes: 900_000,
            max_in_flight_bytes: 256 * 1024 * 1024,
            compression: Compression::Lz4,
            linger_ms: 5,
            produce_timeout_ms: 10_000,
            retry_after_seconds: 2,
            jaeger_grpc_listen: Listen::at("127.0.0.1:14250"),
            jaeger_thrift_http_listen: Listen::at("127.0.0.1:14268"),
            jaeger_compact_udp_listen: Listen::at("127.0.0.1:6831"),
            jaeger_binary_udp_listen: Listen::at("127.0.0.1:6832"),
            zipkin_listen: Listen::at("127.0.0.1:9411"),
            sampling_http_listen: Listen::at("127.0.0.1:5778"),
            sampling_strategies_file: None,
            sampling_reload_interval_ms: 1_000,
            udp: UdpConfig::default(),
        }
    }
}

/// The ingester role.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngesterConfig {
    /// Consumer group. Default `skein-ingester`.
    pub group_id: String,
    /// `/metrics`, `/healthz`, `/readyz`. Default `127.0.0.1:14270`.
    pub admin_listen: SocketAddr,
    /// Where a new group starts: `earliest` or `latest`. Default `earliest`.
    pub start_from: StartFrom,
    /// Flush a bulk request at this many documents. Default `2000`.
    pub bulk_max_docs: usize,
    /// Flush a bulk request at this many bytes of body. Default `5242880` (5 MiB).
    pub bulk_max_bytes: usize,
    /// Flush a partial bulk request after this long, ms. Default `200`.
    pub bulk_flush_interval_ms: u64,
    /// Bulk requests in flight at once; when all are busy, partitions are paused. Default `2`.
    pub bulk_concurrency: usize,
    /// First retry delay for transient bulk failures, ms; doubles up to the max. Default `100`.
    pub retry_initial_backoff_ms: u64,
    /// Longest retry delay, ms. Default `10000`.
    pub retry_max_backoff_ms: u64,
    /// How often done offsets are committed, ms. Default `1000`.
    pub commit_interval_ms: u64,
}

impl Default for IngesterConfig {
    fn default() -> Self {
        Self {
            group_id: "skein-ingester".into(),
            admin_listen: "127.0.0.1:14270".parse().expect("literal address"),
            start_from: StartFrom::Earliest,
            bulk_max_docs: 2000,
            bulk_max_bytes: 5 * 1024 * 1024,
            bulk_flush_interval_ms: 200,
            bulk_concurrency: 2,
            retry_initial_backoff_ms: 100,
            retry_max_backoff_ms: 10_000,
            commit_interval_ms: 1000,
        }
    }
}

/// The analytics role. Changing any of the trace or bucket settings changes what is written; keep
/// them equal across the workers of one group.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnalyticsConfig {
    /// Consumer group. Default `skein-analytics`.
    pub group_id: String,
    /// `/metrics`, `/healthz`, `/readyz`. Default `127.0.0.1:14272`.
    pub admin_listen: SocketAddr,
    /// Where a new group starts: `earliest` or `latest`. Default `earliest`.
    pub start_from: StartFrom,
    /// A trace is complete once no span arrived for this long (record time), ms. Default `10000`.
    pub trace_idle_ms: u64,
    /// A trace is closed this long after its first span at the latest, ms. Default `300000`.
    pub trace_max_age_ms: u64,
    /// Open traces per partition; beyond it the trace closest to its deadline closes early.
    /// Default `100000`.
    pub max_open_traces: usize,
    /// Spans buffered per trace; a longer trace closes early and its later spans start a new
    /// part. Default `10000`.
    pub max_spans_per_trace: usize,
    /// Length of a latency bucket (`skein-metrics-*` documents), seconds; must divide a day.
    /// Default `60`.
    pub bucket_seconds: u32,
    /// Length of a `jaeger-dependencies-*` document's bucket, seconds; a multiple of
    /// `bucket_seconds` that divides a day. Default `900`.
    pub dependencies_bucket_seconds: u32,
    /// How often final documents, checkpoints and offsets are written, ms: the next flush starts
    /// this long after the previous one ended. Default `1000`.
    pub flush_interval_ms: u64,
    /// Also write documents of buckets not yet final at every flush (only the series changed
    /// since the previous flush; overwritten when final), so figures show within seconds.
    /// Default `true`.
    pub write_open_buckets: bool,
    /// A partition read to its end with nothing new for this long gets a watermark marker
    /// record, so its open traces and buckets close, ms. Default `3000`.
    pub idle_partition_ms: u64,
    /// Largest number of (service, operation, kind, status) series on `/metrics`; spans of
    /// further series are counted in `skein_analytics_red_series_dropped_total` and logged (one
    /// warning per 10 s). Default `10000`.
    pub max_metric_series: usize,
    /// First retry delay for Elasticsearch writes, ms; doubles up to the max. Default `100`.
    pub retry_initial_backoff_ms: u64,
    /// Longest retry delay, ms. Default `10000`.
    pub retry_max_backoff_ms: u64,
}

impl Default for AnalyticsConfig {
    fn default() -> Self {
        Self {
            group_id: "skein-analytics".into(),
            admin_listen: "127.0.0.1:14272".parse().expect("literal address"),
            start_from: StartFrom::Earliest,
            trace_idle_ms: 10_000,
            trace_max_age_ms: 300_000,
            max_open_traces: 100_000,
            max_spans_per_trace: 10_000,
            bucket_seconds: 60,
            dependencies_bucket_seconds: 900,
            flush_interval_ms: 1000,
            write_open_buckets: true,
            idle_partition_ms: 3000,
            max_metric_series: 10_000,
            retry_initial_backoff_ms: 100,
            retry_max_backoff_ms: 10_000,
        }
    }
}

/// The query role.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueryConfig {
    /// Jaeger-compatible HTTP API (`/api/...`, `/api/v3/...`). Default `127.0.0.1:16686`.
    pub listen: SocketAddr,
    /// `/metrics`, `/healthz`, `/readyz`. Default `127.0.0.1:16687`.
    pub admin_listen: SocketAddr,
    /// Largest clock-skew correction applied to a span, ms; `0` turns correction off (each span
    /// that would need it gets a warning instead), as in Jaeger. Default `0`.
    pub max_clock_skew_adjust_ms: u64,
    /// How far back a trace looked up by id (without `start`/`end`) is searched, hours.
    /// Default `72`.
    pub max_span_age_hours: u64,
    /// Spans of one trace may start this long before the search range, hours (a trace found by
    /// search is read over its range widened by this much). Default `24`.
    pub max_trace_duration_hours: u64,
    /// Largest `limit` a search accepts. Default `1500`.
    pub max_search_limit: usize,
    /// Services and operations are listed from this many days of service indices. Default `3`.
    pub services_lookback_days: u32,
    /// Collectors' Prometheus `/metrics` URLs, scraped for the receiver counts of
    /// `/api/skein/pipeline` (collectors are other processes). Default
    /// `["http://127.0.0.1:14269/metrics"]` (the collector's default admin address).
    pub collector_metrics_urls: Vec<String>,
}

impl Default for QueryConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:16686".parse().expect("literal address"),
            admin_listen: "127.0.0.1:16687".parse().expect("literal address"),
            max_clock_skew_adjust_ms: 0,
            max_span_age_hours: 72,
            max_trace_duration_hours: 24,
            max_search_limit: 1500,
            services_lookback_days: 3,
            collector_metrics_urls: vec!["http://127.0.0.1:14269/metrics".into()],
        }
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

/// Logging.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `tracing` filter, e.g. `info,skein_ingester=debug`. Default `info`. `RUST_LOG` wins when set.
    pub level: String,
    /// `text` or `json`. Default `text`.
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self { level: "info".into(), format: LogFormat::Text }
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// Options whose value is a list: one `SKEIN_*` variable or `--set` gives it comma-separated.
const LIST_OPTIONS: [&str; 1] = ["query.collector_metrics_urls"];

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

    /// Cross-field rules that serde cannot express.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let c = &self.collector;
        if c.max_record_bytes < 1024 {
            return Err(ConfigError::Invalid("collector.max_record_bytes must be at least 1024".into()));
        }
        if c.max_in_flight_bytes < c.max_request_bytes {
            return Err(ConfigError::Invalid(format!(
                "collector.max_in_flight_bytes ({}) must be at least collector.max_request_bytes ({}), or no request could ever be accepted",
                c.max_in_flight_bytes, c.max_request_bytes
            )));
        }
        for (name, udp) in [("collector.udp", &c.udp), ("agent.udp", &self.agent.udp)] {
            if udp.queue_batches == 0 || udp.workers == 0 || !(512..=65_535).contains(&udp.max_packet_bytes) {
                return Err(ConfigError::Invalid(format!(
                    "{name}: queue_batches and workers must be at least 1 and max_packet_bytes between 512 and 65535"
                )));
            }
        }
        if !self.agent.collector_endpoint.starts_with("http://")
            && !self.agent.collector_endpoint.starts_with("https://")
        {
            return Err(ConfigError::Invalid(format!(
                "agent.collector_endpoint '{}' must be a URL such as http://collector:14250",
                self.agent.collector_endpoint
            )));
        }
        if self.kafka.partitions < 1 {
            return Err(ConfigError::Invalid("kafka.partitions must be at least 1".into()));
        }
        let i = &self.ingester;
        if i.bulk_max_docs == 0 || i.bulk_concurrency == 0 {
            return Err(ConfigError::Invalid(
                "ingester.bulk_max_docs and ingester.bulk_concurrency must be at least 1".into(),
            ));
        }
        if i.retry_initial_backoff_ms == 0 || i.retry_initial_backoff_ms > i.retry_max_backoff_ms {
            return Err(ConfigError::Invalid(
                "ingester.retry_initial_backoff_ms must be positive and not above ingester.retry_max_backoff_ms".into(),
            ));
        }
        let a = &self.analytics;
        if a.bucket_seconds == 0 || !86_400u32.is_multiple_of(a.bucket_seconds) {
            return Err(ConfigError::Invalid("analytics.bucket_seconds must divide a day (86400)".into()));
        }
        if !a.dependencies_bucket_seconds.is_multiple_of(a.bucket_seconds)
            || !86_400u32.is_multiple_of(a.dependencies_bucket_seconds.max(1))
        {
            return Err(ConfigError::Invalid(
                "analytics.dependencies_bucket_seconds must be a multiple of analytics.bucket_seconds and divide a day"
                    .into(),
            ));
        }
        if a.trace_idle_ms == 0 || a.trace_idle_ms > a.trace_max_age_ms {
            return Err(ConfigError::Invalid(
                "analytics.trace_idle_ms must be positive and not above analytics.trace_max_age_ms".into(),
            ));
        }
        if a.max_open_traces == 0 || a.max_spans_per_trace == 0 || a.flush_interval_ms == 0 {
            return Err(ConfigError::Invalid(
                "analytics.max_open_traces, max_spans_per_trace and flush_interval_ms must be at least 1".into(),
            ));
        }
        if a.retry_initial_backoff_ms == 0 || a.retry_initial_backoff_ms > a.retry_max_backoff_ms {
            return Err(ConfigError::Invalid(
                "analytics.retry_initial_backoff_ms must be positive and not above analytics.retry_max_backoff_ms"
                    .into(),
            ));
        }
        if a.group_id == self.ingester.group_id {
            return Err(ConfigError::Invalid("analytics.group_id must differ from ingester.group_id".into()));
        }
        if self.kafka.spans_topic == self.kafka.dlq_topic {
            return Err(ConfigError::Invalid("kafka.dlq_topic must differ from kafka.spans_topic".into()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_example_parses() {
        let yaml = include_str!("../../config/skein.example.yaml");
        let config = SkeinConfig::from_yaml_str(yaml).expect("example config parses");
        assert_eq!(config.kafka.spans_topic, "skein-spans");
    }

    #[test]
    fn container_config_parses() {
        // The Docker image's /etc/skein/skein.yaml: every listener reachable from outside the container.
        let yaml = include_str!("../../config/container.yaml");
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

    /// Every option path of the default configuration, e.g. `kafka.brokers`.
    fn option_paths() -> Vec<String> {
        fn walk(prefix: &str, value: &serde_json::Value, out: &mut Vec<String>) {
            match value {
                serde_json::Value::Object(map) if !prefix.ends_with("librdkafka") => {
                    for (key, child) in map {
                        let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
                        walk(&path, child, out);
                    }
                }
                _ => out.push(prefix.to_string()),
            }
        }
        let mut out = Vec::new();
        walk("", &serde_json::to_value(SkeinConfig::default()).unwrap(), &mut out);
        out
    }

    #[test]
    fn every_option_is_documented_and_in_the_example() {
        let reference = include_str!("../../docs/configuration.md");
        let example = include_str!("../../config/skein.example.yaml");
        for path in option_paths() {
            assert!(reference.contains(&format!("`{path}`")), "docs/configuration.md does not document {path}");
            let leaf = path.rsplit('.').next().unwrap();
            assert!(example.contains(&format!("{leaf}:")), "config/skein.example.yaml lacks {path}");
        }
    }

    #[test]
    fn defaults_are_valid_local_settings() {
        let config = SkeinConfig::default();
        config.validate().expect("defaults validate");
        assert_eq!(config.kafka.brokers, "127.0.0.1:9092");
        assert_eq!(config.collector.otlp_grpc_listen.port(), 4317);
    }

    #[test]
    fn receivers_can_be_turned_off_by_file_or_environment_style_values() {
        let config = SkeinConfig::from_yaml_str(
            "collector:\n  zipkin_listen: off\n  jaeger_grpc_listen: \"\"\n  jaeger_thrift_http_listen: 0.0.0.0:1\n",
        )
        .unwrap();
        assert_eq!(config.collector.zipkin_listen, Listen(None));
        assert_eq!(config.collector.jaeger_grpc_listen, Listen(None));
        assert_eq!(config.collector.jaeger_thrift_http_listen, Listen::at("0.0.0.0:1"));
        let error = SkeinConfig::from_yaml_str("collector:\n  zipkin_listen: nowhere\n").unwrap_err();
        assert!(error.to_string().contains("'nowhere' is not an address"), "{error}");
    }

    #[test]
    fn unknown_field_is_rejected() {
        let err = SkeinConfig::from_yaml_str("kafka:\n  brokerz: x\n").unwrap_err();
        assert!(err.to_string().contains("brokerz"), "{err}");
    }

    #[test]
    fn in_flight_bound_below_request_size_is_rejected() {
        let err = SkeinConfig::from_yaml_str("collector:\n  max_request_bytes: 1000000\n  max_in_flight_bytes: 10\n")
            .unwrap_err();
        assert!(err.to_string().contains("max_in_flight_bytes"), "{err}");
    }

    #[test]
    fn a_list_option_is_set_comma_separated_by_a_flag() {
        let overrides =
            [("query.collector_metrics_urls".to_string(), "http://a/metrics, http://b/metrics".to_string())];
        let config = SkeinConfig::load(None, &overrides).unwrap();
        assert_eq!(config.query.collector_metrics_urls, ["http://a/metrics", "http://b/metrics"]);
    }

    #[test]
    fn override_sets_nested_field() {
        let config =
            SkeinConfig::load(None, &[("kafka.spans_topic".into(), "other".into())]).expect("override applies");
        assert_eq!(config.kafka.spans_topic, "other");
    }
}
