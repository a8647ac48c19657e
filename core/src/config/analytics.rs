//! `analytics`: dependency links and latency aggregates from a second consumer group.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use super::kafka::StartFrom;
use super::listen::loopback;

const SECONDS_PER_DAY: u32 = 86_400;

/// The analytics role. Changing any of the trace or bucket settings changes what is written; keep
/// them equal across the workers of one group.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnalyticsConfig {
    /// Consumer group.
    pub group_id: String,
    /// `/metrics`, `/healthz`, `/readyz`.
    pub admin_listen: SocketAddr,
    /// Where a new group starts: `earliest` or `latest`.
    pub start_from: StartFrom,
    /// A trace is complete once no span arrived for this long (record time), ms.
    pub trace_idle_ms: u64,
    /// A trace is closed this long after its first span at the latest, ms.
    pub trace_max_age_ms: u64,
    /// Open traces per partition; beyond it the trace closest to its deadline closes early.
    pub max_open_traces: usize,
    /// Spans buffered per trace; a longer trace closes early and its later spans start a new
    /// part.
    pub max_spans_per_trace: usize,
    /// Length of a latency bucket (`skein-metrics-*` documents), seconds; must divide a day.
    pub bucket_seconds: u32,
    /// Length of a `jaeger-dependencies-*` document's bucket, seconds; a multiple of
    /// `bucket_seconds` that divides a day.
    pub dependencies_bucket_seconds: u32,
    /// How often final documents, checkpoints and offsets are written, ms: the next flush starts
    /// this long after the previous one ended.
    pub flush_interval_ms: u64,
    /// Also write documents of buckets not yet final at every flush (only the series changed
    /// since the previous flush; overwritten when final), so figures show within seconds.
    pub write_open_buckets: bool,
    /// A partition read to its end with nothing new for this long gets a watermark marker
    /// record, so its open traces and buckets close, ms.
    pub idle_partition_ms: u64,
    /// Largest number of (service, operation, kind, status) series on `/metrics`; spans of
    /// further series are counted in `skein_analytics_red_series_dropped_total` and logged (one
    /// warning per 10 s).
    pub max_metric_series: usize,
    /// First retry delay for Elasticsearch writes, ms; doubles up to the max.
    pub retry_initial_backoff_ms: u64,
    /// Longest retry delay, ms.
    pub retry_max_backoff_ms: u64,
}

impl Default for AnalyticsConfig {
    fn default() -> Self {
        Self {
            group_id: "skein-analytics".into(),
            admin_listen: loopback(14272),
            start_from: StartFrom::Earliest,
            trace_idle_ms: 10_000,
            trace_max_age_ms: 300_000,
            max_open_traces: 100_000,
            max_spans_per_trace: 10_000,
            bucket_seconds: 60,
            dependencies_bucket_seconds: 900,
            flush_interval_ms: 1000,
            write_open_buckets: true,
            idle_partition_ms: 3000,
            max_metric_series: 10_000,
            retry_initial_backoff_ms: 100,
            retry_max_backoff_ms: 10_000,
        }
    }
}

/// An `analytics` option that cannot work.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AnalyticsConfigError {
    #[error("analytics.bucket_seconds must divide a day (86400), e.g. 60 or 300 (it is {0})")]
    BucketNotInDay(u32),
    #[error(
        "analytics.dependencies_bucket_seconds must be a multiple of analytics.bucket_seconds ({bucket}) and divide a day (86400), e.g. 900 (it is {dependencies})"
    )]
    DependenciesBucket { dependencies: u32, bucket: u32 },
    #[error("analytics.trace_idle_ms ({idle}) must be positive and not above analytics.trace_max_age_ms ({max_age})")]
    TraceIdle { idle: u64, max_age: u64 },
    #[error("{0} must be at least 1")]
    Zero(&'static str),
    #[error(
        "analytics.retry_initial_backoff_ms ({initial}) must be positive and not above analytics.retry_max_backoff_ms ({max})"
    )]
    Backoff { initial: u64, max: u64 },
}

