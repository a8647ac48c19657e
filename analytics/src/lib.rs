//! The analytics role: a second consumer group on the spans topic that assembles whole traces per
//! partition and writes dependency links (Jaeger's `jaeger-dependencies-*`) and latency aggregates
//! (`skein-metrics-*`) to Elasticsearch, exactly once.
//!
//! Path of a record: [`worker`] reads it → [`partition`] assembles traces and counts spans into
//! time buckets → [`links`] turns a closed trace into calls → [`documents`] renders final buckets →
//! [`store`] writes them, then the checkpoint, then [`worker`] commits the offset.

pub mod documents;
pub mod error;
pub mod links;
pub mod names;
pub mod partition;
pub mod red;
pub mod store;
pub mod telemetry;
pub mod worker;

#[cfg(test)]
mod partition_tests;

use std::sync::OnceLock;
use std::time::Duration;

use skein_core::retry::{until_ok, Backoff};
use skein_core::telemetry::{serve_admin, Readiness};
use skein_core::SkeinConfig;
use skein_schemas::elasticsearch::IndexNames;
use tokio_util::sync::CancellationToken;

pub use error::AnalyticsError;
pub use worker::BackfillReport;

/// The RED table on `/metrics`: one per process, shared by every analytics worker in it.
fn red_metrics(max_series: usize) -> red::RedMetrics {
    static RED: OnceLock<red::RedMetrics> = OnceLock::new();
    RED.get_or_init(|| {
        let metrics = red::RedMetrics::new(max_series);
        let rendered = metrics.clone();
        skein_core::telemetry::register_metrics_text(Box::new(move || rendered.render()));
        metrics
    })
    .clone()
}

/// A started analytics worker.
pub struct RunningAnalytics {
    pub readiness: Readiness,
    task: tokio::task::JoinHandle<()>,
}

impl RunningAnalytics {
    /// Wait until the worker has flushed and stopped (after shutdown was cancelled).
    pub async fn join(self) {
        let _ = self.task.await;
    }
}

fn backoff(config: &SkeinConfig) -> Backoff {
    Backoff {
        initial: Duration::from_millis(config.analytics.retry_initial_backoff_ms),
        max: Duration::from_millis(config.analytics.retry_max_backoff_ms),
    }
}

/// Install the analytics index templates and create the topics, retrying until the servers answer.
async fn prepare(
    config: &SkeinConfig,
    store_client: &elasticsearch::Elasticsearch,
    shutdown: &CancellationToken,
) -> bool {
    let backoff = backoff(config);
    let names = IndexNames::new(&config.elasticsearch.index_prefix);
    if config.elasticsearch.create_templates {
        let templates = names.analytics_templates(config.elasticsearch.shards, config.elasticsearch.replicas);
        let install = || skein_core::elasticsearch::install_templates(store_client, &config.elasticsearch, &templates);
        if until_ok("install analytics index templates", backoff, shutdown, install).await.is_none() {
            return false;
        }
    }
    if config.kafka.create_topics {
        let create = || skein_core::kafka::ensure_topics(&config.kafka);
        if until_ok("create topics", backoff, shutdown, create).await.is_none() {
            return false;
        }
    }
    true
}

fn store(config: &SkeinConfig) -> Result<(elasticsearch::Elasticsearch, store::Store), AnalyticsError> {
    let client = skein_core::elasticsearch::client(&config.elasticsearch)?;
    let names = IndexNames::new(&config.elasticsearch.index_prefix);
    Ok((client.clone(), store::Store::new(client, names.analytics_state_index(), backoff(config))))
}

/// Start the live worker: admin endpoints, templates, then consume → assemble → write → commit
/// until `shutdown`.
pub async fn start(config: &SkeinConfig, shutdown: CancellationToken) -> Result<RunningAnalytics, AnalyticsError> {
    let readiness = Readiness::default();
    readiness.register("index_templates");
    readiness.register("kafka_subscription");
    let addr = config.analytics.admin_listen;
    serve_admin(addr, readiness.clone(), shutdown.clone())
        .await
        .map_err(|source| AnalyticsError::Bind { addr, source })?;
    let (client, store) = store(config)?;
    let red = red_metrics(config.analytics.max_metric_series);
    let config = config.clone();
    let task_readiness = readiness.clone();
    let task = tokio::spawn(async move {
        if !prepare(&config, &client, &shutdown).await {
            return;
        }
        task_readiness.set("index_templates", true);
        let subscribed = task_readiness.clone();
        let stop = shutdown.clone();
        let run = worker::run_live(config, store, red, shutdown, move || subscribed.set("kafka_subscription", true));
        // A worker that stops by itself takes the process down, so that it is restarted (from
        // its checkpoint) rather than left running without analytics.
        match futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(run)).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                tracing::error!(%error, "analytics failed; stopping");
                stop.cancel();
            }
            Err(_) => {
                tracing::error!("analytics worker panicked; stopping");
                stop.cancel();
            }
        }
    });
    Ok(RunningAnalytics { readiness, task })
}

/// Recompute links and aggregates of `[from_ms, to_ms)` from Kafka (consumer group
/// `<analytics.group_id>-backfill`); deterministic ids make it overwrite, not add.
pub async fn backfill(
    config: &SkeinConfig,
    from_ms: i64,
    to_ms: i64,
    shutdown: CancellationToken,
) -> Result<BackfillReport, AnalyticsError> {
    let (client, store) = store(config)?;
    if !prepare(config, &client, &shutdown).await {
        return Err(AnalyticsError::Range("backfill interrupted".into()));
    }
    let red = red_metrics(config.analytics.max_metric_series);
    worker::run_backfill(config.clone(), store, red, from_ms, to_ms, shutdown).await
}
