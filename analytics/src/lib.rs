//! The analytics role: a second consumer group on the spans topic that assembles whole traces per
//! partition and writes dependency links (Jaeger's `jaeger-dependencies-*`) and latency aggregates
//! (`skein-metrics-*`) to Elasticsearch, exactly once.
//!
//! Path of a record: [`worker`] reads it → [`partition`] assembles traces and counts spans into
//! time buckets → [`links`] turns a closed trace into calls → [`documents`] renders final buckets →
//! [`store`] writes them, then the checkpoint, then [`worker`] commits the offset. Records of
//! tenants ([`tenants`]: the `skein.tenant` header) are assembled and counted per tenant, and
//! their documents go to the tenant's indices.

pub mod documents;
pub mod error;
pub mod fence;
pub mod links;
pub mod names;
pub mod partition;
pub mod red;
pub mod store;
pub mod telemetry;
pub mod tenants;
pub mod worker;

#[cfg(test)]
mod partition_tests;

use std::sync::OnceLock;
use std::time::Duration;

use skein_core::consumer::Rejoins;
use skein_core::elasticsearch::rollover::wait_for_write_aliases;
use skein_core::net::ListenerGroup;
use skein_core::retry::Backoff;
use skein_core::role::{Preparation, RoleStart, RunningRole};
use skein_core::telemetry::Readiness;
use skein_core::SkeinConfig;
use skein_schemas::elasticsearch::{IndexNames, RolledFamily};
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

fn backoff(config: &SkeinConfig) -> Backoff {
    Backoff {
        initial: Duration::from_millis(config.analytics.retry_initial_backoff_ms),
        max: Duration::from_millis(config.analytics.retry_max_backoff_ms),
    }
}

/// Install the analytics index templates and create the topics, retrying until the servers answer.
fn preparation(config: &SkeinConfig, store_client: &elasticsearch::Elasticsearch) -> Preparation {
    let es = &config.elasticsearch;
    let templates = IndexNames::new(&es.index_prefix).analytics_templates(es.shards, es.replicas);
    Preparation::retrying(backoff(config))
        .install_templates("install analytics index templates", store_client, es, templates)
        .create_topics(&config.kafka)
}

/// In alias mode, dependencies go to their write alias: without it every document would be
/// denied, so analytics stops and says to run `skein indices rollover init`.
async fn require_aliases(
    config: &SkeinConfig,
    client: &elasticsearch::Elasticsearch,
    shutdown: &CancellationToken,
) -> Result<(), AnalyticsError> {
    if !config.elasticsearch.use_aliases {
        return Ok(());
    }
    let families = [RolledFamily::Dependencies];
    wait_for_write_aliases(client, &config.elasticsearch, &families, backoff(config), shutdown).await?;
    Ok(())
}

fn store(config: &SkeinConfig) -> Result<(elasticsearch::Elasticsearch, store::Store), AnalyticsError> {
    let client = skein_core::elasticsearch::client(&config.elasticsearch)?;
    let names = IndexNames::new(&config.elasticsearch.index_prefix);
    Ok((client.clone(), store::Store::new(client, names.analytics_state_index(), backoff(config))))
}

/// Start the live worker: admin endpoints, templates, then consume → assemble → write → commit
/// until `shutdown`; its join waits until the worker has flushed and stopped.
pub async fn start(config: &SkeinConfig, shutdown: CancellationToken) -> Result<RunningRole, AnalyticsError> {
    let addr = config.analytics.admin_listen;
    telemetry::describe();
    let admin = ListenerGroup::new("admin", &config.listeners.admin, &shutdown)?;
    let admin_auth = skein_core::auth::Authenticator::watching("admin", &config.listeners.admin.auth, &shutdown)?;
    let conditions = &["index_templates", "kafka_subscription"];
    let role = RoleStart::serve_admin_with_auth("analytics", addr, admin, conditions, admin_auth, &shutdown)
        .await
        .map_err(|source| AnalyticsError::Bind { addr, source })?;
    let (client, store) = store(config)?;
    let red = red_metrics(config.analytics.max_metric_series);
    let preparation = preparation(config, &client).then_ready("index_templates");
    let config = config.clone();
    let subscribed = role.readiness().clone();
    let failure = role.failure();
    let work = async move {
        let stop = shutdown.clone();
        if let Err(error) = require_aliases(&config, &client, &shutdown).await {
            tracing::error!(%error, "analytics cannot write in alias mode; stopping");
            failure.report(format!("analytics cannot write in alias mode: {error}"));
            stop.cancel();
            return;
        }
        let mut rejoins = Rejoins::default();
        let run = async {
            loop {
                let ready = subscribed.clone();
                let on_subscribed = move || ready.set("kafka_subscription", true);
                match worker::run_live(config.clone(), store.clone(), red.clone(), shutdown.clone(), on_subscribed)
                    .await
                {
                    // The new consumer resumes every partition from its checkpoint at a new epoch,
                    // which fences whatever the old one might still write.
                    Err(error) if error.fenced() && rejoins.allow(std::time::Instant::now()) => {
                        subscribed.set("kafka_subscription", false);
                        tracing::warn!(%error, "the group fenced this worker's static instance id; joining again");
                    }
                    other => return other,
                }
            }
        };
        // A worker that stops by itself takes the process down, so that it is restarted (from
        // its checkpoint) rather than left running without analytics.
        match futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(run)).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                tracing::error!(%error, "analytics failed; stopping");
                failure.report(format!("analytics failed: {error}"));
                stop.cancel();
            }
            Err(_) => {
                tracing::error!("analytics worker panicked; stopping");
                failure.report("the analytics worker panicked (see the log above)");
                stop.cancel();
            }
        }
    };
    Ok(role.spawn_after(preparation, work))
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
    if !preparation(config, &client).run(&Readiness::default(), &shutdown).await {
        return Err(AnalyticsError::Range("backfill interrupted".into()));
    }
    require_aliases(config, &client, &shutdown).await?;
    let red = red_metrics(config.analytics.max_metric_series);
    worker::run_backfill(config.clone(), store, red, from_ms, to_ms, shutdown).await
}
