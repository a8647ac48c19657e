//! Elasticsearch side of the analytics role: documents written through core's bulk writer
//! (retried until durable) and the checkpoint documents, one per (group, topic, partition,
//! offset), read back by id.

use elasticsearch::{Elasticsearch, GetParts};
use serde::{Deserialize, Serialize};
use skein_core::elasticsearch::bulk::{BulkAction, BulkItem, BulkMetrics, BulkWriter, ItemOutcome};
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

/// Why checkpoints were not saved; none of them may be treated as written.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("shutdown came before the analytics checkpoints were saved")]
    Interrupted,
    #[error(
        "Elasticsearch refused analytics checkpoint {id} in index {index}: {reason} (check that index and its \
         template; analytics stops without committing and resumes from its last saved checkpoint when restarted)"
    )]
    Refused { id: String, index: String, reason: String },
}

/// Writes and reads what analytics keeps in Elasticsearch.
#[derive(Clone)]
pub struct Store {
    client: Elasticsearch,
    bulk: BulkWriter,
    state_index: String,
    backoff: Backoff,
}

/// Id of the checkpoint to resume `partition` at `offset`.
pub fn checkpoint_id(group: &str, topic: &str, partition: i32, offset: i64) -> String {
    format!("{group}:{topic}:{partition}:{offset}")
}

impl BulkItem for Document {
    fn action(&self) -> BulkAction<'_> {
        BulkAction::Index { index: &self.index, id: &self.id, source: &self.body }
    }
}

/// Documents per `_bulk` request.
const BULK_DOCUMENTS: usize = 2000;

const METRICS: BulkMetrics =
    BulkMetrics { durable: telemetry::documents_written, latency: |_| {}, retrying: |_| telemetry::write_retries(1) };

impl Store {
    pub fn new(client: Elasticsearch, state_index: String, backoff: Backoff) -> Self {
        let bulk = BulkWriter::new("analytics", client.clone(), backoff, METRICS).with_max_actions(BULK_DOCUMENTS);
        Self { client, bulk, state_index, backoff }
    }

    /// Index every document, retrying transient failures until they are durable. A document
    /// Elasticsearch refuses for good (a mapping conflict someone else caused) is logged, counted
    /// and skipped: it is derived data, and stopping would stop every partition. False only when
    /// shutdown interrupted the retries.
    pub async fn write(&self, documents: &[Document], shutdown: &CancellationToken) -> bool {
        let Ok(refused) = self.bulk.write(documents, shutdown).await else { return false };
        for refused in refused {
            let doc = &documents[refused.item];
            telemetry::documents_refused(1);
            tracing::error!(index = %doc.index, id = %doc.id, reason = %refused.reason, "elasticsearch refused an analytics document");
        }
        true
    }

    /// Save checkpoints (after the documents they account for are durable). Unlike a derived
    /// document, a refused checkpoint is an error: the offset commit that would point at it must
    /// not happen.
    pub async fn save_checkpoints(
        &self,
        checkpoints: &[(String, StoredCheckpoint)],
        shutdown: &CancellationToken,
    ) -> Result<(), CheckpointError> {
        let documents: Vec<Document> = checkpoints
            .iter()
            .map(|(id, stored)| Document {
                index: self.state_index.clone(),
                id: id.clone(),
                body: serde_json::to_vec(stored).expect("checkpoints serialize"),
            })
            .collect();
        let refused = self.bulk.write(&documents, shutdown).await.map_err(|_| CheckpointError::Interrupted)?;
        match refused.into_iter().next() {
            None => Ok(()),
            Some(refused) => {
                telemetry::documents_refused(1);
                let Document { id, index, .. } = &documents[refused.item];
                Err(CheckpointError::Refused { id: id.clone(), index: index.clone(), reason: refused.reason })
            }
        }
    }

