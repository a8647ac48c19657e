//! Which offsets of each partition are safe to commit.
//!
//! A record is *pending* from the moment it is read until its effect is durable (or it was sent to
//! the DLQ). The committable offset of a partition is the lowest pending offset, or one past the
//! highest offset read when nothing is pending: never past a record that is not yet durable, even
//! when later records finished first.

use std::collections::{BTreeMap, BTreeSet};

/// A topic partition.
pub type TopicPartition = (String, i32);

/// Identifies one assignment of a partition to this consumer; acknowledgements from an earlier
/// assignment (before a rebalance took the partition away) are ignored.
pub type Epoch = u64;

#[derive(Debug, Default)]
struct PartitionState {
    epoch: Epoch,
    pending: BTreeSet<i64>,
    /// One past the highest offset read.
    next_offset: Option<i64>,
    /// The last offset handed out for commit.
    committed: Option<i64>,
}

impl PartitionState {
    fn committable(&self) -> Option<i64> {
        self.pending.first().copied().or(self.next_offset)
    }
}

/// Pending offsets per assigned partition.
#[derive(Debug, Default)]
pub struct OffsetTracker {
    partitions: BTreeMap<TopicPartition, PartitionState>,
    next_epoch: Epoch,
}

impl OffsetTracker {
    /// Start tracking a newly assigned partition; returns the epoch its records carry.
    pub fn assign(&mut self, tp: TopicPartition) -> Epoch {
        self.next_epoch += 1;
        let epoch = self.next_epoch;
        self.partitions.insert(tp, PartitionState { epoch, ..PartitionState::default() });
        epoch
    }

    /// Stop tracking a partition taken away by a rebalance; returns its final committable offset
    /// if it advanced since the last commit.
    pub fn revoke(&mut self, tp: &TopicPartition) -> Option<i64> {
        let state = self.partitions.remove(tp)?;
        let offset = state.committable()?;
        (state.committed != Some(offset)).then_some(offset)
    }

    /// A record was read. Returns its epoch, or `None` if the partition is not assigned.
    pub fn read(&mut self, tp: &TopicPartition, offset: i64) -> Option<Epoch> {
        let state = self.partitions.get_mut(tp)?;
        state.pending.insert(offset);
        state.next_offset = Some(state.next_offset.map_or(offset + 1, |next| next.max(offset + 1)));
        Some(state.epoch)
    }

    /// A record's effect is durable. Stale epochs are ignored.
    pub fn done(&mut self, tp: &TopicPartition, epoch: Epoch, offset: i64) {
        if let Some(state) = self.partitions.get_mut(tp) {
            if state.epoch == epoch {
                state.pending.remove(&offset);
            }
        }
    }

    /// Offsets that advanced since the last call: `(partition, next offset to consume)`.
    pub fn take_commits(&mut self) -> Vec<(TopicPartition, i64)> {
        let mut commits = Vec::new();
        for (tp, state) in &mut self.partitions {
            if let Some(offset) = state.committable() {
                if state.committed != Some(offset) {
                    state.committed = Some(offset);
                    commits.push((tp.clone(), offset));
                }
            }
        }
        commits
    }

    /// Forget that offsets were handed out, so the next `take_commits` offers them again (after a
    /// failed commit).
    pub fn commit_failed(&mut self, commits: &[(TopicPartition, i64)]) {
        for (tp, offset) in commits {
            if let Some(state) = self.partitions.get_mut(tp) {
                if state.committed == Some(*offset) {
                    state.committed = None;
                }
            }
        }
    }

