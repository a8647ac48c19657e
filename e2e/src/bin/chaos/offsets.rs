//! Offsets sampled twice a second while the suite runs — each partition's end and each group's
//! committed offset — and the figures read from them: largest lag, and how long after a fault
//! every partition was consumed (or written) again.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};

/// Time between samples.
const PERIOD: Duration = Duration::from_millis(500);
/// A fault's baseline is the first sample taken this long after it: a commit sent just before a
/// SIGKILL may still land at the broker right after it.
const SETTLE_SECS: f64 = 0.3;

/// Offsets at one moment: `t` seconds after the run's clock started.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Sample {
    pub t: f64,
    /// Per partition, the end (high watermark) of the spans topic.
    pub end: Vec<i64>,
    /// Per group (in the sampler's order), per partition: the committed offset (0 when none).
    pub committed: Vec<Vec<i64>>,
    /// Values that could not be read this time (a node down, a leader or coordinator moving)
    /// and are carried over from the previous sample: a carried value never shows progress.
    pub carried: usize,
}

impl Sample {
    /// Records of the topic group `g` has not committed yet.
    pub fn lag(&self, g: usize) -> i64 {
        self.end.iter().zip(&self.committed[g]).map(|(end, committed)| (end - committed).max(0)).sum()
    }
}

/// Samples offsets on a thread of its own (librdkafka's calls block) until stopped.
pub struct Sampler {
    samples: Arc<Mutex<Vec<Sample>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Sampler {
    pub fn start(brokers: &str, topic: &str, partitions: i32, groups: &[String], clock: Instant) -> Self {
        let samples = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let brokers = brokers.to_string();
        let groups = groups.to_vec();
        let topic = topic.to_string();
        let (out, halt) = (samples.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let client = |group: &str| -> BaseConsumer {
                rdkafka::ClientConfig::new()
                    .set("bootstrap.servers", &brokers)
                    .set("group.id", group)
                    .create()
                    .expect("a consumer client only reads offsets")
            };
            // One client per group: committed offsets are asked of the group's coordinator, and
            // none of these clients ever joins the group. Clients are made anew after a failed
            // read: librdkafka keeps asking a dead leader or coordinator it has cached.
            let mut readers: Vec<BaseConsumer> = groups.iter().map(|g| client(g)).collect();
            let mut watermarks = client("skein-chaos-sampler");
            let mut list = TopicPartitionList::new();
            for p in 0..partitions {
                list.add_partition(&topic, p);
            }
            let mut last: Option<Sample> = None;
            while !halt.load(Ordering::Relaxed) {
                let started = Instant::now();
                let (sample, failed) = take(&watermarks, &readers, &topic, &list, partitions, clock, last.as_ref());
                for client_failed in failed {
                    match client_failed {
                        Failed::Group(g) => readers[g] = client(&groups[g]),
                        Failed::Watermarks => watermarks = client("skein-chaos-sampler"),
                    }
                }
                if sample.carried < partitions as usize * (readers.len() + 1) {
                    out.lock().expect("samples lock").push(sample.clone());
                    last = Some(sample);
                }
                std::thread::sleep(PERIOD.saturating_sub(started.elapsed()));
            }
        });
        Self { samples, stop, thread: Some(thread) }
    }

    pub fn samples(&self) -> Vec<Sample> {
        self.samples.lock().expect("samples lock").clone()
    }

