//! `listeners`: how each group of listeners takes requests. Three groups: `receivers` (the
//! collector's OTLP, Jaeger, Zipkin and sampling ports, and the agent's sampling port), `query`
//! (the query API and UI) and `admin` (every role's `/metrics`, `/healthz`, `/readyz`).

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

/// How the listeners of one group take requests.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ListenerGroupConfig {
    /// Who may send requests: bearer tokens and/or basic auth; off until a file is set.
    pub auth: AuthConfig,
}

impl ListenersConfig {
    /// Each group's cross-field rules.
    pub fn validate(&self) -> Result<(), AuthConfigError> {
        self.receivers.auth.validate("receivers")?;
        self.query.auth.validate("query")?;
        self.admin.auth.validate("admin")
    }
}
