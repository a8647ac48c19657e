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
    /// The collectors' Jaeger gRPC endpoint; `https://` speaks TLS (with `collector_tls`).
    pub collector_endpoint: String,
    /// TLS to the collectors, for an `https://` endpoint.
    pub collector_tls: CollectorTlsConfig,
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
            collector_tls: CollectorTlsConfig::default(),
            forward_timeout_ms: 5_000,
            forward_give_up_ms: 30_000,
            udp: UdpConfig::default(),
            tenant: None,
        }
    }
}

/// TLS on the agent's link to the collectors (rustls).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct CollectorTlsConfig {
    /// PEM file of the CA that signed the collectors' certificate; without one the Mozilla roots
    /// (webpki-roots) are trusted.
    pub ca_file: Option<String>,
    /// PEM client certificate (chain), for collectors that require one (mTLS).
    pub cert_file: Option<String>,
    /// PEM private key of `cert_file`.
    pub key_file: Option<String>,
    /// Name to check the collectors' certificate against; default: the endpoint's host.
    pub server_name: Option<String>,
}

impl CollectorTlsConfig {
    /// The first option that is set, by name, if any.
    fn first_set(&self) -> Option<&'static str> {
        let options = [
            ("ca_file", self.ca_file.is_some()),
            ("cert_file", self.cert_file.is_some()),
            ("key_file", self.key_file.is_some()),
            ("server_name", self.server_name.is_some()),
        ];
        options.into_iter().find_map(|(name, set)| set.then_some(name))
    }
}

/// An `agent` option that cannot work.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AgentConfigError {
    #[error("agent.collector_endpoint '{0}' must be a URL such as http://collector:14250")]
    EndpointNotUrl(String),
    #[error("agent.collector_tls.{option} is set but agent.collector_endpoint '{endpoint}' is plain http: use an https:// endpoint or remove the TLS options")]
    TlsWithoutHttps { option: &'static str, endpoint: String },
    #[error("agent.collector_tls.cert_file and agent.collector_tls.key_file go together: set both for a client certificate, or neither")]
    TlsCertWithoutKey,
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
        let tls = &self.collector_tls;
        if tls.cert_file.is_some() != tls.key_file.is_some() {
            return Err(AgentConfigError::TlsCertWithoutKey);
        }
        if let Some(option) = tls.first_set().filter(|_| self.collector_endpoint.starts_with("http://")) {
            return Err(AgentConfigError::TlsWithoutHttps { option, endpoint: self.collector_endpoint.clone() });
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
    fn tls_options_with_a_plain_http_endpoint_are_refused() {
        let collector_tls = CollectorTlsConfig { ca_file: Some("ca.pem".into()), ..CollectorTlsConfig::default() };
        let agent = AgentConfig { collector_tls: collector_tls.clone(), ..AgentConfig::default() };
        let error = agent.validate().unwrap_err();
        assert_eq!(
            error,
            AgentConfigError::TlsWithoutHttps { option: "ca_file", endpoint: "http://127.0.0.1:14250".into() }
        );
        let agent = AgentConfig {
            collector_endpoint: "https://collector:14250".into(),
            collector_tls,
            ..AgentConfig::default()
        };
        agent.validate().expect("https with a CA is fine");
    }

    #[test]
    fn a_client_certificate_needs_its_key() {
        let agent = AgentConfig {
            collector_endpoint: "https://collector:14250".into(),
            collector_tls: CollectorTlsConfig { cert_file: Some("agent.pem".into()), ..CollectorTlsConfig::default() },
            ..AgentConfig::default()
        };
        assert_eq!(agent.validate(), Err(AgentConfigError::TlsCertWithoutKey));
    }

    #[test]
    fn a_udp_error_names_the_agent_section() {
        let mut agent = AgentConfig::default();
        agent.udp.queue_batches = 0;
        assert_eq!(agent.validate().unwrap_err().to_string(), "agent.udp.queue_batches must be at least 1");
    }
}
