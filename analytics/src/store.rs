//! Elasticsearch side of the analytics role: bulk writes of documents (retried until durable) and
//! the checkpoint documents, one per (group, topic, partition, offset), read back by id.

use bytes_body::ndjson;
use elasticsearch::{BulkParts, Elasticsearch, GetParts};
use serde::{Deserialize, Serialize};
use skein_core::retry::Backoff;
use tokio_util::sync::CancellationToken;

use crate::documents::Document;
use crate::partition::PartitionCheckpoint;
use crate::telemetry;

/// A checkpoint as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredCheckpoint {
    pub group: String,
    pub topic: String,
    pub partition: i32,
    pub checkpoint: PartitionCheckpoint,
}

/// Writes and reads what analytics keeps in Elasticsearch.
#[derive(Clone)]
pub struct Store {
    client: Elasticsearch,
    state_index: String,
    backoff: Backoff,
}

/// Id of the checkpoint to resume `partition` at `offset`.
pub fn checkpoint_id(group: &str, topic: &str, partition: i32, offset: i64) -> String {
    format!("{group}:{topic}:{partition}:{offset}")
}

mod bytes_body {
    use crate::documents::Document;

    /// `_bulk` body: an action line and a source line per document (`delete`: action only).
    pub fn ndjson(documents: &[&Document], deletes: &[(&str, &str)]) -> Vec<u8> {
        let mut body = Vec::new();
        for doc in documents {
            let action = serde_json::json!({ "index": { "_index": doc.index, "_id": doc.id } });
            serde_json::to_writer(&mut body, &action).expect("action serializes");
            body.push(b'\n');
            body.extend_from_slice(&doc.body);
            body.push(b'\n');
        }
        for (index, id) in deletes {
            let action = serde_json::json!({ "delete": { "_index": index, "_id": id } });
            serde_json::to_writer(&mut body, &action).expect("action serializes");
            body.push(b'\n');
        }
        body
    }
}

/// Documents per `_bulk` request.
const BULK_DOCUMENTS: usize = 2000;

fn retryable(status: u64) -> bool {
    status == 429 || status == 408 || status >= 500
}

impl Store {
    pub fn new(client: Elasticsearch, state_index: String, backoff: Backoff) -> Self {
        Self { client, state_index, backoff }
    }

    /// Index every document, retrying transient failures until they are durable. A document
    /// Elasticsearch refuses for good (a mapping conflict someone else caused) is logged, counted
    /// and skipped: it is derived data, and stopping would stop every partition. False only when
    /// shutdown interrupted the retries.
    pub async fn write(&self, documents: &[Document], shutdown: &CancellationToken) -> bool {
        let mut pending: Vec<&Document> = documents.iter().collect();
        let mut attempt = 0;
        while !pending.is_empty() {
            let mut retry = Vec::new();
            for chunk in pending.chunks(BULK_DOCUMENTS) {
                match self.bulk(chunk, &[]).await {
                    Ok(statuses) => {
                        for (doc, (status, reason)) in chunk.iter().zip(statuses) {
                            if status < 300 {
                                telemetry::documents_written(1);
                            } else if retryable(status) {
                                retry.push(*doc);
                            } else {
                                telemetry::documents_refused(1);
                                tracing::error!(index = %doc.index, id = %doc.id, %reason, "elasticsearch refused an analytics document");
                            }
                        }
                    }
                    Err(error) => {
                        tracing::warn!(%error, attempt, documents = chunk.len(), "analytics bulk write failed; retrying");
                        retry.extend_from_slice(chunk);
                    }
                }
            }
            pending = retry;
            if !pending.is_empty() {
                telemetry::write_retries(1);
                if !self.backoff.wait(attempt, shutdown).await {
                    return false;
                }
                attempt += 1;
            }
        }
        true
    }

    /// One `_bulk` request; per item (status, error reason).
    async fn bulk(&self, documents: &[&Document], deletes: &[(&str, &str)]) -> Result<Vec<(u64, String)>, String> {
        let response = self
            .client
            .bulk(BulkParts::None)
            .filter_path(&["errors", "items.*.status", "items.*.error.reason"])
            .body(vec![ndjson(documents, deletes)])
            .send()
            .await
            .map_err(|error| error.to_string())?;
        let status = response.status_code().as_u16();
        if status >= 300 {
            let text = response.text().await.unwrap_or_default();
            return Err(format!("HTTP {status}: {}", text.chars().take(300).collect::<String>()));
        }
        let body: serde_json::Value = response.json().await.map_err(|error| error.to_string())?;
        if body["errors"] == false {
            return Ok(vec![(200, String::new()); documents.len() + deletes.len()]);
        }
        let items = body["items"].as_array().cloned().unwrap_or_default();
        Ok(items
            .iter()
            .map(|item| {
                let result = item.as_object().and_then(|o| o.values().next()).cloned().unwrap_or_default();
                (result["status"].as_u64().unwrap_or(500), result["error"]["reason"].as_str().unwrap_or("").to_string())
            })
            .collect())
    }

    /// Save checkpoints (after the documents they account for are durable).
    pub async fn save_checkpoints(
        &self,
        checkpoints: &[(String, StoredCheckpoint)],
        shutdown: &CancellationToken,
    ) -> bool {
        let documents: Vec<Document> = checkpoints
            .iter()
            .map(|(id, stored)| Document {
                index: self.state_index.clone(),
                id: id.clone(),
                body: serde_json::to_vec(stored).expect("checkpoints serialize"),
            })
            .collect();
        self.write(&documents, shutdown).await
    }

    /// Remove checkpoints no offset commit points at any more (best effort: leftovers are only
    /// unused documents).
    pub async fn delete_checkpoints(&self, ids: &[String]) {
        if ids.is_empty() {
            return;
        }
        let deletes: Vec<(&str, &str)> = ids.iter().map(|id| (self.state_index.as_str(), id.as_str())).collect();
        if let Err(error) = self.bulk(&[], &deletes).await {
            tracing::debug!(%error, "cannot delete old analytics checkpoints; they stay unused");
        }
    }

    /// The checkpoint stored under `id`, if any (a realtime GET: no refresh needed).
    pub async fn load_checkpoint(&self, id: &str, shutdown: &CancellationToken) -> Option<StoredCheckpoint> {
        let mut attempt = 0;
        loop {
            let result = self.client.get(GetParts::IndexId(&self.state_index, id)).send().await;
            match result {
                Ok(response) if response.status_code().as_u16() == 404 => return None,
                Ok(response) if response.status_code().is_success() => {
                    let body: serde_json::Value = response.json().await.unwrap_or_default();
                    match serde_json::from_value(body["_source"].clone()) {
                        Ok(stored) => return Some(stored),
                        Err(error) => {
                            tracing::warn!(%error, id, "unreadable analytics checkpoint; starting without it");
                            return None;
                        }
                    }
                }
                Ok(response) => {
                    tracing::warn!(status = response.status_code().as_u16(), id, "cannot read checkpoint; retrying")
                }
                Err(error) => tracing::warn!(%error, id, "cannot read checkpoint; retrying"),
            }
            if !self.backoff.wait(attempt, shutdown).await {
                return None;
            }
            attempt += 1;
        }
    }
}
