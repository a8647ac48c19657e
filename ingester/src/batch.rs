//! Bulk batches: the documents of several records, and which records they came from, so a batch
//! that became durable can mark exactly those records done.

use skein_core::elasticsearch::bulk::{BulkAction, BulkItem};
use skein_core::offsets::{Epoch, TopicPartition};
use skein_schemas::elasticsearch::IndexNames;
use skein_schemas::jaeger::{fnv1a64, ConvertedSpan};

/// Where a record came from, and its original bytes for the DLQ.
#[derive(Debug, Clone)]
pub struct RecordOrigin {
    pub tp: TopicPartition,
    pub epoch: Epoch,
    pub offset: i64,
    pub timestamp: Option<i64>,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    /// The record's encoding header, when present.
    pub encoding: Option<String>,
    /// The record's tenant header (`skein.tenant`) as sent, when present.
    pub tenant: Option<String>,
}

/// One bulk action line plus its source line.
#[derive(Debug, Clone)]
pub struct Document {
    pub index: String,
    pub id: String,
    pub body: Vec<u8>,
    /// Index into [`Batch::records`]; `None` for service documents, which belong to no record.
    pub record: Option<usize>,
}

impl BulkItem for Document {
    fn action(&self) -> BulkAction<'_> {
        BulkAction::Index { index: &self.index, id: &self.id, source: &self.body }
    }
}

/// Documents headed for one `_bulk` request.
#[derive(Debug, Default)]
pub struct Batch {
    pub records: Vec<RecordOrigin>,
    pub documents: Vec<Document>,
    /// (UTC day, service/operation hash) pairs already in `documents`, so the service document of
    /// a pair is built once per batch rather than once per span.
    services: std::collections::HashSet<(u64, u64)>,
}

const MICROS_PER_DAY: u64 = 86_400_000_000;

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Add a decoded record's spans (and their service documents).
    pub fn add(&mut self, origin: RecordOrigin, spans: Vec<ConvertedSpan>, names: &IndexNames) {
        let record = self.records.len();
        self.records.push(origin);
        for span in spans {
            let service_key = (
                span.start_time_micros / MICROS_PER_DAY,
                fnv1a64(&[span.service.service_name.as_bytes(), span.service.operation_name.as_bytes()]),
            );
            if self.services.insert(service_key) {
                let service = Document {
                    index: names.service_write_target(span.start_time_micros),
                    id: span.service.document_id(),
                    body: serde_json::to_vec(&span.service).expect("service documents always serialize"),
                    record: None,
                };
                self.documents.push(service);
            }
            let document = Document {
                index: names.span_write_target(span.start_time_micros),
                id: span.document_id,
                body: span.body,
                record: Some(record),
            };
            self.documents.push(document);
        }
    }

    /// Number of documents, which with [`Batch::bytes`] decides when to flush.
    pub fn len(&self) -> usize {
        self.documents.len()
    }

    /// Remove service documents already written (per `seen`).
    pub fn dedupe_service_documents(&mut self, seen: &ServiceCache) {
        self.documents.retain(|doc| doc.record.is_some() || !seen.contains(&doc.index, &doc.id));
    }
}

/// Service documents already durable, so each `(index, id)` is written about once a day rather
/// than once per span. Bounded: cleared when full.
#[derive(Debug, Default)]
pub struct ServiceCache {
    written: std::collections::HashSet<(String, String)>,
}

const SERVICE_CACHE_LIMIT: usize = 100_000;

impl ServiceCache {
    pub fn contains(&self, index: &str, id: &str) -> bool {
        self.written.contains(&(index.to_string(), id.to_string()))
    }

    pub fn insert(&mut self, index: &str, id: &str) {
        if self.written.len() >= SERVICE_CACHE_LIMIT {
            self.written.clear();
        }
        self.written.insert((index.to_string(), id.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use skein_schemas::jaeger::ServiceDocument;

    fn span(id: &str, service: &str) -> ConvertedSpan {
        ConvertedSpan {
            body: br#"{"x":1}"#.to_vec(),
            document_id: id.into(),
            start_time_micros: 1_700_000_000_000_000,
            service: ServiceDocument { service_name: service.into(), operation_name: "op".into() },
        }
    }

    fn origin(offset: i64) -> RecordOrigin {
        RecordOrigin {
            tp: ("t".into(), 0),
            epoch: 1,
            offset,
            timestamp: None,
            key: None,
            value: None,
            encoding: None,
            tenant: None,
        }
    }

    #[test]
    fn service_documents_are_written_once_per_batch_and_cache() {
        let names = IndexNames::new("");
        let mut batch = Batch::default();
        batch.add(origin(0), vec![span("a", "svc"), span("b", "svc")], &names);
        batch.add(origin(1), vec![span("c", "other")], &names);
        let mut cache = ServiceCache::default();
        cache.insert(
            "jaeger-service-2023-11-14",
            &ServiceDocument { service_name: "other".into(), operation_name: "op".into() }.document_id(),
        );
        batch.dedupe_service_documents(&cache);
        let services: Vec<_> = batch.documents.iter().filter(|d| d.record.is_none()).collect();
        assert_eq!(services.len(), 1, "svc once; other already cached");
        assert_eq!(batch.documents.iter().filter(|d| d.record.is_some()).count(), 3);
    }

    #[test]
    fn span_document_is_indexed_under_its_daily_index_and_id() {
        let names = IndexNames::new("p");
        let mut batch = Batch::default();
        batch.add(origin(0), vec![span("a", "svc")], &names);
        let span = batch.documents.iter().find(|d| d.record.is_some()).unwrap();
        assert_eq!(
            span.action(),
            BulkAction::Index { index: "p-jaeger-span-2023-11-14", id: "a", source: br#"{"x":1}"# }
        );
    }
}
