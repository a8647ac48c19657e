//! The daily clean of `elasticsearch.retention_days`, run by the ingester: every instance checks
//! every [`CHECK_EVERY`]; the lease ([`skein_core::elasticsearch::lease`]) makes exactly one of
//! them clean once per UTC day, and lets another take over when the holder dies mid-clean.

use std::time::Duration;

use chrono::{DateTime, Utc};
use elasticsearch::Elasticsearch;
use skein_core::config::ElasticsearchConfig;
use skein_core::elasticsearch::lease::{decide, Decision, Lease, LeaseDocument};
use skein_core::elasticsearch::retention::{clean, RetentionError};
use skein_schemas::elasticsearch::IndexNames;
use tokio_util::sync::CancellationToken;

use crate::telemetry;

/// How often each instance looks at the lease (one realtime GET when the day is done).
pub const CHECK_EVERY: Duration = Duration::from_secs(600);

/// How long a taken lease lasts: far longer than a clean takes (a few requests), short enough
/// that a dead holder's day is cleaned by another instance within two checks.
pub const LEASE_FOR: Duration = Duration::from_secs(600);

/// What one check did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// This instance took the lease and deleted these indices.
    Cleaned(Vec<String>),
    /// A clean finished today already.
    DoneToday,
    /// Another instance holds the lease (it is cleaning, or took it first).
    HeldElsewhere(String),
}

/// The daily clean of one deployment (one index prefix).
pub struct DailyClean {
    client: Elasticsearch,
    names: IndexNames,
    lease: Lease,
    retention_days: u32,
    /// Alias mode: rolled-over indices (`-000001`, …) are cleaned too, by creation date.
    rollover: bool,
    replicas: u32,
    holder: String,
}

impl DailyClean {
    /// The clean `config` asks for, checked as `holder` (unique per process: see [`holder`]).
    pub fn new(client: Elasticsearch, config: &ElasticsearchConfig, holder: String) -> Self {
        let names = IndexNames::new(&config.index_prefix);
        let lease = Lease::new(client.clone(), format!("{}skein-retention", names.prefix()));
        Self {
            client,
            names,
            lease,
            retention_days: config.retention_days,
            rollover: config.use_aliases,
            replicas: config.replicas,
            holder,
        }
    }

    /// Look at the lease at `now` and clean when this instance is the one to.
    pub async fn check(&self, now: DateTime<Utc>) -> Result<Outcome, RetentionError> {
        self.lease.ensure_index(self.replicas).await?;
        let stored = self.lease.read().await?;
        let today = now.format("%Y-%m-%d").to_string();
        let now_ms = now.timestamp_millis();
        match decide(stored.as_ref().map(|(doc, _)| doc), &self.holder, &today, now_ms) {
            Decision::DoneToday => return Ok(Outcome::DoneToday),
            Decision::HeldBy(holder) => return Ok(Outcome::HeldElsewhere(holder)),
            Decision::Take => {}
        }
        let (previous, expected) = match stored {
            Some((doc, version)) => (Some(doc), Some(version)),
            None => (None, None),
        };
        let mut taken = LeaseDocument {
            holder: self.holder.clone(),
            expires_at_ms: now_ms + LEASE_FOR.as_millis() as i64,
            done_day: previous.as_ref().and_then(|doc| doc.done_day.clone()),
            done_at_ms: previous.as_ref().and_then(|doc| doc.done_at_ms),
            deleted: previous.as_ref().map_or(0, |doc| doc.deleted),
        };
        let Some(version) = self.lease.write(&taken, expected).await? else {
            return Ok(Outcome::HeldElsewhere("another instance, which took the lease first".into()));
        };
        match clean(&self.client, &self.names, self.retention_days, self.rollover, false, now).await {
            Ok(plan) => {
                let deleted: Vec<String> = plan.doomed.into_iter().map(|doomed| doomed.index).collect();
                let done = LeaseDocument {
                    holder: self.holder.clone(),
                    expires_at_ms: 0,
                    done_day: Some(today),
                    done_at_ms: Some(Utc::now().timestamp_millis()),
                    deleted: deleted.len() as u64,
                };
                if self.lease.write(&done, Some(version)).await?.is_none() {
                    // Deleting twice is harmless; only the record of the day is the other's.
                    tracing::warn!(
                        lease = %self.lease.index(),
                        "the retention lease passed to another instance during the clean (it outlasted the lease)"
                    );
                }
                Ok(Outcome::Cleaned(deleted))
            }
            Err(error) => {
                // Released, the day not marked done: the next instance to check tries again.
                taken.expires_at_ms = 0;
                if let Err(release) = self.lease.write(&taken, Some(version)).await {
                    tracing::warn!(error = %release, "cannot release the retention lease; it expires by itself");
                }
                Err(error)
            }
        }
    }
}

/// A holder name unique to this process: the host (the pod's name in Kubernetes), the process id
/// and a random tag.
pub fn holder() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok().map(|h| h.trim().to_string()))
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".into());
    format!("{host}/{}/{:08x}", std::process::id(), rand::random::<u32>())
}

/// Check now and every [`CHECK_EVERY`] until `shutdown`.
pub async fn run(daily: DailyClean, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(CHECK_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let checked = tokio::select! {
            _ = shutdown.cancelled() => return,
            checked = daily.check(Utc::now()) => checked,
        };
        match checked {
            Ok(Outcome::Cleaned(deleted)) => {
                telemetry::retention_run("cleaned");
                telemetry::retention_indices_deleted(deleted.len() as u64);
                telemetry::retention_last_success(Utc::now().timestamp_millis());
                tracing::info!(count = deleted.len(), indices = ?deleted, retention_days = daily.retention_days, "deleted indices older than the retained days");
            }
            Ok(Outcome::DoneToday) => telemetry::retention_run("done_today"),
            Ok(Outcome::HeldElsewhere(holder)) => {
                telemetry::retention_run("held_elsewhere");
                tracing::debug!(%holder, "another instance runs today's clean");
            }
            Err(error) => {
                telemetry::retention_run("failed");
                tracing::warn!(%error, "the daily index clean failed; the next check tries again");
            }
        }
    }
}
