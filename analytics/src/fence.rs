//! Fencing: who may write a partition's documents. Each owner of a partition takes the next epoch
//! of the partition when it is assigned (a compare-and-set of the partition's owner document in
//! the state index), and writes every document of the partition, and its checkpoints, at a version
//! derived from that epoch with Elasticsearch's `external_gte` versioning. Elasticsearch compares
//! versions per document, atomically on the primary shard: once a newer owner has written a
//! document, an older owner's write of it is refused (409), whenever it arrives. An owner that
//! loses a write this way has been fenced: it stops writing the partition and commits nothing for
//! it.
//!
//! Every derived document belongs to one partition (its id holds topic and partition), so fencing
//! per partition covers every document.

use serde::{Deserialize, Serialize};

/// Versions below this are Elasticsearch's own (internal) counts of writes, which documents
/// written before fencing existed carry; every fenced version is above them.
const EPOCH_SHIFT: u32 = 32;

/// The Elasticsearch version documents of `epoch` are written at. Epoch 0 (no owner document:
/// data of older releases, or a backfill before any live owner) still dominates internal versions.
pub fn document_version(epoch: u64) -> u64 {
    (epoch + 1) << EPOCH_SHIFT
}

/// Who writes a document: its partition, at that partition owner's epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fence {
    pub partition: i32,
    pub epoch: u64,
}

/// The owner document of a partition, in the state index.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Owner {
    pub group: String,
    pub topic: String,
    pub partition: i32,
    /// The epoch of the partition's latest owner; 0 before any.
    pub epoch: u64,
}

/// Id of a partition's owner document; never a checkpoint's (those end with an offset).
pub fn owner_id(group: &str, topic: &str, partition: i32) -> String {
    format!("{group}:{topic}:{partition}:owner")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_later_epoch_writes_at_a_higher_version_above_every_internal_version() {
        assert!(document_version(0) > u64::from(u32::MAX), "old documents' internal versions lose");
        assert!(document_version(1) > document_version(0));
        assert!(document_version(7) > document_version(6));
        // Two billion ownership changes before versions leave the longs Elasticsearch keeps.
        assert!(document_version((1 << 31) - 2) <= i64::MAX as u64);
    }

    #[test]
    fn owner_ids_never_look_like_checkpoint_ids() {
        assert_eq!(owner_id("g", "t", 3), "g:t:3:owner");
        assert_ne!(owner_id("g", "t", 3), crate::store::checkpoint_id("g", "t", 3, 0));
    }
}
