//! What the analytics role writes to Elasticsearch: Jaeger's dependencies documents (with skein's
//! extra fields) and skein's latency aggregates, with their deterministic ids. A rewrite of the
//! same bucket from the same records produces the same id and the same bytes.
//!
//! Ids start with the writing configuration: its consumer group and its bucket width. Two
//! configurations sharing an index prefix (another group, or another bucket width) write
//! documents of their own instead of overwriting each other's; the `group` field lets readers
//! keep to one configuration's documents.

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
    /// skein: the consumer group that computed the links, the bucket length, and the partition
    /// the links come from.
    pub group: String,
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
    /// Read as empty when absent: not every writer of Jaeger's index names itself.
    #[serde(default)]
    pub source: String,
    /// skein: calls that were errors (span status ERROR or `error=true`); 0 in the links of other
    /// writers (Jaeger's spark-dependencies), which do not count errors.
    #[serde(default)]
    pub error_count: u64,
}

/// The links of one `jaeger-dependencies-*` document as a reader takes them, whoever wrote it:
/// Jaeger's spark-dependencies writes only `timestamp` and `dependencies`, none of skein's fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct DependencyLinks {
    #[serde(default)]
    pub dependencies: Vec<DependencyLink>,
}

impl DependenciesDocument {
    /// One id per (group, bucket width, topic, partition, bucket): every writer of that bucket in
    /// one configuration overwrites the same document, so Jaeger's reader (which adds up
    /// `callCount` over documents) never counts a configuration's bucket twice.
    pub fn document_id(&self, start_ms: i64) -> String {
        format!("{}:{}:{}:{}:{}", self.group, self.bucket_seconds, self.topic, self.partition, start_ms)
    }
}

/// What a latency series measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeriesKind {
    /// Spans of one (service, operation, span kind).
    Operation,
    /// Calls over one dependency link, timed on the calling side.
    Link,
    /// Calls over one operation-level link (parent service:operation → child
    /// service:operation), counted and timed like [`SeriesKind::Link`]; `operation_link`.
    OperationLink,
}

impl SeriesKind {
    /// The series' name in document ids.
    fn id_tag(self) -> &'static str {
        match self {
            SeriesKind::Operation => "op",
            SeriesKind::Link => "link",
            SeriesKind::OperationLink => "oplink",
        }
    }
}

/// One `skein-metrics-YYYY-MM-DD` document: one series, one time bucket, one partition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricsDocument {
    pub timestamp: String,
    /// The consumer group that computed the series.
    pub group: String,
    pub bucket_seconds: u32,
    pub series: SeriesKind,
    /// Operation series: the span's service; link and operation link series: the parent service.
    pub service: String,
    /// Operation series: the span's name; operation link series: the parent span's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// Operation series only: Jaeger's `span.kind` value, `unspecified` when not set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span_kind: Option<String>,
    /// Link and operation link series: the parent and child services.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub child: Option<String>,
    /// Operation link series only: the child span's name; empty for a `peer.service` leaf,
    /// whose peer's operation is not known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub child_operation: Option<String>,
    /// Operation link series only: the trace of the bucket's slowest call (32 hex characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exemplar_trace_id: Option<String>,
    pub calls: u64,
    pub errors: u64,
    pub duration_sum_nanos: u64,
    pub duration_min_nanos: u64,
    pub duration_max_nanos: u64,
    pub duration_sketch: DurationSketch,
    pub topic: String,
    pub partition: i32,
}

/// A [`MetricsDocument`] as a reader gets it back: a search may select only some fields
/// (Elasticsearch's `_source` filter), so any may be missing; counts then read as 0.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MetricsFields {
    pub timestamp: Option<String>,
    pub service: Option<String>,
    pub operation: Option<String>,
    pub span_kind: Option<String>,
    pub parent: Option<String>,
    pub child: Option<String>,
    pub child_operation: Option<String>,
    pub exemplar_trace_id: Option<String>,
    pub calls: u64,
    pub errors: u64,
    pub duration_max_nanos: u64,
    pub duration_sketch: Option<DurationSketch>,
}

