//! Elasticsearch side of the analytics role: documents written through core's bulk writer
//! (retried until durable), the checkpoint documents, one per (group, topic, partition, offset),
//! read back by id, and each partition's owner document, whose epoch fences older owners' writes
//! (see [`crate::fence`]).

use std::collections::BTreeSet;

use elasticsearch::params::OpType;
use elasticsearch::{Elasticsearch, GetParts, IndexParts};
use serde::{Deserialize, Serialize};
use skein_core::elasticsearch::bulk::{
    request_is_retryable, BulkAction, BulkItem, BulkMetrics, BulkWriter, Interrupted, ItemOutcome,
};
use skein_core::retry::Backoff;
use tokio_util::sync::CancellationToken;

use crate::documents::Document;
use crate::fence::{document_version, owner_id, Fence, Owner};
use crate::partition::PartitionCheckpoint;
use crate::telemetry;

/// A checkpoint as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredCheckpoint {
    pub group: String,
    pub topic: String,
    pub partition: i32,
    /// The epoch of the owner that saved it; 0 in checkpoints of releases before fencing.
    #[serde(default)]
    pub epoch: u64,
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

/// Why a partition's ownership was not taken.
#[derive(Debug, thiserror::Error)]
pub enum OwnerError {
    #[error("shutdown came before the analytics partition's ownership was taken")]
    Interrupted,
    #[error(
        "Elasticsearch refused the analytics owner document {id} in index {index}: {reason} (check that index \
         and its template; without it analytics cannot fence its writes, so it stops)"
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
        let (index, id, source) = (self.index.as_str(), self.id.as_str(), self.body.as_slice());
        match self.fence {
            Some(fence) => BulkAction::IndexAtVersion { index, id, source, version: document_version(fence.epoch) },
            None => BulkAction::Index { index, id, source },
        }
    }
}

/// Documents per `_bulk` request.
const BULK_DOCUMENTS: usize = 2000;

const METRICS: BulkMetrics =
    BulkMetrics { durable: telemetry::documents_written, latency: |_| {}, retrying: |_| telemetry::write_retries(1) };

/// A stored document read by id: its source and what a compare-and-set of it needs.
struct Versioned {
    source: serde_json::Value,
    seq_no: i64,
    primary_term: i64,
}

impl Store {
    pub fn new(client: Elasticsearch, state_index: String, backoff: Backoff) -> Self {
        let bulk = BulkWriter::new("analytics", client.clone(), backoff, METRICS).with_max_actions(BULK_DOCUMENTS);
        Self { client, bulk, state_index, backoff }
    }

    /// The Elasticsearch client documents are written with.
    pub fn client(&self) -> &Elasticsearch {
        &self.client
    }

    /// Index every document, retrying transient failures until they are durable. A document
    /// Elasticsearch refuses for good (a mapping conflict someone else caused) is logged, counted
    /// and skipped: it is derived data, and stopping would stop every partition. A fenced
    /// document refused for a version conflict means a newer owner has its partition: those
    /// partitions are returned (fenced), and nothing of theirs may be checkpointed or committed.
    pub async fn write(
        &self,
        documents: &[Document],
        shutdown: &CancellationToken,
    ) -> Result<BTreeSet<i32>, Interrupted> {
        let refused = self.bulk.write(documents, shutdown).await?;
        let mut fenced = BTreeSet::new();
        for refused in refused {
            let doc = &documents[refused.item];
            match doc.fence {
                Some(Fence { partition, epoch }) if refused.conflict => {
                    if fenced.insert(partition) {
                        tracing::warn!(partition, epoch, index = %doc.index, id = %doc.id, "a newer owner of the partition refused this worker's write");
                    }
                }
                _ => {
                    telemetry::documents_refused(1);
                    tracing::error!(index = %doc.index, id = %doc.id, reason = %refused.reason, "elasticsearch refused an analytics document");
                }
            }
        }
        Ok(fenced)
    }

