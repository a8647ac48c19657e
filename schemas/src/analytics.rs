//! What the analytics role writes to Elasticsearch: Jaeger's dependencies documents (with skein's
//! extra fields) and skein's latency aggregates, with their deterministic ids. A rewrite of the
//! same bucket from the same records produces the same id and the same bytes.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::sketch::DurationSketch;

/// `source` of every link skein writes (spark-dependencies writes `jaeger`).
pub const LINK_SOURCE: &str = "skein";

/// A bucket start as Jaeger writes dependency timestamps: RFC 3339, UTC, whole seconds.
pub fn bucket_timestamp(start_ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(start_ms).unwrap_or_default().to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// One `jaeger-dependencies-YYYY-MM-DD` document: the links of one time bucket of one partition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DependenciesDocument {
    /// Bucket start; Jaeger's reader selects documents by this field.
    pub timestamp: String,
    pub dependencies: Vec<DependencyLink>,
    /// skein: bucket length, and the partition the links come from.
    pub bucket_seconds: u32,
    pub topic: String,
    pub partition: i32,
}

/// A link as Jaeger stores it, plus `errorCount`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DependencyLink {
    pub parent: String,
    pub child: String,
    pub call_count: u64,
    pub source: String,
    /// skein: calls that were errors (span status ERROR or `error=true`).
    pub error_count: u64,
}

impl DependenciesDocument {
    /// One id per (topic, partition, bucket): every writer of that bucket overwrites the same
    /// document, so Jaeger's reader (which adds up `callCount` over documents) never counts twice.
    pub fn document_id(&self, start_ms: i64) -> String {
        format!("{}:{}:{}", self.topic, self.partition, start_ms)
    }
}

/// What a latency series measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SeriesKind {
    /// Spans of one (service, operation, span kind).
    Operation,
    /// Calls over one dependency link, timed on the calling side.
    Link,
}

/// One `skein-metrics-YYYY-MM-DD` document: one series, one time bucket, one partition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricsDocument {
    pub timestamp: String,
    pub bucket_seconds: u32,
    pub series: SeriesKind,
    /// Operation series: the span's service; link series: the parent service.
    pub service: String,
    /// Operation series only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// Operation series only: Jaeger's `span.kind` value, `unspecified` when not set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span_kind: Option<String>,
    /// Link series only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub child: Option<String>,
    pub calls: u64,
    pub errors: u64,
    pub duration_sum_nanos: u64,
    pub duration_min_nanos: u64,
    pub duration_max_nanos: u64,
    pub duration_sketch: DurationSketch,
    pub topic: String,
    pub partition: i32,
}

impl MetricsDocument {
    /// `topic:partition:bucket:series:hash-of-names`, stable across runs and releases.
    pub fn document_id(&self, start_ms: i64) -> String {
        let names: [&str; 3] = match self.series {
            SeriesKind::Operation => {
                [&self.service, self.operation.as_deref().unwrap_or(""), self.span_kind.as_deref().unwrap_or("")]
            }
            SeriesKind::Link => [self.parent.as_deref().unwrap_or(""), self.child.as_deref().unwrap_or(""), ""],
        };
        let mut key = Vec::new();
        for name in names {
            key.extend_from_slice(name.as_bytes());
            key.push(0);
        }
        let series = match self.series {
            SeriesKind::Operation => "op",
            SeriesKind::Link => "link",
        };
        format!("{}:{}:{}:{}:{:016x}", self.topic, self.partition, start_ms, series, xxhash_rust::xxh3::xxh3_64(&key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_jaeger_style_rfc3339() {
        assert_eq!(bucket_timestamp(1_700_000_040_000), "2023-11-14T22:14:00Z");
    }

    #[test]
    fn dependencies_document_has_jaeger_fields_and_ours() {
        let doc = DependenciesDocument {
            timestamp: bucket_timestamp(0),
            dependencies: vec![DependencyLink {
                parent: "a".into(),
                child: "b".into(),
                call_count: 3,
                source: LINK_SOURCE.into(),
                error_count: 1,
            }],
            bucket_seconds: 900,
            topic: "t".into(),
            partition: 2,
        };
        let json = serde_json::to_value(&doc).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"timestamp":"1970-01-01T00:00:00Z","dependencies":[{"parent":"a","child":"b",
                "callCount":3,"source":"skein","errorCount":1}],"bucketSeconds":900,"topic":"t","partition":2})
        );
        assert_eq!(doc.document_id(0), "t:2:0");
    }

    #[test]
    fn metric_ids_differ_by_series_and_agree_across_calls() {
        let mut doc = MetricsDocument {
            timestamp: bucket_timestamp(60_000),
            bucket_seconds: 60,
            series: SeriesKind::Operation,
            service: "a".into(),
            operation: Some("op".into()),
            span_kind: Some("server".into()),
            parent: None,
            child: None,
            calls: 1,
            errors: 0,
            duration_sum_nanos: 5,
            duration_min_nanos: 5,
            duration_max_nanos: 5,
            duration_sketch: DurationSketch::new(),
            topic: "t".into(),
            partition: 0,
        };
        let first = doc.document_id(60_000);
        assert_eq!(first, doc.clone().document_id(60_000));
        doc.span_kind = Some("client".into());
        assert_ne!(first, doc.document_id(60_000));
    }
}
