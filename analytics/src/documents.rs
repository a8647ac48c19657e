//! Buckets and dependencies totals rendered as the Elasticsearch documents of
//! [`skein_schemas::analytics`], with their deterministic ids.
//!
//! A tenant's documents go to its own indices ([`IndexNames::for_tenant`]), the untenanted ones
//! to the configured names. Ids do not name the tenant: the index does. Tenant index names are
//! disjoint from each other's and from the untenanted ones, so one id in two indices is two
//! documents, and ids of records without the tenant header stay those of releases before tenants.

use skein_schemas::analytics::{
    bucket_timestamp, DependenciesDocument, DependencyLink, MetricsDocument, SeriesKind, LINK_SOURCE,
};
use skein_schemas::elasticsearch::IndexNames;
use skein_schemas::span_kind;
use skein_schemas::tenant::Tenant;

use crate::fence::Fence;
use crate::links::NO_NAME;
use crate::names::Names;
use crate::partition::{Bucket, DependencyTotals, Series, SeriesRef, Settings};

/// One document to index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub index: String,
    pub id: String,
    pub body: Vec<u8>,
    /// The partition owner writing it, whose epoch sets its version; None: unversioned.
    pub fence: Option<Fence>,
}

/// Where documents of one partition go.
pub struct Target<'a> {
    /// The configuration's consumer group (a backfill's too: it rewrites the live documents).
    pub group: &'a str,
    /// The configured index names: those of records without the tenant header, and what each
    /// tenant's are derived from.
    pub indices: &'a IndexNames,
    pub topic: &'a str,
    pub partition: i32,
    pub settings: &'a Settings,
    /// The partition owner's fence every document carries.
    pub fence: Option<Fence>,
}

fn kind_name(k: u8) -> &'static str {
    span_kind::name(span_kind::from_otlp(i32::from(k)))
}

/// The names a series document carries, by series kind.
enum SeriesNames<'a> {
    Operation { service: &'a str, operation: &'a str, span_kind: &'a str },
    Link { parent: &'a str, child: &'a str },
    OperationLink { parent: &'a str, operation: &'a str, child: &'a str, child_operation: &'a str, exemplar: u128 },
}

/// The index names of `tenant` (interned name; empty without the tenant header) under `base`.
/// None for a name that is not a tenant's: only a hand-edited checkpoint holds one, and its
/// documents must not land in the untenanted indices.
pub fn tenant_indices(base: &IndexNames, tenant: &str) -> Option<IndexNames> {
    if tenant.is_empty() {
        return Some(base.clone());
    }
    Tenant::parse(tenant).ok().map(|tenant| base.for_tenant(&tenant))
}

impl Target<'_> {
    fn metrics_document(&self, start_ms: i64, tenant: &str, names: SeriesNames<'_>, s: &Series) -> Option<Document> {
        let index = tenant_indices(self.indices, tenant)?.metrics_index(start_ms);
        let owned = |name: &str| Some(name.to_string());
        let mut doc = MetricsDocument {
            timestamp: bucket_timestamp(start_ms),
            group: self.group.to_string(),
            bucket_seconds: (self.settings.bucket_ms / 1000) as u32,
            series: SeriesKind::Operation,
            service: String::new(),
            operation: None,
            span_kind: None,
            parent: None,
            child: None,
            child_operation: None,
            exemplar_trace_id: None,
            calls: s.calls,
            errors: s.errors,
            duration_sum_nanos: s.sum_nanos,
            duration_min_nanos: s.min_nanos,
            duration_max_nanos: s.max_nanos,
            duration_sketch: s.sketch.clone(),
            topic: self.topic.to_string(),
            partition: self.partition,
        };
        match names {
            SeriesNames::Operation { service, operation, span_kind } => {
                doc.service = service.to_string();
                (doc.operation, doc.span_kind) = (owned(operation), owned(span_kind));
            }
            SeriesNames::Link { parent, child } => {
                doc.series = SeriesKind::Link;
                doc.service = parent.to_string();
                (doc.parent, doc.child) = (owned(parent), owned(child));
            }
            SeriesNames::OperationLink { parent, operation, child, child_operation, exemplar } => {
                doc.series = SeriesKind::OperationLink;
                doc.service = parent.to_string();
                doc.operation = owned(operation);
                (doc.parent, doc.child, doc.child_operation) = (owned(parent), owned(child), owned(child_operation));
                doc.exemplar_trace_id = Some(format!("{exemplar:032x}"));
            }
        }
        Some(Document {
            index,
            id: doc.document_id(start_ms),
            body: serde_json::to_vec(&doc).expect("metrics documents serialize"),
            fence: self.fence,
        })
    }

    /// Every series of a bucket (a final bucket, written whole).
    pub fn bucket_documents(&self, start_ms: i64, bucket: &Bucket, names: &Names, out: &mut Vec<Document>) {
        bucket.for_each_series(|series| out.extend(self.series_document(start_ms, series, names)));
    }

    /// The series of an open bucket changed since its last provisional documents, marked up to
    /// date: unchanged series keep the document already written.
    pub fn changed_documents(&self, start_ms: i64, bucket: &mut Bucket, names: &Names, out: &mut Vec<Document>) {
        bucket.drain_changed(|series| out.extend(self.series_document(start_ms, series, names)));
    }

    fn series_document(&self, start_ms: i64, series: SeriesRef<'_>, names: &Names) -> Option<Document> {
        let tenant = |id: &u32| names.name(*id);
        match series {
            SeriesRef::Operation((t, service, operation, k), series) => {
                let names = SeriesNames::Operation {
                    service: names.name(*service),
                    operation: names.name(*operation),
                    span_kind: kind_name(*k),
                };
                self.metrics_document(start_ms, tenant(t), names, series)
            }
            SeriesRef::Link((t, parent, child), series) => {
                let names = SeriesNames::Link { parent: names.name(*parent), child: names.name(*child) };
                self.metrics_document(start_ms, tenant(t), names, series)
            }
            SeriesRef::OperationLink((t, parent, operation, child, child_operation), link) => {
                let names = SeriesNames::OperationLink {
                    parent: names.name(*parent),
                    operation: names.name(*operation),
                    child: names.name(*child),
                    // A `peer.service` leaf: the peer's operation is not known.
                    child_operation: if *child_operation == NO_NAME { "" } else { names.name(*child_operation) },
                    exemplar: link.exemplar.1,
                };
                self.metrics_document(start_ms, tenant(t), names, &link.series)
            }
        }
    }

    /// The `jaeger-dependencies` documents of a dependencies bucket: one per tenant with links.
    pub fn dependencies_documents(&self, totals: &DependencyTotals, out: &mut Vec<Document>) {
        for tenant in totals.tenants() {
            let Some(indices) = tenant_indices(self.indices, tenant) else { continue };
            let doc = DependenciesDocument {
                timestamp: bucket_timestamp(totals.start_ms),
                dependencies: totals
                    .links_of(tenant)
                    .map(|(parent, child, calls, errors)| DependencyLink {
                        parent: parent.to_string(),
                        child: child.to_string(),
                        call_count: calls,
                        source: LINK_SOURCE.into(),
                        error_count: errors,
                    })
                    .collect(),
                group: self.group.to_string(),
                bucket_seconds: (self.settings.dependencies_bucket_ms / 1000) as u32,
                topic: self.topic.to_string(),
                partition: self.partition,
            };
            out.push(Document {
                index: indices.dependencies_write_target(totals.start_ms),
                id: doc.document_id(totals.start_ms),
                body: serde_json::to_vec(&doc).expect("dependencies documents serialize"),
                fence: self.fence,
            });
        }
    }
}
