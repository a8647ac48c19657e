//! Consumer lag in seconds. librdkafka's statistics give the lag in records; the Kafka timestamp of
//! the newest record read on a partition turns that into time: while a partition is behind, the
//! backlog is at least as old as that record (and grows older while the ingester is stuck).

use std::collections::HashMap;
use std::sync::Mutex;

use skein_core::offsets::TopicPartition;

/// The Kafka timestamp (ms) of the newest record read, per partition. Kept when a partition
/// leaves: should it come back, an old timestamp overstates the lag until the next record is
/// read, which is safer than reporting nothing while stuck.
#[derive(Default)]
pub struct ReadTimes {
    newest: Mutex<HashMap<TopicPartition, i64>>,
}

impl ReadTimes {
    /// A record with Kafka timestamp `timestamp_ms` (none for records without one) was read.
    pub fn read(&self, tp: &TopicPartition, timestamp_ms: Option<i64>) {
        let Some(timestamp) = timestamp_ms else { return };
        let mut newest = self.lock();
        match newest.get_mut(tp) {
            Some(at) => *at = (*at).max(timestamp),
            None => {
                newest.insert(tp.clone(), timestamp);
            }
        }
    }

    /// [`seconds_behind`] for a partition.
    pub fn seconds_behind(&self, tp: &TopicPartition, lag_records: i64, now_ms: i64) -> Option<f64> {
        seconds_behind(lag_records, self.lock().get(tp).copied(), now_ms)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<TopicPartition, i64>> {
        self.newest.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Seconds a partition is behind: 0 when nothing is left to commit, else the age of the newest
/// record read (never negative: producer clocks may run ahead). None while nothing was read since
/// the partition was assigned: the lag in records is all that is known then.
pub fn seconds_behind(lag_records: i64, newest_read_ms: Option<i64>, now_ms: i64) -> Option<f64> {
    if lag_records <= 0 {
        return Some(0.0);
    }
    newest_read_ms.map(|read| (now_ms - read).max(0) as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partition_with_nothing_to_commit_is_not_behind_however_old_its_last_record() {
        assert_eq!(seconds_behind(0, Some(1_000), 3_600_000), Some(0.0));
        assert_eq!(seconds_behind(0, None, 3_600_000), Some(0.0));
    }

    #[test]
    fn a_partition_behind_is_as_far_behind_as_the_newest_record_read_is_old() {
        assert_eq!(seconds_behind(500, Some(10_000), 25_500), Some(15.5));
    }

    #[test]
    fn a_record_stamped_in_the_future_counts_as_no_time_behind() {
        assert_eq!(seconds_behind(3, Some(20_000), 10_000), Some(0.0));
    }

    #[test]
    fn the_time_behind_is_unknown_until_a_record_is_read() {
        assert_eq!(seconds_behind(3, None, 10_000), None);
    }

    #[test]
    fn the_newest_timestamp_read_of_each_partition_counts() {
        let times = ReadTimes::default();
        let (tp, other): (TopicPartition, TopicPartition) = (("spans".to_string(), 2), ("spans".to_string(), 3));
        times.read(&tp, Some(5_000));
        times.read(&tp, Some(4_000));
        times.read(&tp, None);
        assert_eq!(times.seconds_behind(&tp, 1, 9_000), Some(4.0));
        assert_eq!(times.seconds_behind(&other, 1, 9_000), None);
    }
}