    /// Remove checkpoints no offset commit points at any more (best effort: leftovers are only
    /// unused documents).
    pub async fn delete_checkpoints(&self, ids: &[String]) {
        let deletes = ids.iter().map(|id| BulkAction::Delete { index: &self.state_index, id });
        match self.bulk.send(deletes).await {
            Ok(outcomes) => {
                let left = outcomes.iter().filter(|outcome| **outcome != ItemOutcome::Durable).count();
                if left > 0 {
                    tracing::debug!(left, "cannot delete some old analytics checkpoints; they stay unused");
                }
            }
            Err(error) => tracing::debug!(%error, "cannot delete old analytics checkpoints; they stay unused"),
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

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use axum::extract::State;
    use axum::routing::post;
    use elasticsearch::http::transport::{SingleNodeConnectionPool, TransportBuilder};
    use elasticsearch::http::Url;

    use super::*;
    use crate::partition::{Mark, Settings};

    /// A store whose `_bulk` endpoint always gives `answer`; returns the bodies it was sent.
    async fn store(answer: &'static str) -> (Store, Arc<Mutex<Vec<String>>>) {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let bulk = move |State(requests): State<Arc<Mutex<Vec<String>>>>, body: String| async move {
            requests.lock().unwrap().push(body);
            answer
        };
        let router = axum::Router::new().route("/_bulk", post(bulk)).with_state(requests.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await });
        let client = Elasticsearch::new(TransportBuilder::new(SingleNodeConnectionPool::new(url)).build().unwrap());
        let backoff = Backoff { initial: Duration::from_millis(1), max: Duration::from_millis(2) };
        (Store::new(client, "skein-analytics-state".into(), backoff), requests)
    }

    fn checkpoint(offset: i64) -> (String, StoredCheckpoint) {
        let settings = Settings {
            idle_gap_ms: 1_000,
            max_age_ms: 4_000,
            max_open_traces: 40,
            max_spans_per_trace: 9,
            bucket_ms: 1_000,
            dependencies_bucket_ms: 5_000,
        };
        let checkpoint = PartitionCheckpoint {
            resume: Mark { offset, watermark: 0 },
            finalized_through: 0,
            dependencies: None,
            spanning: Vec::new(),
            settings,
        };
        let stored = StoredCheckpoint { group: "g".into(), topic: "t".into(), partition: 0, checkpoint };
        (checkpoint_id("g", "t", 0, offset), stored)
    }

    const REFUSED: &str = r#"{"errors":true,"items":[{"index":{"status":400,"error":{"type":"document_parsing_exception","reason":"mapping conflict"}}}]}"#;

    #[tokio::test]
    async fn refused_checkpoint_is_an_error_not_a_save() {
        let (store, _) = store(REFUSED).await;
        let saved = store.save_checkpoints(&[checkpoint(7)], &CancellationToken::new()).await;
        match saved {
            Err(CheckpointError::Refused { id, reason, .. }) => {
                assert_eq!(id, "g:t:0:7");
                assert!(reason.contains("mapping conflict"), "{reason}");
            }
            other => panic!("a refused checkpoint must not count as saved: {other:?}"),
        }
    }

    #[tokio::test]
    async fn refused_document_is_skipped() {
        let (store, requests) = store(REFUSED).await;
        let document = Document { index: "skein-metrics-x".into(), id: "1".into(), body: b"{}".to_vec() };
        assert!(store.write(&[document], &CancellationToken::new()).await);
        assert_eq!(requests.lock().unwrap().len(), 1, "a permanent refusal is not retried");
    }

    #[tokio::test]
    async fn checkpoint_interrupted_by_shutdown_is_not_saved() {
        let (store, _) = store(r#"{"errors":true,"items":[{"index":{"status":429}}]}"#).await;
        let shutdown = CancellationToken::new();
        shutdown.cancel();
        let saved = store.save_checkpoints(&[checkpoint(7)], &shutdown).await;
        assert!(matches!(saved, Err(CheckpointError::Interrupted)), "{saved:?}");
    }

    #[tokio::test]
    async fn old_checkpoints_are_deleted_in_one_request() {
        let (store, requests) = store(r#"{"errors":false}"#).await;
        store.delete_checkpoints(&["g:t:0:5".into(), "g:t:0:9".into()]).await;
        store.delete_checkpoints(&[]).await;
        let requests = requests.lock().unwrap().clone();
        assert_eq!(
            requests,
            vec![concat!(
                "{\"delete\":{\"_index\":\"skein-analytics-state\",\"_id\":\"g:t:0:5\"}}\n",
                "{\"delete\":{\"_index\":\"skein-analytics-state\",\"_id\":\"g:t:0:9\"}}\n"
            )]
        );
    }
}
