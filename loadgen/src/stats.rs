//! Counts of what was sent and what became of it, and the request latency histogram.

use crate::senders::{Outcome, SendOutcome};

pub(crate) struct Stats {
    pub(crate) requests: u64,
    pub(crate) acked_requests: u64,
    pub(crate) sent_spans: u64,
    pub(crate) sent_bytes: u64,
    pub(crate) acked_spans: u64,
    pub(crate) rejected_spans: u64,
    pub(crate) too_many_requests: u64,
    pub(crate) unavailable: u64,
    pub(crate) unreachable: u64,
    pub(crate) other: u64,
    /// Requests sent again after backpressure or no answer (`--retry-secs`).
    pub(crate) resends: u64,
    pub(crate) first_error: Option<String>,
    pub(crate) latency_us: hdrhistogram::Histogram<u64>,
}

impl Stats {
    pub(crate) fn new() -> Self {
        Self {
            requests: 0,
            acked_requests: 0,
            sent_spans: 0,
            sent_bytes: 0,
            acked_spans: 0,
            rejected_spans: 0,
            too_many_requests: 0,
            unavailable: 0,
            unreachable: 0,
            other: 0,
            resends: 0,
            first_error: None,
            latency_us: hdrhistogram::Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds"),
        }
    }

    /// Count one finished request of `spans` spans.
    pub(crate) fn add(&mut self, (spans, outcome, resends): (usize, SendOutcome, u64)) {
        self.requests += 1;
        self.resends += resends;
        self.sent_spans += spans as u64;
        self.latency_us.saturating_record(outcome.latency.as_micros() as u64);
        match outcome.result {
            Outcome::Acked { rejected } => {
                self.acked_requests += 1;
                self.acked_spans += spans as u64 - rejected.min(spans as u64);
                self.rejected_spans += rejected;
            }
            Outcome::TooManyRequests => self.too_many_requests += 1,
            Outcome::Unavailable => self.unavailable += 1,
            Outcome::Unreachable(message) => {
                self.unreachable += 1;
                self.first_error.get_or_insert(message);
            }
            Outcome::Other(message) => {
                self.other += 1;
                self.first_error.get_or_insert(message);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    fn outcome(result: Outcome, latency_ms: u64) -> SendOutcome {
        SendOutcome { result, latency: Duration::from_millis(latency_ms), finished: Instant::now() }
    }

    #[test]
    fn outcomes_are_counted_by_kind_and_only_the_first_error_is_kept() {
        let mut stats = Stats::new();
        stats.add((10, outcome(Outcome::Acked { rejected: 3 }, 5), 2));
        stats.add((10, outcome(Outcome::TooManyRequests, 1), 0));
        stats.add((10, outcome(Outcome::Unavailable, 1), 0));
        stats.add((10, outcome(Outcome::Other("first".into()), 1), 0));
        stats.add((10, outcome(Outcome::Other("second".into()), 20), 0));
        stats.add((10, outcome(Outcome::Unreachable("refused".into()), 1), 1));
        assert_eq!((stats.requests, stats.acked_requests, stats.sent_spans), (6, 1, 60));
        assert_eq!((stats.acked_spans, stats.rejected_spans, stats.resends), (7, 3, 3));
        assert_eq!((stats.too_many_requests, stats.unavailable, stats.unreachable, stats.other), (1, 1, 1, 2));
        assert_eq!(stats.first_error.as_deref(), Some("first"));
        assert!(stats.latency_us.max() >= 20_000);
    }
}
