//! The daily clean's lease: one document in `<prefix>skein-retention`, taken by compare-and-set
//! (`op_type=create` when there is none, else `if_seq_no`/`if_primary_term` of the version read),
//! so that of several instances checking at once exactly one cleans. The document also records
//! the last UTC day a clean finished, so the others know the day is done; a holder that dies
//! leaves a lease that expires, and the next instance to check takes it.

use elasticsearch::cluster::ClusterHealthParts;
use elasticsearch::http::response::Response;
use elasticsearch::indices::IndicesCreateParts;
use elasticsearch::params::{OpType, WaitForStatus};
use elasticsearch::{Elasticsearch, GetParts, IndexParts};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::bulk::request_is_retryable;
use super::retention::RetentionError;

/// The lease document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseDocument {
    /// Who holds (or last held) the lease: host name, process id and a random tag.
    pub holder: String,
    /// When the lease ends, ms since the epoch; 0 once released.
    pub expires_at_ms: i64,
    /// The last UTC day (`YYYY-MM-DD`) a clean finished.
    pub done_day: Option<String>,
    /// When that clean finished, ms since the epoch.
    pub done_at_ms: Option<i64>,
    /// How many indices it deleted.
    pub deleted: u64,
}

/// The version of a document read, for a compare-and-set of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version {
    pub seq_no: i64,
    pub primary_term: i64,
}

/// What an instance checking the lease should do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// A clean finished today already.
    DoneToday,
    /// Another instance holds an unexpired lease.
    HeldBy(String),
    /// Take the lease and clean.
    Take,
}

/// Decide from the stored document (if any), as `holder`, on `today` (`YYYY-MM-DD`) at `now_ms`.
pub fn decide(stored: Option<&LeaseDocument>, holder: &str, today: &str, now_ms: i64) -> Decision {
    match stored {
        None => Decision::Take,
        // Days as YYYY-MM-DD compare as text.
        Some(doc) if doc.done_day.as_deref().is_some_and(|day| day >= today) => Decision::DoneToday,
        Some(doc) if doc.holder != holder && doc.expires_at_ms > now_ms => Decision::HeldBy(doc.holder.clone()),
        Some(_) => Decision::Take,
    }
}

/// The lease document of one index prefix.
#[derive(Clone)]
pub struct Lease {
    client: Elasticsearch,
    index: String,
}

/// The document's id in the lease index.
const LEASE_ID: &str = "daily-clean";

impl Lease {
    /// The lease in `index` (`<prefix>skein-retention`).
    pub fn new(client: Elasticsearch, index: String) -> Self {
        Self { client, index }
    }

    pub fn index(&self) -> &str {
        &self.index
    }

    /// Create the lease index (one shard, `replicas` replicas) unless it exists, so that it does
    /// not get the cluster's default of one replica, which leaves a single node yellow.
    pub async fn ensure_index(&self, replicas: u32) -> Result<(), RetentionError> {
        let body = json!({ "settings": { "index.number_of_shards": 1, "index.number_of_replicas": replicas } });
        let sent = self.client.indices().create(IndicesCreateParts::Index(&self.index)).body(body).send().await;
        let response = sent.map_err(|error| RetentionError::Unreachable {
            action: "create the lease index",
            reason: error.to_string(),
        })?;
        let status = response.status_code().as_u16();
        if status >= 300 {
            let body = response.text().await.unwrap_or_default();
            if !(status == 400 && body.contains("resource_already_exists_exception")) {
                let patterns = self.index.clone();
                return Err(RetentionError::Refused { action: "create the lease index", status, body, patterns });
            }
        }
        // Created by another instance a moment ago, its shard may still be starting: a read then
        // gets 503. Wait until it can serve (at most 30 s).
        let action = "wait for the lease index";
        let sent = self
            .client
            .cluster()
            .health(ClusterHealthParts::Index(&[self.index.as_str()]))
            .wait_for_status(WaitForStatus::Yellow)
            .timeout("30s")
            .send()
            .await;
        let response = sent.map_err(|error| RetentionError::Unreachable { action, reason: error.to_string() })?;
        let status = response.status_code().as_u16();
        if status >= 300 {
            let body = response.text().await.unwrap_or_default();
            return Err(RetentionError::Refused { action, status, body, patterns: self.index.clone() });
        }
        Ok(())
    }

