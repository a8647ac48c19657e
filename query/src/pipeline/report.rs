//! The JSON of `GET /api/skein/pipeline`, as `ui/src/lib/types.ts` (`PipelineReport`) declares it.
//! `skein status` reads it back with the same types.

use serde::{Deserialize, Serialize};

/// The pipeline's own health, read from Kafka, Elasticsearch and the collectors' metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PipelineReport {
    /// When the report was made, RFC 3339 (UTC).
    pub generated_at: String,
    pub kafka: KafkaReport,
    pub elasticsearch: ElasticsearchReport,
    pub analytics: AnalyticsReport,
    pub receivers: ReceiversReport,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KafkaReport {
    pub brokers: String,
    /// False when the spans topic's metadata could not be read.
    pub reachable: bool,
    /// What went wrong, when anything did (the rest of the section is what could be read).
    pub error: Option<String>,
    pub spans_topic: String,
    pub partitions: usize,
    pub groups: Vec<ConsumerGroupReport>,
    pub dead_letters: DeadLetters,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupRole {
    Ingester,
    Analytics,
}

impl GroupRole {
    pub fn as_str(self) -> &'static str {
        match self {
            GroupRole::Ingester => "ingester",
            GroupRole::Analytics => "analytics",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerGroupReport {
    pub group: String,
    pub role: GroupRole,
    /// Kafka's group state: `Stable`, `Empty`, `PreparingRebalance`, `Dead`, ...
    pub state: String,
    pub members: usize,
    pub total_lag: i64,
    pub max_lag_seconds: Option<f64>,
    pub partitions: Vec<PartitionLag>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartitionLag {
    pub partition: i32,
    /// The group's committed offset; `None` when it never committed on this partition.
    pub committed: Option<i64>,
    pub high_watermark: i64,
    /// Records behind: high watermark − committed (− the partition's start when never committed).
    pub lag: i64,
    /// Age of the oldest record not committed yet, s; 0 when caught up, `None` when unreadable.
    pub lag_seconds: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetters {
    pub topic: String,
    /// Records in the topic now (end − start offsets, summed over partitions).
    pub records: i64,
    /// The latest dead letters, newest first, at most [`super::kafka::LATEST_DEAD_LETTERS`].
    pub latest: Vec<DeadLetter>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetter {
    pub partition: i32,
    pub offset: i64,
    /// The dead letter's record time, RFC 3339.
    pub timestamp: String,
    /// `skein.error`.
    pub error: String,
    /// `skein.error-kind`: `decode`, `rejected` or `out_of_range`.
    pub error_kind: String,
    pub origin_partition: Option<i32>,
    pub origin_offset: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ElasticsearchReport {
    /// `elasticsearch.url` without credentials.
    pub url: String,
    pub reachable: bool,
    pub error: Option<String>,
    /// Cluster health: `green`, `yellow` or `red`.
    pub status: Option<String>,
    /// skein's indices (`jaeger-*` and `skein-*` under the prefix), by name.
    pub indices: Vec<IndexReport>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IndexReport {
    pub name: String,
    /// Documents (spans, services, ...), not Lucene's count that includes nested tags and logs.
    pub docs: u64,
    /// Store size, bytes (primaries and replicas).
    pub bytes: u64,
    pub health: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnalyticsReport {
    pub group: String,
    /// Per partition, the watermark of its latest checkpoint.
    pub watermarks: Vec<PartitionWatermark>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartitionWatermark {
    pub partition: i32,
    /// Record time analytics has reached on the partition, RFC 3339; `None` without a checkpoint.
    pub watermark: Option<String>,
    /// Now − watermark, s.
    pub behind_seconds: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceiversReport {
    pub sources: Vec<MetricsSource>,
    /// Counters since each collector started, summed over sources, by transport.
    pub transports: Vec<TransportCounts>,
    pub refused_by_reason: Vec<ReasonCount>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricsSource {
    pub url: String,
    pub reachable: bool,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransportCounts {
    pub transport: String,
    pub received: u64,
    pub accepted: u64,
    /// Received − accepted: invalid, too large, or refused while overloaded or Kafka was down.
    pub refused: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReasonCount {
    pub reason: String,
    pub spans: u64,
}
