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
    /// No answer: the connection was refused, broke or timed out (a collector restarting).
    Unreachable(String),
    Other(String),
}

impl Outcome {
    /// Worth sending again unchanged: the receiver pushed back or could not be reached. A refusal
    /// of the request itself (400, INVALID_ARGUMENT, ...) would be refused again.
    pub(crate) fn is_retryable(&self) -> bool {
        matches!(self, Outcome::TooManyRequests | Outcome::Unavailable | Outcome::Unreachable(_))
    }
}
