//! Writing a batch to Elasticsearch through core's bulk writer, with the ingester's policy: a
//! service document written once is remembered, a span document Elasticsearch refuses for good
//! sends its record to the DLQ. A batch is finished when every span document is durable or its
//! record went to the DLQ; only then are its records reported done, so no offset is committed
//! past an unindexed span.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use elasticsearch::Elasticsearch;
use skein_core::elasticsearch::bulk::{BlockedWrites, BulkMetrics, BulkWriter};
use skein_core::offsets::{Epoch, TopicPartition};
use skein_schemas::dlq::DeadLetterKind;
use tokio_util::sync::CancellationToken;

use crate::batch::{Batch, ServiceCache};
use crate::dead_letter::DeadLetterQueue;
use crate::retry::Backoff;
use crate::telemetry;

/// Records whose effect is durable: `(partition, epoch, offset)`.
pub type DoneRecords = Vec<(TopicPartition, Epoch, i64)>;

const METRICS: BulkMetrics = BulkMetrics {
    durable: telemetry::documents_indexed,
    latency: telemetry::bulk_latency,
    retrying: |cause| telemetry::bulk_retry(cause.label()),
};

/// Writes batches to Elasticsearch.
#[derive(Clone)]
pub struct BatchWriter {
    bulk: BulkWriter,
    dead_letters: DeadLetterQueue,
    services: Arc<Mutex<ServiceCache>>,
}

impl BatchWriter {
    /// A writer whose writes count in `blocked` while Elasticsearch denies them or refuses their
    /// requests for good.
    pub fn new(client: Elasticsearch, dead_letters: DeadLetterQueue, backoff: Backoff, blocked: BlockedWrites) -> Self {
        let bulk = BulkWriter::new("ingester", client, backoff, METRICS).reporting_blocks(blocked);
        Self { bulk, dead_letters, services: Arc::default() }
    }

    /// Make a batch durable. Returns the records now done, or `None` when shutdown interrupted
    /// the retries (those records stay uncommitted and will be read again).
    pub async fn write(&self, mut batch: Batch, shutdown: &CancellationToken) -> Option<DoneRecords> {
        batch.dedupe_service_documents(&self.services.lock().expect("service cache lock"));
        let refused = self.bulk.write(&batch.documents, shutdown).await.ok()?;
        let mut rejected: BTreeMap<usize, String> = BTreeMap::new();
        let mut durable = vec![true; batch.documents.len()];
        for refused in refused {
            durable[refused.item] = false;
            let doc = &batch.documents[refused.item];
            match doc.record {
                Some(record) => {
                    rejected.entry(record).or_insert(refused.reason);
                }
                None => {
                    tracing::warn!(index = %doc.index, reason = %refused.reason, "service document refused; skipping it")
                }
            }
        }
        {
            let mut services = self.services.lock().expect("service cache lock");
            for (doc, durable) in batch.documents.iter().zip(durable) {
                if durable && doc.record.is_none() {
                    services.insert(&doc.index, &doc.id);
                }
            }
        }
        for (record, reason) in &rejected {
            if !self.dead_letters.send(&batch.records[*record], DeadLetterKind::Rejected, reason, shutdown).await {
                return None;
            }
        }
        Some(batch.records.into_iter().map(|r| (r.tp, r.epoch, r.offset)).collect())
    }
}
