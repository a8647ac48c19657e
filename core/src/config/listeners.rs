//! `listeners`: how each group of listeners takes connections — TLS, the connection limit, the
//! header-read and idle timeouts, gRPC streams per connection. Three groups: `receivers` (the
//! collector's OTLP, Jaeger, Zipkin and sampling ports, and the agent's sampling port), `query`
//! (the query API and UI) and `admin` (every role's `/metrics`, `/healthz`, `/readyz`).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::auth::{AuthConfig, AuthConfigError};

/// The listener groups.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ListenersConfig {
    /// The collector's receivers (OTLP gRPC and HTTP, Jaeger gRPC and Thrift HTTP, Zipkin,
    /// sampling HTTP) and the agent's sampling HTTP.
    pub receivers: ListenerGroupConfig,
    /// The query API and the UI.
    pub query: ListenerGroupConfig,
    /// Every role's admin port.
    pub admin: ListenerGroupConfig,
}

/// How the listeners of one group take connections.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ListenerGroupConfig {
    /// TLS; off until `tls.cert_file` is set.
    pub tls: TlsConfig,
    /// Who may send requests: bearer tokens and/or basic auth; off until a file is set.
    pub auth: AuthConfig,
    /// Open connections per listener; one more is accepted and closed at once (counted). `0`: no limit.
    pub max_connections: usize,
    /// Time for a client to finish the TLS handshake and, on HTTP/1, to send a request's headers, ms.
    /// `0`: no limit.
    pub header_read_timeout_ms: u64,
    /// A connection that sends and receives nothing this long is closed, ms. `0`: never.
    pub idle_timeout_ms: u64,
    /// Concurrent HTTP/2 streams (gRPC calls) per connection.
    pub grpc_max_concurrent_streams: u32,
}

impl Default for ListenerGroupConfig {
    fn default() -> Self {
        Self {
            tls: TlsConfig::default(),
            auth: AuthConfig::default(),
            // A busy collector sees a few hundred SDK and agent connections; this leaves room
            // and still bounds the file descriptors and memory a flood can take.
            max_connections: 10_000,
            // hyper's own default for HTTP/1 headers.
            header_read_timeout_ms: 30_000,
            // SDKs keep one connection open between exports every few seconds: five minutes of
            // silence is a client that is gone.
            idle_timeout_ms: 300_000,
            // Far above what one client multiplexes (the skein agent runs 16 forwarders, an SDK a
            // few exports at a time), and still a bound on the calls one connection holds open.
            grpc_max_concurrent_streams: 1000,
        }
    }
}

/// Server TLS of a listener group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// PEM certificate chain, the server's certificate first; TLS is on when set.
    pub cert_file: Option<PathBuf>,
    /// PEM private key of the certificate (PKCS#8, PKCS#1 or SEC1).
    pub key_file: Option<PathBuf>,
    /// PEM CA certificates that client certificates are checked against (mTLS).
    pub client_ca_file: Option<PathBuf>,
    /// `none`, `optional` (a client without a certificate is let in, one with a bad one is not)
    /// or `required`; unset: `required` when `client_ca_file` is set, else `none`.
    pub client_auth: Option<ClientAuth>,
    /// How often the certificate and key files are checked for a change, ms; `0`: never.
    pub reload_interval_ms: u64,
}

impl Default for TlsConfig {
    fn default() -> Self {
        Self { cert_file: None, key_file: None, client_ca_file: None, client_auth: None, reload_interval_ms: 10_000 }
    }
}

/// Whether clients must present a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    None,
    Optional,
    Required,
}

/// A cross-field rule of a group's TLS options that does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListenersConfigError {
    #[error(
        "listeners.{group}.tls.{set} is set without listeners.{group}.tls.{missing}; set both (PEM files) or neither"
    )]
    Incomplete { group: &'static str, set: &'static str, missing: &'static str },
    #[error(
        "listeners.{group}.tls.client_ca_file needs listeners.{group}.tls.cert_file and key_file: client certificates are checked only over TLS"
    )]
    ClientCaWithoutTls { group: &'static str },
    #[error(
        "listeners.{group}.tls.client_auth is {auth} but listeners.{group}.tls.client_ca_file is not set; give the CA that signs client certificates"
    )]
    ClientAuthWithoutCa { group: &'static str, auth: &'static str },
    #[error(
        "listeners.{group}.tls.client_auth is none but listeners.{group}.tls.client_ca_file is set; remove the CA or set client_auth to optional or required"
    )]
    UnusedClientCa { group: &'static str },
}

impl ClientAuth {
    fn as_str(self) -> &'static str {
        match self {
            ClientAuth::None => "none",
            ClientAuth::Optional => "optional",
            ClientAuth::Required => "required",
        }
    }
}

impl TlsConfig {
    /// True when the group serves TLS.
    pub fn enabled(&self) -> bool {
        self.cert_file.is_some()
    }