    /// Records read but not yet durable, over all partitions.
    pub fn pending_count(&self) -> usize {
        self.partitions.values().map(|state| state.pending.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp(partition: i32) -> TopicPartition {
        ("spans".to_string(), partition)
    }

    #[test]
    fn commits_lowest_pending_offset_when_later_records_finish_first() {
        let mut tracker = OffsetTracker::default();
        let epoch = tracker.assign(tp(0));
        for offset in 10..15 {
            tracker.read(&tp(0), offset);
        }
        tracker.done(&tp(0), epoch, 10);
        tracker.done(&tp(0), epoch, 12);
        tracker.done(&tp(0), epoch, 13);
        tracker.done(&tp(0), epoch, 14);
        assert_eq!(tracker.take_commits(), vec![(tp(0), 11)], "11 is still pending");
        tracker.done(&tp(0), epoch, 11);
        assert_eq!(tracker.take_commits(), vec![(tp(0), 15)]);
        assert!(tracker.take_commits().is_empty(), "nothing advanced");
    }

    #[test]
    fn ignores_acknowledgements_from_an_earlier_assignment() {
        let mut tracker = OffsetTracker::default();
        let old = tracker.assign(tp(1));
        tracker.read(&tp(1), 5);
        tracker.revoke(&tp(1));
        let new = tracker.assign(tp(1));
        assert_ne!(old, new);
        tracker.read(&tp(1), 5);
        tracker.done(&tp(1), old, 5);
        assert_eq!(tracker.take_commits(), vec![(tp(1), 5)], "record 5 still pending under the new epoch");
    }

    #[test]
    fn revoke_returns_final_offset_only_when_it_advanced() {
        let mut tracker = OffsetTracker::default();
        let epoch = tracker.assign(tp(2));
        tracker.read(&tp(2), 0);
        tracker.done(&tp(2), epoch, 0);
        assert_eq!(tracker.revoke(&tp(2)), Some(1));
        let epoch = tracker.assign(tp(2));
        tracker.read(&tp(2), 1);
        tracker.done(&tp(2), epoch, 1);
        tracker.take_commits();
        assert_eq!(tracker.revoke(&tp(2)), None);
    }

    #[test]
    fn failed_commit_is_offered_again() {
        let mut tracker = OffsetTracker::default();
        let epoch = tracker.assign(tp(0));
        tracker.read(&tp(0), 0);
        tracker.done(&tp(0), epoch, 0);
        let commits = tracker.take_commits();
        tracker.commit_failed(&commits);
        assert_eq!(tracker.take_commits(), commits);
    }

    #[test]
    fn a_failed_commit_overtaken_by_a_later_one_is_not_offered_again() {
        let mut tracker = OffsetTracker::default();
        let epoch = tracker.assign(tp(0));
        tracker.read(&tp(0), 0);
        tracker.read(&tp(0), 1);
        tracker.done(&tp(0), epoch, 0);
        let first = tracker.take_commits();
        tracker.done(&tp(0), epoch, 1);
        let second = tracker.take_commits();
        assert_eq!(second, vec![(tp(0), 2)]);
        // The answer to the first commit arrives after the second was sent.
        tracker.commit_failed(&first);
        assert!(tracker.take_commits().is_empty(), "the later commit carries the partition further");
        tracker.commit_failed(&second);
        assert_eq!(tracker.take_commits(), second, "the highest durable offset is committed again");
    }

    #[test]
    fn a_failed_commit_of_a_partition_no_longer_assigned_is_dropped() {
        let mut tracker = OffsetTracker::default();
        let epoch = tracker.assign(tp(0));
        tracker.read(&tp(0), 0);
        tracker.done(&tp(0), epoch, 0);
        let commits = tracker.take_commits();
        tracker.revoke(&tp(0));
        tracker.commit_failed(&commits);
        assert!(tracker.take_commits().is_empty(), "the partition's next owner commits it");
        tracker.assign(tp(0));
        tracker.commit_failed(&commits);
        assert!(tracker.take_commits().is_empty(), "nothing read yet in the new assignment");
    }

    #[test]
    fn records_of_unassigned_partitions_are_not_tracked() {
        let mut tracker = OffsetTracker::default();
        assert_eq!(tracker.read(&tp(9), 3), None);
        assert_eq!(tracker.pending_count(), 0);
    }
}