impl AnalyticsConfig {
    /// Rules within `analytics` that serde cannot express.
    pub fn validate(&self) -> Result<(), AnalyticsConfigError> {
        let divides_a_day = |seconds: u32| seconds > 0 && SECONDS_PER_DAY.is_multiple_of(seconds);
        if !divides_a_day(self.bucket_seconds) {
            return Err(AnalyticsConfigError::BucketNotInDay(self.bucket_seconds));
        }
        // Zero would be a multiple of anything; it is refused as it cannot divide a day.
        if !self.dependencies_bucket_seconds.is_multiple_of(self.bucket_seconds)
            || !divides_a_day(self.dependencies_bucket_seconds)
        {
            return Err(AnalyticsConfigError::DependenciesBucket {
                dependencies: self.dependencies_bucket_seconds,
                bucket: self.bucket_seconds,
            });
        }
        if self.trace_idle_ms == 0 || self.trace_idle_ms > self.trace_max_age_ms {
            return Err(AnalyticsConfigError::TraceIdle { idle: self.trace_idle_ms, max_age: self.trace_max_age_ms });
        }
        for (option, value) in [
            ("analytics.max_open_traces", self.max_open_traces as u64),
            ("analytics.max_spans_per_trace", self.max_spans_per_trace as u64),
            ("analytics.flush_interval_ms", self.flush_interval_ms),
        ] {
            if value == 0 {
                return Err(AnalyticsConfigError::Zero(option));
            }
        }
        if self.retry_initial_backoff_ms == 0 || self.retry_initial_backoff_ms > self.retry_max_backoff_ms {
            return Err(AnalyticsConfigError::Backoff {
                initial: self.retry_initial_backoff_ms,
                max: self.retry_max_backoff_ms,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(change: impl FnOnce(&mut AnalyticsConfig)) -> Result<(), AnalyticsConfigError> {
        let mut analytics = AnalyticsConfig::default();
        change(&mut analytics);
        analytics.validate()
    }

    #[test]
    fn latency_buckets_must_divide_a_day() {
        assert_eq!(with(|a| a.bucket_seconds = 7), Err(AnalyticsConfigError::BucketNotInDay(7)));
        assert_eq!(with(|a| a.bucket_seconds = 0), Err(AnalyticsConfigError::BucketNotInDay(0)));
        with(|a| a.bucket_seconds = 300).expect("300 s divides a day");
    }

    #[test]
    fn dependency_buckets_are_whole_latency_buckets_dividing_a_day() {
        let refused = |dependencies| Err(AnalyticsConfigError::DependenciesBucket { dependencies, bucket: 60 });
        assert_eq!(with(|a| a.dependencies_bucket_seconds = 90), refused(90));
        assert_eq!(with(|a| a.dependencies_bucket_seconds = 60 * 7), refused(420));
        with(|a| a.dependencies_bucket_seconds = 3600).expect("an hour of minutes");
    }

    #[test]
    fn zero_dependency_buckets_are_refused() {
        // Zero passed before and made the worker panic on its first bucket (a remainder by zero).
        assert_eq!(
            with(|a| a.dependencies_bucket_seconds = 0),
            Err(AnalyticsConfigError::DependenciesBucket { dependencies: 0, bucket: 60 })
        );
    }

    #[test]
    fn idle_time_above_the_trace_age_limit_is_refused() {
        assert_eq!(
            with(|a| a.trace_idle_ms = 400_000),
            Err(AnalyticsConfigError::TraceIdle { idle: 400_000, max_age: 300_000 })
        );
        assert!(matches!(with(|a| a.trace_idle_ms = 0), Err(AnalyticsConfigError::TraceIdle { idle: 0, .. })));
    }

    #[test]
    fn zero_limits_name_their_option() {
        assert_eq!(with(|a| a.max_open_traces = 0), Err(AnalyticsConfigError::Zero("analytics.max_open_traces")));
        assert_eq!(
            with(|a| a.max_spans_per_trace = 0),
            Err(AnalyticsConfigError::Zero("analytics.max_spans_per_trace"))
        );
        assert_eq!(with(|a| a.flush_interval_ms = 0), Err(AnalyticsConfigError::Zero("analytics.flush_interval_ms")));
    }

    #[test]
    fn first_backoff_above_the_longest_is_refused() {
        assert_eq!(
            with(|a| a.retry_initial_backoff_ms = 20_000),
            Err(AnalyticsConfigError::Backoff { initial: 20_000, max: 10_000 })
        );
    }
}