impl MetricsDocument {
    /// `group:bucket-seconds:topic:partition:bucket:series:hash-of-names`, stable across runs.
    pub fn document_id(&self, start_ms: i64) -> String {
        let name = |field: &Option<String>| field.as_deref().unwrap_or("").to_string();
        // The existing series hash three names (the link's third is empty); keep their ids.
        let names: Vec<String> = match self.series {
            SeriesKind::Operation => vec![self.service.clone(), name(&self.operation), name(&self.span_kind)],
            SeriesKind::Link => vec![name(&self.parent), name(&self.child), String::new()],
            SeriesKind::OperationLink => {
                vec![self.service.clone(), name(&self.operation), name(&self.child), name(&self.child_operation)]
            }
        };
        let mut key = Vec::new();
        for name in names {
            key.extend_from_slice(name.as_bytes());
            key.push(0);
        }
        let series = self.series.id_tag();
        let hash = xxhash_rust::xxh3::xxh3_64(&key);
        let (group, width, topic, partition) = (&self.group, self.bucket_seconds, &self.topic, self.partition);
        format!("{group}:{width}:{topic}:{partition}:{start_ms}:{series}:{hash:016x}")
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
            group: "g".into(),
            bucket_seconds: 900,
            topic: "t".into(),
            partition: 2,
        };
        let json = serde_json::to_value(&doc).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"timestamp":"1970-01-01T00:00:00Z","dependencies":[{"parent":"a","child":"b",
                "callCount":3,"source":"skein","errorCount":1}],"group":"g","bucketSeconds":900,"topic":"t",
                "partition":2})
        );
        assert_eq!(doc.document_id(0), "g:900:t:2:0");
        let other_group = DependenciesDocument { group: "h".into(), ..doc.clone() };
        let other_width = DependenciesDocument { bucket_seconds: 60, ..doc.clone() };
        assert_ne!(doc.document_id(0), other_group.document_id(0), "another group writes its own document");
        assert_ne!(doc.document_id(0), other_width.document_id(0), "another bucket width writes its own document");
    }

    #[test]
    fn dependency_links_read_from_skein_and_from_jaegers_own_writer() {
        let skein = serde_json::json!({"timestamp": "1970-01-01T00:00:00Z", "bucketSeconds": 900, "topic": "t",
            "partition": 2, "dependencies": [{"parent": "a", "child": "b", "callCount": 3, "source": "skein",
            "errorCount": 1}]});
        let links: DependencyLinks = serde_json::from_value(skein).unwrap();
        assert_eq!((links.dependencies[0].call_count, links.dependencies[0].error_count), (3, 1));
        let spark = serde_json::json!({"timestamp": "1970-01-01T00:00:00Z",
            "dependencies": [{"parent": "a", "child": "b", "callCount": 5}]});
        let links: DependencyLinks = serde_json::from_value(spark).unwrap();
        let link = &links.dependencies[0];
        assert_eq!((link.parent.as_str(), link.child.as_str(), link.call_count, link.error_count), ("a", "b", 5, 0));
        assert!(
            serde_json::from_value::<DependencyLinks>(serde_json::json!({"dependencies": [{"parent": "a"}]})).is_err()
        );
    }

    #[test]
    fn metrics_fields_read_what_the_writer_wrote_and_default_what_a_search_left_out() {
        let mut sketch = DurationSketch::new();
        sketch.add(1_000);
        let written = MetricsDocument {
            timestamp: bucket_timestamp(60_000),
            group: "g".into(),
            bucket_seconds: 60,
            series: SeriesKind::OperationLink,
            service: "a".into(),
            operation: Some("GET /".into()),
            span_kind: Some("client".into()),
            parent: Some("a".into()),
            child: Some("b".into()),
            child_operation: Some("GET /b".into()),
            exemplar_trace_id: Some("ab".repeat(16)),
            calls: 4,
            errors: 1,
            duration_sum_nanos: 9,
            duration_min_nanos: 1,
            duration_max_nanos: 7,
            duration_sketch: sketch.clone(),
            topic: "t".into(),
            partition: 0,
        };
        let read: MetricsFields = serde_json::from_value(serde_json::to_value(&written).unwrap()).unwrap();
        assert_eq!(
            read,
            MetricsFields {
                timestamp: Some(written.timestamp.clone()),
                service: Some("a".into()),
                operation: Some("GET /".into()),
                span_kind: Some("client".into()),
                parent: Some("a".into()),
                child: Some("b".into()),
                child_operation: Some("GET /b".into()),
                exemplar_trace_id: Some("ab".repeat(16)),
                calls: 4,
                errors: 1,
                duration_max_nanos: 7,
                duration_sketch: Some(sketch),
            }
        );
        let selected: MetricsFields = serde_json::from_value(serde_json::json!({"service": "a", "calls": 2})).unwrap();
        assert_eq!(selected, MetricsFields { service: Some("a".into()), calls: 2, ..Default::default() });
    }

    #[test]
    fn metric_ids_differ_by_series_and_agree_across_calls() {
        let mut doc = MetricsDocument {
            timestamp: bucket_timestamp(60_000),
            group: "g".into(),
            bucket_seconds: 60,
            series: SeriesKind::Operation,
            service: "a".into(),
            operation: Some("op".into()),
            span_kind: Some("server".into()),
            parent: None,
            child: None,
            child_operation: None,
            exemplar_trace_id: None,
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
        let other_group = MetricsDocument { group: "h".into(), ..doc.clone() };
        let other_width = MetricsDocument { bucket_seconds: 10, ..doc.clone() };
        assert_ne!(first, other_group.document_id(60_000), "another group writes its own series");
        assert_ne!(first, other_width.document_id(60_000), "another bucket width writes its own series");
        doc.span_kind = Some("client".into());
        assert_ne!(first, doc.document_id(60_000));
    }

    #[test]
    fn operation_link_ids_name_both_operations_and_link_names_hash_as_before() {
        let link = MetricsDocument {
            timestamp: bucket_timestamp(60_000),
            group: "g".into(),
            bucket_seconds: 60,
            series: SeriesKind::Link,
            service: "a".into(),
            operation: None,
            span_kind: None,
            parent: Some("a".into()),
            child: Some("b".into()),
            child_operation: None,
            exemplar_trace_id: None,
            calls: 1,
            errors: 0,
            duration_sum_nanos: 5,
            duration_min_nanos: 5,
            duration_max_nanos: 5,
            duration_sketch: DurationSketch::new(),
            topic: "t".into(),
            partition: 0,
        };
        // A link's names hash as they did before operation links existed.
        let key = b"a\0b\0\0";
        assert_eq!(link.document_id(60_000), format!("g:60:t:0:60000:link:{:016x}", xxhash_rust::xxh3::xxh3_64(key)));

        let mut op_link = MetricsDocument {
            series: SeriesKind::OperationLink,
            operation: Some("GET /dispatch".into()),
            child_operation: Some("GET /customer".into()),
            exemplar_trace_id: Some(format!("{:032x}", 7)),
            ..link.clone()
        };
        let id = op_link.document_id(60_000);
        assert!(id.starts_with("g:60:t:0:60000:oplink:"), "{id}");
        op_link.child_operation = Some(String::new());
        assert_ne!(id, op_link.document_id(60_000), "the child operation is part of the id");
        op_link.child_operation = Some("GET /customer".into());
        op_link.exemplar_trace_id = None;
        assert_eq!(id, op_link.document_id(60_000), "the exemplar is not part of the id");

        let json = serde_json::to_value(&op_link).unwrap();
        assert_eq!(json["series"], "operation_link");
        assert_eq!(json["childOperation"], "GET /customer");
        assert_eq!(serde_json::to_value(&link).unwrap()["series"], "link");
        let back: MetricsDocument = serde_json::from_value(json).unwrap();
        assert_eq!(back, op_link);
    }
}