    /// The client authentication in force: `client_auth`, or its default.
    pub fn effective_client_auth(&self) -> ClientAuth {
        match (self.client_auth, &self.client_ca_file) {
            (Some(auth), _) => auth,
            (None, Some(_)) => ClientAuth::Required,
            (None, None) => ClientAuth::None,
        }
    }

    fn validate(&self, group: &'static str) -> Result<(), ListenersConfigError> {
        let incomplete = |set, missing| ListenersConfigError::Incomplete { group, set, missing };
        match (&self.cert_file, &self.key_file) {
            (Some(_), None) => return Err(incomplete("cert_file", "key_file")),
            (None, Some(_)) => return Err(incomplete("key_file", "cert_file")),
            _ => {}
        }
        if self.client_ca_file.is_some() && !self.enabled() {
            return Err(ListenersConfigError::ClientCaWithoutTls { group });
        }
        match (self.client_auth, &self.client_ca_file) {
            (Some(auth @ (ClientAuth::Optional | ClientAuth::Required)), None) => {
                Err(ListenersConfigError::ClientAuthWithoutCa { group, auth: auth.as_str() })
            }
            (Some(ClientAuth::None), Some(_)) => Err(ListenersConfigError::UnusedClientCa { group }),
            _ => Ok(()),
        }
    }
}

impl ListenersConfig {
    /// Each group's cross-field rules.
    pub fn validate(&self) -> Result<(), ListenersConfigError> {
        self.receivers.tls.validate("receivers")?;
        self.query.tls.validate("query")?;
        self.admin.tls.validate("admin")
    }

    /// Each group's authentication rules.
    pub fn validate_auth(&self) -> Result<(), AuthConfigError> {
        self.receivers.auth.validate("receivers")?;
        self.query.auth.validate("query")?;
        self.admin.auth.validate("admin")
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{ConfigError, SkeinConfig};

    use super::*;

    fn error(yaml: &str) -> String {
        match SkeinConfig::from_yaml_str(yaml) {
            Err(ConfigError::Listeners(error)) => error.to_string(),
            other => panic!("expected a listeners error, got {other:?}"),
        }
    }

    #[test]
    fn tls_is_off_by_default_and_on_with_a_certificate() {
        let config = SkeinConfig::default();
        assert!(!config.listeners.receivers.tls.enabled());
        let config = SkeinConfig::from_yaml_str(
            "listeners:\n  query:\n    tls:\n      cert_file: /c.pem\n      key_file: /k.pem\n    max_connections: 5\n",
        )
        .unwrap();
        assert!(config.listeners.query.tls.enabled());
        assert!(!config.listeners.receivers.tls.enabled(), "groups are independent");
        assert_eq!(config.listeners.query.max_connections, 5);
        assert_eq!(config.listeners.query.tls.effective_client_auth(), ClientAuth::None);
    }

    #[test]
    fn a_client_ca_requires_client_certificates_unless_told_otherwise() {
        let base = "listeners:\n  receivers:\n    tls:\n      cert_file: /c.pem\n      key_file: /k.pem\n      client_ca_file: /ca.pem\n";
        let config = SkeinConfig::from_yaml_str(base).unwrap();
        assert_eq!(config.listeners.receivers.tls.effective_client_auth(), ClientAuth::Required);
        let config = SkeinConfig::from_yaml_str(&format!("{base}      client_auth: optional\n")).unwrap();
        assert_eq!(config.listeners.receivers.tls.effective_client_auth(), ClientAuth::Optional);
    }

    #[test]
    fn half_a_tls_setting_is_refused_naming_the_missing_option() {
        assert_eq!(
            error("listeners:\n  admin:\n    tls:\n      cert_file: /c.pem\n"),
            "listeners.admin.tls.cert_file is set without listeners.admin.tls.key_file; set both (PEM files) or neither"
        );
        assert!(error("listeners:\n  admin:\n    tls:\n      key_file: /k.pem\n")
            .contains("without listeners.admin.tls.cert_file"));
        assert!(error("listeners:\n  query:\n    tls:\n      client_ca_file: /ca.pem\n")
            .contains("listeners.query.tls.client_ca_file needs listeners.query.tls.cert_file"));
    }

    #[test]
    fn client_auth_and_client_ca_must_agree() {
        let tls = "listeners:\n  receivers:\n    tls:\n      cert_file: /c.pem\n      key_file: /k.pem\n";
        assert!(error(&format!("{tls}      client_auth: required\n"))
            .contains("client_auth is required but listeners.receivers.tls.client_ca_file is not set"));
        assert!(error(&format!("{tls}      client_auth: none\n      client_ca_file: /ca.pem\n"))
            .contains("remove the CA or set client_auth to optional or required"));
        let unknown = SkeinConfig::from_yaml_str(&format!("{tls}      client_auth: sometimes\n")).unwrap_err();
        assert!(unknown.to_string().contains("sometimes"), "{unknown}");
    }
}
