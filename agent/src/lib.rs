//! The agent role (`skein agent`): runs on each host (DaemonSet) or beside one application
//! (sidecar), receives Jaeger UDP datagrams and answers sampling requests, and forwards both to
//! the collectors over Jaeger gRPC (`PostSpans`, `GetSamplingStrategy` on port 14250), as Jaeger's
//! own agent does.
//!
//! Path of a span: [`skein_edge::udp`] decodes a datagram into a bounded queue →
//! [`forward::Forwarder`] sends it to a collector (retrying while collectors are unreachable or
//! overloaded) → the collector's path to Kafka.

pub mod error;
pub mod forward;

use std::net::SocketAddr;
use std::time::Duration;

use skein_core::net::ListenerGroup;
use skein_core::role::{RoleStart, RunningRole};
use skein_core::SkeinConfig;
use skein_edge::sampling;
use skein_edge::udp::UdpSockets;
use skein_schemas::thrift::Protocol;
use tokio_util::sync::CancellationToken;

pub use error::AgentError;
use forward::Forwarder;

/// Addresses the agent listens on; `None` when turned off.
#[derive(Debug, Clone, Copy)]
pub struct AgentAddresses {
    pub compact_udp: Option<SocketAddr>,
    pub binary_udp: Option<SocketAddr>,
    pub sampling_http: Option<SocketAddr>,
}

/// Start the agent: bind its sockets, serve until `shutdown`, then forward what is queued (its
/// join waits for that).
pub async fn start(
    config: &SkeinConfig,
    shutdown: CancellationToken,
) -> Result<RunningRole<AgentAddresses>, AgentError> {
    let agent = &config.agent;
    let forwarder = Forwarder::new(agent, &config.tenancy.header)?;
    let admin = ListenerGroup::new("admin", &config.listeners.admin, &shutdown)?;
    let receivers = ListenerGroup::new("receivers", &config.listeners.receivers, &shutdown)?;
    let admin_auth = skein_core::auth::Authenticator::watching("admin", &config.listeners.admin.auth, &shutdown)?;
    let sampling_auth =
        skein_core::auth::Authenticator::watching("receivers", &config.listeners.receivers.auth, &shutdown)?;
    let role = RoleStart::serve_admin_with_auth("agent", agent.admin_listen, admin, &[], admin_auth, &shutdown)
        .await
        .map_err(|source| AgentError::Bind { what: "admin endpoints", addr: agent.admin_listen, source })?;

    let sockets = UdpSockets::bind(agent.compact_udp_listen, agent.binary_udp_listen, agent.udp.socket_buffer_bytes)
        .map_err(|(_, addr, source)| AgentError::Bind { what: "Jaeger agent UDP", addr, source })?;
    let sampling_listener = match agent.sampling_http_listen.0 {
        Some(addr) => Some(tokio::net::TcpListener::bind(addr).await.map_err(|source| AgentError::Bind {
            what: "sampling HTTP",
            addr,
            source,
        })?),
        None => None,
    };
    let addresses = AgentAddresses {
        compact_udp: sockets.local_addr(Protocol::Compact),
        binary_udp: sockets.local_addr(Protocol::Binary),
        sampling_http: sampling_listener.as_ref().map(|l| l.local_addr().expect("bound")),
    };

    let mut tasks = tokio::task::JoinSet::new();
    let (queue, batches) = tokio::sync::mpsc::channel(agent.udp.queue_batches);
    sockets.spawn_into(&mut tasks, agent.udp.max_packet_bytes, &queue, &shutdown);
    drop(queue);
    tasks.spawn(forwarder.clone().forward_batches(
        batches,
        agent.udp.workers,
        Duration::from_millis(agent.forward_give_up_ms),
    ));
    if let Some(listener) = sampling_listener {
        let router =
            sampling::http::router(forwarder.sampling_source()).layer(skein_core::auth::AuthLayer::new(sampling_auth));
        tasks.spawn(receivers.serve_http(router, listener, "sampling HTTP", shutdown.clone()));
    }
    tracing::info!(?addresses, collector = %agent.collector_endpoint, admin = %agent.admin_listen, "agent listening");
    let work = async move {
        while tasks.join_next().await.is_some() {}
        tracing::info!("agent stopped");
    };
    Ok(role.spawn(work).listening_on(addresses))
}
