//! Per-tenant rate limits (`tenancy.rate_limit_spans_per_second`, `tenancy.rate_limits`): a
//! token bucket per tenant, refilled at the tenant's rate and holding one second of spans. A
//! request is accepted or refused whole, so a client never has to find out which of its spans
//! were kept.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use skein_core::config::TenancyConfig;
use skein_schemas::tenant::Tenant;

/// A tenant's bucket: `tokens` spans may be sent now (negative: owed by a request larger than
/// the bucket, which was let through when the bucket was full).
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// A refusal: the tenant's limit, and when a request of that size would fit.
#[derive(Debug, Clone, PartialEq)]
pub struct Limited {
    pub spans_per_second: u64,
    pub retry_after: Duration,
}

/// The limits of every tenant.
#[derive(Debug, Default)]
pub struct RateLimits {
    rates: HashMap<Tenant, u64>,
    buckets: Mutex<HashMap<Tenant, Bucket>>,
}

impl RateLimits {
    /// The limits of the allow-list (tenants without one are not limited).
    pub fn new(config: &TenancyConfig) -> Self {
        let rates = config
            .allowed()
            .unwrap_or_default()
            .into_iter()
            .filter_map(|tenant| config.rate_limit(&tenant).map(|rate| (tenant, rate)))
            .collect();
        Self { rates, buckets: Mutex::default() }
    }

    /// Take `spans` from `tenant`'s bucket at `now`, or say when to come back. A request larger
    /// than the bucket passes only when the bucket is full (and leaves it owing), so such a
    /// request is slowed to the rate but never refused for ever.
    pub fn take(&self, tenant: &Tenant, spans: usize, now: Instant) -> Result<(), Limited> {
        let Some(&rate) = self.rates.get(tenant) else { return Ok(()) };
        if spans == 0 {
            return Ok(());
        }
        let capacity = rate as f64;
        let wanted = spans as f64;
        // A poisoned lock only means a panic elsewhere mid-update: the buckets are still numbers.
        let mut buckets = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let bucket = buckets.entry(tenant.clone()).or_insert(Bucket { tokens: capacity, updated: now });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * capacity).min(capacity);
        bucket.updated = now;
        if wanted <= bucket.tokens || bucket.tokens >= capacity {
            bucket.tokens -= wanted;
            return Ok(());
        }
        let missing = wanted.min(capacity) - bucket.tokens;
        Err(Limited { spans_per_second: rate, retry_after: Duration::from_secs_f64(missing / capacity) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(rate: u64) -> (RateLimits, Tenant) {
        let config = TenancyConfig {
            enabled: true,
            tenants: vec!["acme".into(), "free".into()],
            rate_limits: [("acme".to_string(), rate)].into(),
            ..TenancyConfig::default()
        };
        (RateLimits::new(&config), Tenant::parse("acme").unwrap())
    }

    #[test]
    fn a_tenant_sends_its_rate_then_is_refused_until_the_bucket_refills() {
        let (limits, acme) = limits(100);
        let start = Instant::now();
        limits.take(&acme, 60, start).expect("within the first second's spans");
        limits.take(&acme, 40, start).expect("exactly the bucket");
        let refused = limits.take(&acme, 50, start).unwrap_err();
        assert_eq!(refused.spans_per_second, 100);
        assert_eq!(refused.retry_after, Duration::from_millis(500), "50 spans at 100/s");
        let later = start + Duration::from_millis(500);
        limits.take(&acme, 50, later).expect("refilled by then");
    }

    #[test]
    fn a_request_larger_than_the_bucket_passes_when_it_is_full_and_is_then_paid_back() {
        let (limits, acme) = limits(10);
        let start = Instant::now();
        limits.take(&acme, 30, start).expect("a full bucket lets a large request through");
        let refused = limits.take(&acme, 1, start + Duration::from_secs(1)).unwrap_err();
        assert_eq!(refused.retry_after, Duration::from_millis(1100), "20 owed then 1 more, at 10/s");
        limits.take(&acme, 1, start + Duration::from_millis(2100)).expect("paid back");
        // Never refused for ever: once full again, the large request passes again.
        limits.take(&acme, 30, start + Duration::from_secs(10)).expect("full again");
    }

    #[test]
    fn tenants_have_their_own_buckets_and_unlimited_ones_none() {
        let (limits, acme) = limits(5);
        let free = Tenant::parse("free").unwrap();
        let now = Instant::now();
        limits.take(&acme, 5, now).unwrap();
        assert!(limits.take(&acme, 1, now).is_err());
        for _ in 0..100 {
            limits.take(&free, 1_000, now).expect("no limit for free");
        }
    }
}
