//! The ingester role: spans topic → Jaeger documents in Elasticsearch, committing a partition's
//! offset only up to where every earlier record is durable (or dead-lettered).
//!
//! Path of a record: [`consumer`] reads it → [`pipeline`] gathers and hands it to a bulk task →
//! [`skein_schemas::jaeger`] converts → [`writer`] indexes it (through core's bulk writer,
//! retrying) or [`dead_letter`] parks it → [`pipeline`] marks it done and commits.

pub mod batch;
pub mod bounds;
pub mod consumer;
pub mod dead_letter;
pub mod error;
pub mod lag;
pub mod pipeline;
pub mod replay;
pub mod retention;
pub use skein_core::retry;
pub mod telemetry;
pub mod writer;

use std::time::Duration;

use skein_core::consumer::{Rejoins, SharedTracker};
use skein_core::elasticsearch::bulk::BlockedWrites;
use skein_core::elasticsearch::rollover::wait_for_write_aliases;
use skein_core::net::ListenerGroup;
use skein_core::role::{Preparation, RoleStart, RunningRole};
use skein_core::SkeinConfig;
use skein_schemas::elasticsearch::RolledFamily;
use tokio_util::sync::CancellationToken;

use dead_letter::DeadLetterQueue;
pub use error::IngesterError;
use retry::Backoff;

/// The `/readyz` condition that fails while Elasticsearch denies writes (privileges, an index
/// block, a missing index it may not create) or refuses bulk requests for good.
pub const WRITES_ACCEPTED: &str = "elasticsearch_accepts_writes";

/// Start the ingester: admin endpoints, index templates (retried until Elasticsearch answers),
/// then the consume → index → commit loop until `shutdown`; its join waits until the ingester has
/// drained and committed.
pub async fn start(config: &SkeinConfig, shutdown: CancellationToken) -> Result<RunningRole, IngesterError> {
    let ingester = config.ingester.clone();
    telemetry::describe();
    let admin = ListenerGroup::new("admin", &config.listeners.admin, &shutdown)?;
    let admin_auth = skein_core::auth::Authenticator::watching("admin", &config.listeners.admin.auth, &shutdown)?;
    let role = RoleStart::serve_admin_with_auth(
        "ingester",
        ingester.admin_listen,
        admin,
        &["index_templates", "kafka_subscription"],
        admin_auth,
        &shutdown,
    )
    .await
    .map_err(|source| IngesterError::Bind { addr: ingester.admin_listen, source })?;
    // Not ready while Elasticsearch denies writes or refuses requests for good: the records wait
    // (uncommitted) for an operator, and /readyz and the gauge say so.
    let readiness = role.readiness().clone();
    readiness.set(WRITES_ACCEPTED, true);
    let blocked = BlockedWrites::new(move |count| {
        readiness.set(WRITES_ACCEPTED, count == 0);
        telemetry::writes_blocked(count);
    });

    let backoff = Backoff {
        initial: Duration::from_millis(ingester.retry_initial_backoff_ms),
        max: Duration::from_millis(ingester.retry_max_backoff_ms),
    };
    let client = skein_core::elasticsearch::client(&config.elasticsearch)?;
    let names = config.elasticsearch.index_names();
    let dead_letters = DeadLetterQueue::new(&config.kafka, backoff)?;
    let sinks = pipeline::Sinks {
        bulk_slots: std::sync::Arc::new(tokio::sync::Semaphore::new(ingester.bulk_concurrency)),
        writer: writer::BatchWriter::new(client.clone(), dead_letters.clone(), backoff, blocked),
        dead_letters,
        names: names.clone(),
        trace_ids: config.elasticsearch.trace_id_format,
        retention_days: config.elasticsearch.retention_days,
        encoding: config.kafka.encoding,
    };

    let es = &config.elasticsearch;
    if es.retention_days > 0 {
        // Each tenant's indices age out as the untenanted ones do, each prefix under its own lease.
        for prefix in config.tenancy.every_prefix(es) {
            let daily = retention::DailyClean::new(client.clone(), &prefix, retention::holder());
            tokio::spawn(retention::run(daily, shutdown.clone()));
        }
    }
    // Subscribing to a topic that does not exist yet would wait for librdkafka's next metadata
    // refresh (minutes); create both topics first when the collector has not yet.
    let preparation = Preparation::retrying(backoff)
        .install_templates("install index templates", &client, es, span_templates(config))
        .then_ready("index_templates")
        .create_topics(&config.kafka);
    let config = config.clone();
    let task_readiness = role.readiness().clone();
    let failure = role.failure();
    let alias_client = client.clone();
    let work = async move {
        if config.elasticsearch.use_aliases {
            // Writing through a missing alias would only pile up denied writes: say what to do
            // and stop instead.
            let families = [RolledFamily::Span, RolledFamily::Service];
            match wait_for_write_aliases(&alias_client, &config.elasticsearch, &families, backoff, &shutdown).await {
                Ok(true) => {}
                Ok(false) => return,
                Err(error) => {
                    tracing::error!(%error, "ingester cannot write in alias mode; stopping");
                    failure.report(format!("ingester cannot write in alias mode: {error}"));
                    shutdown.cancel();
                    return;
                }
            }
        }
        let mut rejoins = Rejoins::default();
        loop {
            let tracker = SharedTracker::default();
            let consumer = match consumer::subscribe(&config.kafka, &config.ingester, tracker.clone()) {
                Ok(consumer) => consumer,
                Err(error) => {
                    // Running on without consuming would look healthy and index nothing: stop.
                    tracing::error!(%error, "ingester cannot start consuming; stopping");
                    failure.report(format!("ingester cannot start consuming: {error}"));
                    shutdown.cancel();
                    return;
                }
            };
            task_readiness.set("kafka_subscription", true);
            tracing::info!(topic = %config.kafka.spans_topic, group = %config.ingester.group_id, "ingester consuming");
            let result =
                pipeline::run(consumer, tracker, sinks.clone(), config.ingester.clone(), shutdown.clone()).await;
            match result {
                Ok(()) => return,
                // What the old consumer had not committed is read again by the new one (or the
                // partitions' next owner); documents have fixed ids, so nothing doubles.
                Err(error) if error.fenced() && rejoins.allow(std::time::Instant::now()) => {
                    task_readiness.set("kafka_subscription", false);
                    tracing::warn!(%error, "the group fenced this ingester's static instance id; joining again");
                }
                Err(error) => {
                    failure.report(error.to_string());
                    shutdown.cancel();
                    return;
                }
            }
        }
    };
    Ok(role.spawn_after(preparation, work))
}

/// Templates of the span and service indices: the configured prefix's, and each allowed
/// tenant's. Per tenant rather than a wider pattern: `jaeger-span-*` does not match
/// `acme-jaeger-span-*`, and a pattern wide enough to (`*jaeger-span-*`) would also take over
/// indices of other software sharing the cluster (Jaeger's own, with its own templates).
fn span_templates(config: &SkeinConfig) -> Vec<(String, serde_json::Value)> {
    let es = &config.elasticsearch;
    let names = es.index_names();
    let mut templates = names.templates(es.shards, es.replicas);
    for tenant in config.tenancy.allowed().unwrap_or_default() {
        templates.extend(names.for_tenant(&tenant).templates(es.shards, es.replicas));
    }
    templates
}