    /// The stored lease and its version; None when there is none yet.
    pub async fn read(&self) -> Result<Option<(LeaseDocument, Version)>, RetentionError> {
        let action = "read the retention lease";
        let response = retrying(action, || self.client.get(GetParts::IndexId(&self.index, LEASE_ID)).send()).await?;
        let status = response.status_code().as_u16();
        if status == 404 {
            return Ok(None);
        }
        if status >= 300 {
            let body = response.text().await.unwrap_or_default();
            return Err(RetentionError::Refused { action, status, body, patterns: self.index.clone() });
        }
        let mut body: serde_json::Value =
            response.json().await.map_err(|error| RetentionError::Answer { action, reason: error.to_string() })?;
        let version = version(&body).ok_or_else(|| RetentionError::Answer { action, reason: body.to_string() })?;
        let doc = serde_json::from_value(body["_source"].take()).map_err(|error| RetentionError::Answer {
            action,
            reason: format!("the lease document is unreadable ({error}); delete {}/_doc/{LEASE_ID}", self.index),
        })?;
        Ok(Some((doc, version)))
    }

    /// Write `doc` only if the stored lease is still at `expected` (None: only if there is none).
    /// Returns the new version, or None when another instance wrote first.
    pub async fn write(
        &self,
        doc: &LeaseDocument,
        expected: Option<Version>,
    ) -> Result<Option<Version>, RetentionError> {
        let action = "write the retention lease";
        let body = serde_json::to_value(doc).expect("lease documents serialize");
        let response = retrying(action, || {
            let request = self.client.index(IndexParts::IndexId(&self.index, LEASE_ID)).body(body.clone());
            let request = match expected {
                Some(v) => request.if_seq_no(v.seq_no).if_primary_term(v.primary_term),
                None => request.op_type(OpType::Create),
            };
            request.send()
        })
        .await?;
        let status = response.status_code().as_u16();
        if status == 409 {
            return Ok(None);
        }
        if status >= 300 {
            let body = response.text().await.unwrap_or_default();
            return Err(RetentionError::Refused { action, status, body, patterns: self.index.clone() });
        }
        let body: serde_json::Value =
            response.json().await.map_err(|error| RetentionError::Answer { action, reason: error.to_string() })?;
        version(&body).map(Some).ok_or_else(|| RetentionError::Answer { action, reason: body.to_string() })
    }
}

/// Attempts of one lease request while Elasticsearch answers 408, 429 or 5xx (a shard of the lease
/// index another instance just created is still starting, a busy node), 0.5 s apart.
const ATTEMPTS: u32 = 20;

/// Send a lease request, again while the answer is a transient refusal. A write retried after a
/// 5xx that was in fact applied gets 409 next: taken as another instance's lease, which then
/// expires by itself, so nothing is cleaned twice in a day.
async fn retrying<F, Fut>(action: &'static str, send: F) -> Result<Response, RetentionError>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<Response, elasticsearch::Error>>,
{
    let mut attempt = 1;
    loop {
        let response =
            send().await.map_err(|error| RetentionError::Unreachable { action, reason: error.to_string() })?;
        let status = response.status_code().as_u16();
        if attempt >= ATTEMPTS || !request_is_retryable(status) {
            return Ok(response);
        }
        tracing::debug!(status, attempt, action, "elasticsearch refused a lease request for now; retrying");
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        attempt += 1;
    }
}

fn version(body: &serde_json::Value) -> Option<Version> {
    Some(Version { seq_no: body["_seq_no"].as_i64()?, primary_term: body["_primary_term"].as_i64()? })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(holder: &str, expires_at_ms: i64, done_day: Option<&str>) -> LeaseDocument {
        LeaseDocument {
            holder: holder.into(),
            expires_at_ms,
            done_day: done_day.map(str::to_string),
            done_at_ms: None,
            deleted: 0,
        }
    }

    #[test]
    fn the_first_instance_takes_a_missing_lease() {
        assert_eq!(decide(None, "a", "2024-03-10", 1_000), Decision::Take);
    }

    #[test]
    fn a_day_already_cleaned_is_not_cleaned_again() {
        let done = lease("b", 0, Some("2024-03-10"));
        assert_eq!(decide(Some(&done), "a", "2024-03-10", 1_000), Decision::DoneToday);
        assert_eq!(decide(Some(&done), "b", "2024-03-10", 1_000), Decision::DoneToday);
        assert_eq!(decide(Some(&done), "a", "2024-03-11", 1_000), Decision::Take, "the next day is due");
    }

    #[test]
    fn a_live_lease_of_another_instance_is_left_alone_and_an_expired_one_is_taken() {
        let held = lease("b", 2_000, Some("2024-03-09"));
        assert_eq!(decide(Some(&held), "a", "2024-03-10", 1_000), Decision::HeldBy("b".into()));
        assert_eq!(decide(Some(&held), "a", "2024-03-10", 2_000), Decision::Take, "expired: its holder died");
        assert_eq!(decide(Some(&held), "b", "2024-03-10", 1_000), Decision::Take, "its own lease, after a restart");
    }
}