    /// Save checkpoints (after the documents they account for are durable), each at its owner's
    /// epoch. Unlike a derived document, a refused checkpoint is an error: the offset commit that
    /// would point at it must not happen. One refused for a version conflict fences its partition
    /// (returned) instead.
    pub async fn save_checkpoints(
        &self,
        checkpoints: &[(String, StoredCheckpoint)],
        shutdown: &CancellationToken,
    ) -> Result<BTreeSet<i32>, CheckpointError> {
        let documents: Vec<Document> = checkpoints
            .iter()
            .map(|(id, stored)| Document {
                index: self.state_index.clone(),
                id: id.clone(),
                body: serde_json::to_vec(stored).expect("checkpoints serialize"),
                fence: Some(Fence { partition: stored.partition, epoch: stored.epoch }),
            })
            .collect();
        let refused = self.bulk.write(&documents, shutdown).await.map_err(|_| CheckpointError::Interrupted)?;
        let mut fenced = BTreeSet::new();
        for refused in refused {
            let Document { id, index, fence, .. } = &documents[refused.item];
            if refused.conflict {
                fenced.extend(fence.map(|fence| fence.partition));
                continue;
            }
            telemetry::documents_refused(1);
            return Err(CheckpointError::Refused { id: id.clone(), index: index.clone(), reason: refused.reason });
        }
        Ok(fenced)
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

    /// The state document stored under `id`, if any (a realtime GET: no refresh needed),
    /// retrying until Elasticsearch answers. None when shutdown came first.
    async fn get(&self, id: &str, shutdown: &CancellationToken) -> Option<Option<Versioned>> {
        let mut attempt = 0;
        loop {
            let result = self.client.get(GetParts::IndexId(&self.state_index, id)).send().await;
            match result {
                Ok(response) if response.status_code().as_u16() == 404 => return Some(None),
                Ok(response) if response.status_code().is_success() => {
                    let mut body: serde_json::Value = response.json().await.unwrap_or_default();
                    let seq_no = body["_seq_no"].as_i64().unwrap_or(-1);
                    let primary_term = body["_primary_term"].as_i64().unwrap_or(0);
                    return Some(Some(Versioned { source: body["_source"].take(), seq_no, primary_term }));
                }
                Ok(response) => {
                    tracing::warn!(
                        status = response.status_code().as_u16(),
                        id,
                        "cannot read analytics state; retrying"
                    )
                }
                Err(error) => tracing::warn!(%error, id, "cannot read analytics state; retrying"),
            }
            if !self.backoff.wait(attempt, shutdown).await {
                return None;
            }
            attempt += 1;
        }
    }

    /// The checkpoint stored under `id`, if any.
    pub async fn load_checkpoint(&self, id: &str, shutdown: &CancellationToken) -> Option<StoredCheckpoint> {
        let stored = self.get(id, shutdown).await??;
        match serde_json::from_value(stored.source) {
            Ok(stored) => Some(stored),
            Err(error) => {
                tracing::warn!(%error, id, "unreadable analytics checkpoint; starting without it");
                None
            }
        }
    }

    /// The epoch of the latest owner of a partition (0 when it never had one), read only: what a
    /// backfill writes at, so that it overwrites the live documents without fencing their owner.
    pub async fn current_epoch(
        &self,
        group: &str,
        topic: &str,
        partition: i32,
        shutdown: &CancellationToken,
    ) -> Result<u64, OwnerError> {
        let id = owner_id(group, topic, partition);
        let stored = self.get(&id, shutdown).await.ok_or(OwnerError::Interrupted)?;
        Ok(match stored {
            None => 0,
            Some(stored) => self.owner_epoch(&id, stored.source)?,
        })
    }

    fn owner_epoch(&self, id: &str, source: serde_json::Value) -> Result<u64, OwnerError> {
        serde_json::from_value::<Owner>(source).map(|owner| owner.epoch).map_err(|error| OwnerError::Refused {
            id: id.to_string(),
            index: self.state_index.clone(),
            reason: format!("the stored owner document is unreadable ({error}); delete it to start over at epoch 1"),
        })
    }

    /// Become the owner of a partition: the next epoch after the stored one, written only if the
    /// owner document is still the one read (`if_seq_no`/`if_primary_term`, or `op_type=create`
    /// when there is none), so two owners taking the partition at once get different epochs.
    /// On a conflict it reads again and takes the next one: the latest to take it is the newest
    /// owner, and the older ones are fenced by their first refused write.
    pub async fn take_epoch(
        &self,
        group: &str,
        topic: &str,
        partition: i32,
        shutdown: &CancellationToken,
    ) -> Result<u64, OwnerError> {
        let id = owner_id(group, topic, partition);
        let mut attempt = 0;
        loop {
            let stored = self.get(&id, shutdown).await.ok_or(OwnerError::Interrupted)?;
            let (current, guard) = match stored {
                None => (0, None),
                Some(stored) => (self.owner_epoch(&id, stored.source)?, Some((stored.seq_no, stored.primary_term))),
            };
            let epoch = current + 1;
            let owner = Owner { group: group.to_string(), topic: topic.to_string(), partition, epoch };
            let request = self
                .client
                .index(IndexParts::IndexId(&self.state_index, &id))
                .body(serde_json::to_value(&owner).expect("owner documents serialize"));
            let request = match guard {
                Some((seq_no, primary_term)) => request.if_seq_no(seq_no).if_primary_term(primary_term),
                None => request.op_type(OpType::Create),
            };
            match request.send().await {
                Ok(response) if response.status_code().is_success() => return Ok(epoch),
                Ok(response) => {
                    let status = response.status_code().as_u16();
                    if status == 409 {
                        tracing::info!(
                            partition,
                            epoch,
                            "another owner took the partition at the same time; reading again"
                        );
                    } else if request_is_retryable(status) {
                        tracing::warn!(status, partition, "cannot write the partition's owner document; retrying");
                    } else {
                        let reason = response.text().await.unwrap_or_default();
                        return Err(OwnerError::Refused { id, index: self.state_index.clone(), reason });
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, partition, "cannot write the partition's owner document; retrying")
                }
            }
            if !self.backoff.wait(attempt, shutdown).await {
                return Err(OwnerError::Interrupted);
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
        let stored = StoredCheckpoint { group: "g".into(), topic: "t".into(), partition: 0, epoch: 1, checkpoint };
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
        let fence = Some(Fence { partition: 0, epoch: 1 });
        let document = Document { index: "skein-metrics-x".into(), id: "1".into(), body: b"{}".to_vec(), fence };
        let fenced = store.write(&[document], &CancellationToken::new()).await.expect("not interrupted");
        assert!(fenced.is_empty(), "a mapping conflict is not a lost partition");
        assert_eq!(requests.lock().unwrap().len(), 1, "a permanent refusal is not retried");
    }

    const CONFLICT: &str = r#"{"errors":true,"items":[{"index":{"status":409,"error":{"type":"version_conflict_engine_exception","reason":"current version is higher"}}}]}"#;

    #[tokio::test]
    async fn a_version_conflict_fences_the_partition_instead_of_failing() {
        let (store, requests) = store(CONFLICT).await;
        let saved = store.save_checkpoints(&[checkpoint(7)], &CancellationToken::new()).await;
        assert_eq!(saved.expect("a lost checkpoint is not an error").into_iter().collect::<Vec<_>>(), vec![0]);
        let fence = Some(Fence { partition: 2, epoch: 1 });
        let document = Document { index: "skein-metrics-x".into(), id: "1".into(), body: b"{}".to_vec(), fence };
        let fenced = store.write(&[document], &CancellationToken::new()).await.unwrap();
        assert_eq!(fenced.into_iter().collect::<Vec<_>>(), vec![2]);
        let requests = requests.lock().unwrap().clone();
        assert!(requests[0].contains(r#""version":8589934592,"version_type":"external_gte""#), "{}", requests[0]);
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
