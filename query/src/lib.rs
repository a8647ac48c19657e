//! The query role: Jaeger's HTTP API (`/api/...`) over the indices the ingester and analytics
//! write, so Jaeger UI and Grafana's Jaeger data source work against skein.
//!
//! A request goes: [`router`] → a handler ([`api`], [`v3`], [`metrics`], [`graph`],
//! [`pipeline`]) parses it ([`params`]) → [`reader`] queries the daily indices of the time range
//! and reads the documents as `skein_schemas` types → [`traces`] renders Jaeger's JSON
//! ([`skein_schemas::jaeger::ui`]) and applies Jaeger's adjusters ([`adjust`]) → the answer, in
//! Jaeger's [`envelope`] or as an [`error`]. Handlers share [`state`].

pub mod adjust;
pub mod api;
pub mod assets;
pub mod envelope;
pub mod error;
pub mod graph;
pub mod metrics;
pub mod params;
pub mod pipeline;
pub mod reader;
pub mod router;
pub mod state;
pub mod traces;
pub mod v3;

use std::net::SocketAddr;

use skein_core::telemetry::{serve_admin, Readiness};
use skein_core::SkeinConfig;
use tokio_util::sync::CancellationToken;

pub use error::QueryError;
pub use router::app;

/// A started query service.
pub struct RunningQuery {
    pub readiness: Readiness,
    /// Where the API listens (the configured address, with the port chosen when it was 0).
    pub address: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl RunningQuery {
    /// Wait until the server has stopped (after shutdown was cancelled).
    pub async fn join(self) {
        let _ = self.task.await;
    }
}

/// Keep `/readyz` telling whether Elasticsearch answers (every 5 s).
async fn watch_elasticsearch(client: elasticsearch::Elasticsearch, readiness: Readiness, shutdown: CancellationToken) {
    loop {
        let health = client.cluster().health(elasticsearch::cluster::ClusterHealthParts::None).send().await;
        let up = health.is_ok_and(|response| response.status_code().is_success());
        readiness.set("elasticsearch", up);
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(std::time::Duration::from_secs(if up { 5 } else { 1 })) => {}
        }
    }
}

/// Start the API and admin endpoints; serve until `shutdown`.
pub async fn start(config: &SkeinConfig, shutdown: CancellationToken) -> Result<RunningQuery, QueryError> {
    let readiness = Readiness::default();
    readiness.register("elasticsearch");
    let query = config.query.clone();
    serve_admin(query.admin_listen, readiness.clone(), shutdown.clone())
        .await
        .map_err(|source| QueryError::Bind { addr: query.admin_listen, source })?;
    let client = skein_core::elasticsearch::client(&config.elasticsearch)?;
    tokio::spawn(watch_elasticsearch(client.clone(), readiness.clone(), shutdown.clone()));
    let router = app(config, client);
    let listener = tokio::net::TcpListener::bind(query.listen)
        .await
        .map_err(|source| QueryError::Bind { addr: query.listen, source })?;
    let address = listener.local_addr().map_err(|source| QueryError::Bind { addr: query.listen, source })?;
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, router).with_graceful_shutdown(shutdown.cancelled_owned()).await;
        if let Err(error) = served {
            tracing::error!(%error, "query API stopped");
        }
    });
    tracing::info!(%address, "query API listening");
    Ok(RunningQuery { readiness, address, task })
}
