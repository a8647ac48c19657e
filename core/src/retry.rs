//! Exponential backoff with jitter, interrupted by shutdown.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
}

impl Backoff {
    /// The delay before retry number `attempt` (0-based): doubling from `initial`, capped at `max`,
    /// with up to 20% jitter so many ingesters do not retry in step.
    pub fn delay(&self, attempt: u32) -> Duration {
        let base = self.initial.saturating_mul(1u32 << attempt.min(20)).min(self.max);
        let jitter = rand::random::<f64>() * 0.2;
        base.mul_f64(1.0 - jitter)
    }

    /// Sleep before a retry; false if shutdown came first.
    pub async fn wait(&self, attempt: u32, shutdown: &CancellationToken) -> bool {
        tokio::select! {
            _ = shutdown.cancelled() => false,
            _ = tokio::time::sleep(self.delay(attempt)) => true,
        }
    }
}

/// Run `operation` until it succeeds, waiting `backoff` between attempts (capped at its 7th delay)
/// and logging each failure as `cannot <what> yet`. `None` when shutdown came first.
pub async fn until_ok<T, E, F, Fut>(
    what: &str,
    backoff: Backoff,
    shutdown: &CancellationToken,
    mut operation: F,
) -> Option<T>
where
    E: std::fmt::Display,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
{
    let mut attempt = 0;
    loop {
        match operation().await {
            Ok(value) => return Some(value),
            Err(error) => tracing::warn!(%error, "cannot {what} yet; retrying"),
        }
        if !backoff.wait(attempt.min(6), shutdown).await {
            return None;
        }
        attempt += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delay_doubles_up_to_the_cap() {
        let backoff = Backoff { initial: Duration::from_millis(100), max: Duration::from_secs(1) };
        let first = backoff.delay(0);
        assert!(first <= Duration::from_millis(100) && first >= Duration::from_millis(80));
        let third = backoff.delay(2);
        assert!(third <= Duration::from_millis(400) && third >= Duration::from_millis(320));
        assert!(backoff.delay(30) <= Duration::from_secs(1));
    }
}