    pub fn latest(&self) -> Option<Sample> {
        self.samples.lock().expect("samples lock").last().cloned()
    }

    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A client whose read failed.
#[derive(Debug, PartialEq)]
enum Failed {
    Group(usize),
    Watermarks,
}

/// One sample; what a broker did not answer in time is taken from `last` (or 0 before any), and
/// the clients that failed are named.
fn take(
    watermarks: &BaseConsumer,
    readers: &[BaseConsumer],
    topic: &str,
    list: &TopicPartitionList,
    partitions: i32,
    clock: Instant,
    last: Option<&Sample>,
) -> (Sample, Vec<Failed>) {
    // Short: during a node's crash some answers never come, and the sample waits for each.
    let timeout = Duration::from_secs(1);
    let n = partitions as usize;
    let mut carried = 0;
    let mut failed = Vec::new();
    let mut committed = Vec::new();
    for (g, reader) in readers.iter().enumerate() {
        let previous = last.map_or_else(|| vec![0; n], |s| s.committed[g].clone());
        match reader.committed_offsets(list.clone(), timeout) {
            Ok(offsets) => {
                let mut by_partition = vec![0; n];
                for element in offsets.elements() {
                    if let Offset::Offset(o) = element.offset() {
                        by_partition[element.partition() as usize] = o;
                    }
                }
                committed.push(by_partition);
            }
            Err(_) => {
                carried += n;
                failed.push(Failed::Group(g));
                committed.push(previous);
            }
        }
    }
    let mut end = Vec::new();
    for p in 0..partitions {
        match watermarks.fetch_watermarks(topic, p, timeout) {
            Ok((_, high)) => end.push(high),
            Err(_) => {
                carried += 1;
                if !failed.contains(&Failed::Watermarks) {
                    failed.push(Failed::Watermarks);
                }
                end.push(last.map_or(0, |s| s.end[p as usize]));
            }
        }
    }
    (Sample { t: clock.elapsed().as_secs_f64(), end, committed, carried }, failed)
}

/// Seconds from `at` until every partition was consumed again by group `g`: its committed
/// offset moved past where it stood just after `at`, or it had already committed everything
/// there was then. `None` when that never happened in `samples`.
pub fn consumed_again(samples: &[Sample], g: usize, at: f64) -> Option<f64> {
    let base = samples.iter().find(|s| s.t >= at + SETTLE_SECS)?;
    samples
        .iter()
        .filter(|s| s.t > base.t)
        .find(|s| s.committed[g].iter().enumerate().all(|(p, &c)| c > base.committed[g][p] || c >= base.end[p]))
        .map(|s| s.t - at)
}

/// Seconds from `at` until every partition had been written to again (its end moved).
pub fn written_again(samples: &[Sample], at: f64) -> Option<f64> {
    let base = samples.iter().find(|s| s.t >= at + SETTLE_SECS)?;
    samples
        .iter()
        .filter(|s| s.t > base.t)
        .find(|s| s.end.iter().zip(&base.end).all(|(now, then)| now > then))
        .map(|s| s.t - at)
}

/// The largest lag of group `g` (records), and when it was seen.
pub fn largest_lag(samples: &[Sample], g: usize) -> (i64, f64) {
    samples.iter().map(|s| (s.lag(g), s.t)).fold((0, 0.0), |best, this| if this.0 > best.0 { this } else { best })
}

/// The longest time group `g` committed nothing at all while it had records to consume, and when
/// that began.
pub fn longest_stall(samples: &[Sample], g: usize) -> (f64, f64) {
    let mut best = (0.0, 0.0);
    let mut since: Option<&Sample> = None;
    for s in samples {
        match since {
            Some(start) if s.committed[g] == start.committed[g] => {
                if s.t - start.t > best.0 {
                    best = (s.t - start.t, start.t);
                }
            }
            _ => since = (s.lag(g) > 0).then_some(s),
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(t: f64, end: [i64; 2], committed: [i64; 2]) -> Sample {
        Sample { t, end: end.to_vec(), committed: vec![committed.to_vec()], carried: 0 }
    }

    #[test]
    fn a_partition_left_behind_by_a_killed_consumer_counts_until_it_moves() {
        let samples = [
            sample(9.5, [100, 100], [90, 90]),
            sample(10.5, [110, 110], [90, 90]), // baseline: just after the kill at 10 s
            sample(11.0, [120, 120], [100, 90]), // partition 0 moves at once, 1 was the victim's
            sample(15.0, [160, 160], [150, 90]),
            sample(41.0, [420, 420], [400, 95]), // taken over
        ];
        assert_eq!(consumed_again(&samples, 0, 10.0), Some(31.0));
        assert_eq!(consumed_again(&samples, 0, 41.0), None, "nothing after the last sample");
    }

    #[test]
    fn a_partition_already_consumed_to_its_end_needs_no_move() {
        let samples = [sample(0.5, [10, 5], [10, 2]), sample(1.0, [10, 5], [10, 5])];
        assert_eq!(consumed_again(&samples, 0, 0.0), Some(1.0));
    }

    #[test]
    fn writes_resume_when_every_partition_end_moved() {
        let samples = [sample(1.0, [10, 10], [0, 0]), sample(2.0, [12, 10], [0, 0]), sample(9.0, [14, 11], [0, 0])];
        assert_eq!(written_again(&samples, 0.5), Some(8.5));
    }

    #[test]
    fn lag_and_stall_are_read_over_the_whole_run() {
        let samples = [
            sample(0.0, [10, 10], [10, 10]),
            sample(1.0, [20, 20], [12, 12]),
            sample(2.0, [40, 40], [12, 12]),
            sample(5.0, [60, 60], [12, 12]),
            sample(6.0, [60, 60], [60, 60]),
        ];
        assert_eq!(largest_lag(&samples, 0), (96, 5.0));
        assert_eq!(longest_stall(&samples, 0), (4.0, 1.0));
    }
}
