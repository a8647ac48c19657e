//! Buckets and dependencies totals rendered as the Elasticsearch documents of
//! [`skein_schemas::analytics`], with their deterministic ids.

use skein_schemas::analytics::{
    bucket_timestamp, DependenciesDocument, DependencyLink, MetricsDocument, SeriesKind, LINK_SOURCE,
};
use skein_schemas::elasticsearch::IndexNames;
use skein_schemas::span_summary::kind;

use crate::names::Names;
use crate::partition::{Bucket, DependencyTotals, Series, Settings};

/// One document to index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub index: String,
    pub id: String,
    pub body: Vec<u8>,
}

/// Where documents of one partition go.
pub struct Target<'a> {
    pub indices: &'a IndexNames,
    pub topic: &'a str,
    pub partition: i32,
    pub settings: &'a Settings,
}

fn kind_name(k: u8) -> &'static str {
    match kind::jaeger_name(i32::from(k)) {
        "" => "unspecified",
        name => name,
    }
}

impl Target<'_> {
    fn metrics_document(&self, start_ms: i64, series: SeriesKind, names: [&str; 3], s: &Series) -> Document {
        let (service, operation, span_kind, parent, child) = match series {
            SeriesKind::Operation => {
                (names[0].to_string(), Some(names[1].to_string()), Some(names[2].to_string()), None, None)
            }
            SeriesKind::Link => {
                (names[0].to_string(), None, None, Some(names[0].to_string()), Some(names[1].to_string()))
            }
        };
        let doc = MetricsDocument {
            timestamp: bucket_timestamp(start_ms),
            bucket_seconds: (self.settings.bucket_ms / 1000) as u32,
            series,
            service,
            operation,
            span_kind,
            parent,
            child,
            calls: s.calls,
            errors: s.errors,
            duration_sum_nanos: s.sum_nanos,
            duration_min_nanos: s.min_nanos,
            duration_max_nanos: s.max_nanos,
            duration_sketch: s.sketch.clone(),
            topic: self.topic.to_string(),
            partition: self.partition,
        };
        Document {
            index: self.indices.metrics_index(start_ms),
            id: doc.document_id(start_ms),
            body: serde_json::to_vec(&doc).expect("metrics documents serialize"),
        }
    }

    /// Every series of a bucket.
    pub fn bucket_documents(&self, start_ms: i64, bucket: &Bucket, names: &Names, out: &mut Vec<Document>) {
        for ((service, operation, k), series) in &bucket.operations {
            let names = [names.name(*service), names.name(*operation), kind_name(*k)];
            out.push(self.metrics_document(start_ms, SeriesKind::Operation, names, series));
        }
        for ((parent, child), series) in &bucket.links {
            let names = [names.name(*parent), names.name(*child), ""];
            out.push(self.metrics_document(start_ms, SeriesKind::Link, names, series));
        }
    }

    /// The `jaeger-dependencies` document of a dependencies bucket.
    pub fn dependencies_document(&self, totals: &DependencyTotals) -> Document {
        let doc = DependenciesDocument {
            timestamp: bucket_timestamp(totals.start_ms),
            dependencies: totals
                .links
                .iter()
                .map(|((parent, child), (calls, errors))| DependencyLink {
                    parent: parent.clone(),
                    child: child.clone(),
                    call_count: *calls,
                    source: LINK_SOURCE.into(),
                    error_count: *errors,
                })
                .collect(),
            bucket_seconds: (self.settings.dependencies_bucket_ms / 1000) as u32,
            topic: self.topic.to_string(),
            partition: self.partition,
        };
        Document {
            index: self.indices.dependencies_index(totals.start_ms),
            id: doc.document_id(totals.start_ms),
            body: serde_json::to_vec(&doc).expect("dependencies documents serialize"),
        }
    }
}
