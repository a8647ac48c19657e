//! `ingester`: Kafka → Elasticsearch, committing only what is durable.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use super::kafka::StartFrom;
use super::listen::loopback;

/// The ingester role.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngesterConfig {
    /// Consumer group.
    pub group_id: String,
    /// `/metrics`, `/healthz`, `/readyz`.
    pub admin_listen: SocketAddr,
    /// Where a new group starts: `earliest` or `latest`.
    pub start_from: StartFrom,
    /// Flush a bulk request at this many spans (their service documents come on top).
    pub bulk_max_docs: usize,
    /// Flush a bulk request at this many bytes of Kafka records (the JSON sent is larger).
    pub bulk_max_bytes: usize,
    /// Flush a partial bulk request after this long, ms.
    pub bulk_flush_interval_ms: u64,
    /// Bulk requests in flight at once; when all are busy, partitions are paused.
    pub bulk_concurrency: usize,
    /// First retry delay for transient bulk failures, ms; doubles up to the max.
    pub retry_initial_backoff_ms: u64,
    /// Longest retry delay, ms.
    pub retry_max_backoff_ms: u64,
    /// How often done offsets are committed, ms.
    pub commit_interval_ms: u64,
}

impl Default for IngesterConfig {
    fn default() -> Self {
        Self {
            group_id: "skein-ingester".into(),
            admin_listen: loopback(14270),
            start_from: StartFrom::Earliest,
            bulk_max_docs: 2000,
            bulk_max_bytes: 5 * 1024 * 1024,
            bulk_flush_interval_ms: 200,
            bulk_concurrency: 2,
            retry_initial_backoff_ms: 100,
            retry_max_backoff_ms: 10_000,
            commit_interval_ms: 1000,
        }
    }
}

/// An `ingester` option that cannot work.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IngesterConfigError {
    #[error("{0} must be at least 1")]
    Zero(&'static str),
    #[error(
        "ingester.retry_initial_backoff_ms ({initial}) must be positive and not above ingester.retry_max_backoff_ms ({max})"
    )]
    Backoff { initial: u64, max: u64 },
}

impl IngesterConfig {
    /// Rules within `ingester` that serde cannot express.
    pub fn validate(&self) -> Result<(), IngesterConfigError> {
        if self.bulk_max_docs == 0 {
            return Err(IngesterConfigError::Zero("ingester.bulk_max_docs"));
        }
        if self.bulk_concurrency == 0 {
            return Err(IngesterConfigError::Zero("ingester.bulk_concurrency"));
        }
        if self.retry_initial_backoff_ms == 0 || self.retry_initial_backoff_ms > self.retry_max_backoff_ms {
            return Err(IngesterConfigError::Backoff {
                initial: self.retry_initial_backoff_ms,
                max: self.retry_max_backoff_ms,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_bulks_or_no_bulk_slots_are_refused() {
        let ingester = IngesterConfig { bulk_max_docs: 0, ..IngesterConfig::default() };
        assert_eq!(ingester.validate(), Err(IngesterConfigError::Zero("ingester.bulk_max_docs")));
        let ingester = IngesterConfig { bulk_concurrency: 0, ..IngesterConfig::default() };
        assert_eq!(ingester.validate(), Err(IngesterConfigError::Zero("ingester.bulk_concurrency")));
    }

    #[test]
    fn first_backoff_above_the_longest_is_refused() {
        let ingester = IngesterConfig { retry_initial_backoff_ms: 20_000, ..IngesterConfig::default() };
        assert_eq!(ingester.validate(), Err(IngesterConfigError::Backoff { initial: 20_000, max: 10_000 }));
        let ingester = IngesterConfig { retry_initial_backoff_ms: 0, ..IngesterConfig::default() };
        assert!(matches!(ingester.validate(), Err(IngesterConfigError::Backoff { initial: 0, .. })));
    }
}
