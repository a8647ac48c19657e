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
pub mod tenancy;
pub mod traces;
pub mod v3;

use std::net::SocketAddr;

use skein_core::auth::{AuthLayer, Authenticator};
use skein_core::net::ListenerGroup;
use skein_core::role::{RoleStart, RunningRole};
use skein_core::telemetry::Readiness;
use skein_core::SkeinConfig;
use tokio_util::sync::CancellationToken;

pub use error::QueryError;
pub use router::app;

/// Where a started query role listens.
#[derive(Debug, Clone, Copy)]
pub struct QueryAddresses {
    /// The API and UI (the configured address, with the port chosen when it was 0).
    pub api: SocketAddr,
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
pub async fn start(
    config: &SkeinConfig,
    shutdown: CancellationToken,
) -> Result<RunningRole<QueryAddresses>, QueryError> {
    let query = &config.query;
    let admin = ListenerGroup::new("admin", &config.listeners.admin, &shutdown)?;
    let api = ListenerGroup::new("query", &config.listeners.query, &shutdown)?;
    let admin_auth = Authenticator::watching("admin", &config.listeners.admin.auth, &shutdown)?;
    let role =
        RoleStart::serve_admin_with_auth("query", query.admin_listen, admin, &["elasticsearch"], admin_auth, &shutdown)
            .await
            .map_err(|source| QueryError::Bind { addr: query.admin_listen, source })?;
    let client = skein_core::elasticsearch::client(&config.elasticsearch)?;
    tokio::spawn(watch_elasticsearch(client.clone(), role.readiness().clone(), shutdown.clone()));
    // Every path, the UI's too: with basic auth the browser asks once at the first page and sends
    // the credentials on each API call after it.
    let api_auth = Authenticator::watching("query", &config.listeners.query.auth, &shutdown)?;
    let router = app(config, client).layer(AuthLayer::new(api_auth));
    let listener = tokio::net::TcpListener::bind(query.listen)
        .await
        .map_err(|source| QueryError::Bind { addr: query.listen, source })?;
    let address = listener.local_addr().map_err(|source| QueryError::Bind { addr: query.listen, source })?;
    let running = role.spawn(api.serve_http(router, listener, "query API", shutdown));
    tracing::info!(%address, "query API listening");
    Ok(running.listening_on(QueryAddresses { api: address }))
}
