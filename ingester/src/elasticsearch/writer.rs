//! The bulk writer: sends a batch and keeps retrying what Elasticsearch has not made durable.
//! A batch is finished when every span document is durable or its record went to the DLQ; only
//! then are its records reported done, so no offset is committed past an unindexed span.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use elasticsearch::{BulkParts, Elasticsearch};
use skein_core::offsets::{Epoch, TopicPartition};
use skein_schemas::dlq::DeadLetterKind;
use tokio_util::sync::CancellationToken;

use super::response::{item_outcomes, request_is_retryable, ItemOutcome};
use crate::batch::{Batch, Document, ServiceCache};
use crate::dead_letter::DeadLetterQueue;
use crate::retry::Backoff;
use crate::telemetry;

/// Records whose effect is durable: `(partition, epoch, offset)`.
pub type DoneRecords = Vec<(TopicPartition, Epoch, i64)>;

/// Writes batches to Elasticsearch.
#[derive(Clone)]
pub struct BulkWriter {
    client: Elasticsearch,
    dead_letters: DeadLetterQueue,
    backoff: Backoff,
    services: Arc<Mutex<ServiceCache>>,
}

impl BulkWriter {
    pub fn new(client: Elasticsearch, dead_letters: DeadLetterQueue, backoff: Backoff) -> Self {
        Self { client, dead_letters, backoff, services: Arc::default() }
    }

    /// Make a batch durable. Returns the records now done, or `None` when shutdown interrupted
    /// the retries (those records stay uncommitted and will be read again).
    pub async fn write(&self, mut batch: Batch, shutdown: &CancellationToken) -> Option<DoneRecords> {
        batch.dedupe_service_documents(&self.services.lock().expect("service cache lock"));
        let mut pending: Vec<&Document> = batch.documents.iter().collect();
        let mut rejected: BTreeMap<usize, String> = BTreeMap::new();
        let mut attempt = 0u32;
        while !pending.is_empty() {
            match self.send(&pending).await {
                Ok(outcomes) => {
                    let mut retry = Vec::new();
                    let mut durable = 0u64;
                    for (doc, outcome) in pending.iter().zip(outcomes) {
                        match outcome {
                            ItemOutcome::Durable => {
                                durable += 1;
                                if doc.record.is_none() {
                                    self.services.lock().expect("service cache lock").insert(&doc.index, &doc.id);
                                }
                            }
                            ItemOutcome::Transient(_) => retry.push(*doc),
                            ItemOutcome::Permanent(reason) => match doc.record {
                                Some(record) => {
                                    rejected.entry(record).or_insert(reason);
                                }
                                None => {
                                    tracing::warn!(index = %doc.index, %reason, "service document refused; skipping it")
                                }
                            },
                        }
                    }
                    telemetry::documents_indexed(durable);
                    if !retry.is_empty() {
                        telemetry::bulk_retry("items");
                        tracing::warn!(
                            documents = retry.len(),
                            attempt,
                            "elasticsearch refused documents for now; retrying them"
                        );
                    }
                    pending = retry;
                }
                Err(error) => {
                    telemetry::bulk_retry(error.cause());
                    tracing::warn!(error = %error.message(), attempt, documents = pending.len(), "bulk request failed; retrying");
                }
            }
            if !pending.is_empty() {
                if !self.backoff.wait(attempt, shutdown).await {
                    return None;
                }
                attempt += 1;
            }
        }
        for (record, reason) in &rejected {
            if !self.dead_letters.send(&batch.records[*record], DeadLetterKind::Rejected, reason, shutdown).await {
                return None;
            }
        }
        Some(batch.records.into_iter().map(|r| (r.tp, r.epoch, r.offset)).collect())
    }

    async fn send(&self, documents: &[&Document]) -> Result<Vec<ItemOutcome>, SendError> {
        let body = Bytes::from(Batch::ndjson(documents));
        let started = Instant::now();
        let response = self
            .client
            .bulk(BulkParts::None)
            .filter_path(&["errors", "items.*.status", "items.*.error.type", "items.*.error.reason"])
            .body(vec![body])
            .send()
            .await
            .map_err(|error| SendError::Transport(error.to_string()))?;
        let status = response.status_code().as_u16();
        if status >= 300 {
            let text = response.text().await.unwrap_or_default();
            let message = format!("bulk request refused with HTTP {status}: {}", truncate(&text, 500));
            return Err(if request_is_retryable(status) {
                SendError::Status(message)
            } else {
                SendError::Refused(message)
            });
        }
        let body: serde_json::Value = response
            .json()
            .await
            .map_err(|error| SendError::Transport(format!("unreadable bulk response: {error}")))?;
        telemetry::bulk_latency(started.elapsed());
        // With filter_path, an all-success response may omit `items` entirely.
        if body.get("errors").and_then(|e| e.as_bool()) == Some(false) {
            return Ok(vec![ItemOutcome::Durable; documents.len()]);
        }
        item_outcomes(&body, documents.len()).map_err(SendError::Transport)
    }
}

#[derive(Debug)]
enum SendError {
    Transport(String),
    Status(String),
    /// A whole request refused with a non-retryable status: a bug on our side or a proxy; retried
    /// all the same, since dropping the batch would lose spans.
    Refused(String),
}

impl SendError {
    fn cause(&self) -> &'static str {
        match self {
            SendError::Transport(_) => "transport",
            SendError::Status(_) | SendError::Refused(_) => "status",
        }
    }

    fn message(&self) -> &str {
        match self {
            SendError::Transport(m) | SendError::Status(m) | SendError::Refused(m) => m,
        }
    }
}

fn truncate(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}
