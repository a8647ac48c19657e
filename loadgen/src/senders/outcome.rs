//! What became of one request, as the statistics count it.

use std::time::{Duration, Instant};

/// The answer to one request, timed.
pub(crate) struct SendOutcome {
    pub(crate) result: Outcome,
    pub(crate) latency: Duration,
    pub(crate) finished: Instant,
}

pub(crate) enum Outcome {
    /// Accepted; `rejected` spans were refused in a partial success (or bulk items that failed).
    Acked {
        rejected: u64,
    },
    TooManyRequests,
    Unavailable,
    Other(String),
}
