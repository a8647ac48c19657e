//! Warnings about refused spans, at most one per transport per interval: a client with a bug
//! sends the same bad span thousands of times a second, and the counters already count them all.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often each transport may warn about refused spans.
pub const INTERVAL: Duration = Duration::from_secs(10);

/// What was not logged since the last warning of a transport.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Suppressed {
    pub requests: u64,
    pub spans: u64,
}

#[derive(Debug)]
struct Window {
    logged_at: Instant,
    suppressed: Suppressed,
}

/// Per transport, when it last warned and what it left out since.
#[derive(Debug, Default)]
pub struct RefusalLog {
    windows: Mutex<HashMap<&'static str, Window>>,
}

impl RefusalLog {
    /// Whether a request of `transport` with `spans` refused at `now` may warn; if so, what was
    /// left out since the previous warning. Otherwise it is added to what was left out.
    pub fn admit(&self, transport: &'static str, spans: usize, now: Instant) -> Option<Suppressed> {
        let mut windows = self.windows.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match windows.get_mut(transport) {
            Some(window) if now.saturating_duration_since(window.logged_at) < INTERVAL => {
                window.suppressed.requests += 1;
                window.suppressed.spans += spans as u64;
                None
            }
            Some(window) => {
                window.logged_at = now;
                Some(std::mem::take(&mut window.suppressed))
            }
            None => {
                windows.insert(transport, Window { logged_at: now, suppressed: Suppressed::default() });
                Some(Suppressed::default())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transport_warns_once_per_interval_and_then_says_what_it_left_out() {
        let log = RefusalLog::default();
        let start = Instant::now();
        assert_eq!(log.admit("zipkin_json", 1, start), Some(Suppressed::default()));
        assert_eq!(log.admit("zipkin_json", 2, start + Duration::from_secs(1)), None);
        assert_eq!(log.admit("zipkin_json", 3, start + Duration::from_secs(9)), None);
        assert_eq!(
            log.admit("jaeger_grpc", 4, start + Duration::from_secs(9)),
            Some(Suppressed::default()),
            "each transport has its own window"
        );
        assert_eq!(log.admit("zipkin_json", 1, start + INTERVAL), Some(Suppressed { requests: 2, spans: 5 }));
        assert_eq!(log.admit("zipkin_json", 1, start + INTERVAL + Duration::from_secs(1)), None);
    }
}
