//! `agent`: Jaeger UDP and sampling beside applications, forwarded to collectors.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use super::collector::DEFAULT_JAEGER_GRPC_PORT;
use super::listen::{loopback, Listen};
use super::udp::{UdpConfig, UdpConfigError};

/// The agent role (`skein agent`): runs beside applications (DaemonSet or sidecar), receives Jaeger
/// UDP and serves sampling, and forwards to collectors over Jaeger gRPC.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AgentConfig {
    /// Compact Thrift UDP; `off` disables.
    pub compact_udp_listen: Listen,
    /// Binary Thrift UDP; `off` disables.
    pub binary_udp_listen: Listen,
    /// Remote sampling over HTTP, answered from the collector's strategies; `off` disables.
    pub sampling_http_listen: Listen,
    /// `/metrics`, `/healthz`, `/readyz`.
    pub admin_listen: SocketAddr,
    /// The collectors' Jaeger gRPC endpoint.
    pub collector_endpoint: String,
    /// Time allowed for one forward to a collector before it is retried, ms.
    pub forward_timeout_ms: u64,
    /// How long a batch is retried (collector unreachable or overloaded) before it is dropped and
    /// counted, ms.
    pub forward_give_up_ms: u64,
    /// UDP receivers' limits.
    pub udp: UdpConfig,
    /// The tenant of every span this agent forwards, sent as the tenant header on its link when
    /// the collectors run with `tenancy.enabled`.
    pub tenant: Option<String>,
}

impl Default for AgentConfig {
    fn default() -> Self {
        Self {
            compact_udp_listen: Listen::loopback(6831),
            binary_udp_listen: Listen::loopback(6832),
            sampling_http_listen: Listen::loopback(5778),
            admin_listen: loopback(14271),
            // A collector on the same host, at its default address.
            collector_endpoint: format!("http://{}", loopback(DEFAULT_JAEGER_GRPC_PORT)),
            forward_timeout_ms: 5_000,
            forward_give_up_ms: 30_000,
            udp: UdpConfig::default(),
            tenant: None,
        }
    }
}

/// An `agent` option that cannot work.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AgentConfigError {
    #[error("agent.collector_endpoint '{0}' must be a URL such as http://collector:14250")]
    EndpointNotUrl(String),
    #[error("agent.{0}")]
    Udp(UdpConfigError),
    #[error("agent.tenant: {0}")]
    Tenant(skein_schemas::tenant::TenantNameError),
}

impl AgentConfig {
    /// Rules within `agent` that serde cannot express.
    pub fn validate(&self) -> Result<(), AgentConfigError> {
        if !self.collector_endpoint.starts_with("http://") && !self.collector_endpoint.starts_with("https://") {
            return Err(AgentConfigError::EndpointNotUrl(self.collector_endpoint.clone()));
        }
        if let Some(tenant) = &self.tenant {
            skein_schemas::tenant::Tenant::parse(tenant).map_err(AgentConfigError::Tenant)?;
        }
        // Wrapped, not a source: the message names the section once.
        self.udp.validate().map_err(AgentConfigError::Udp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collector_endpoint_without_a_scheme_is_refused() {
        let agent = AgentConfig { collector_endpoint: "collector:14250".into(), ..AgentConfig::default() };
        assert_eq!(agent.validate(), Err(AgentConfigError::EndpointNotUrl("collector:14250".into())));
        let agent = AgentConfig { collector_endpoint: "https://collector:14250".into(), ..AgentConfig::default() };
        agent.validate().expect("an https endpoint is a URL");
    }

    #[test]
    fn a_udp_error_names_the_agent_section() {
        let mut agent = AgentConfig::default();
        agent.udp.queue_batches = 0;
        assert_eq!(agent.validate().unwrap_err().to_string(), "agent.udp.queue_batches must be at least 1");
    }
}
