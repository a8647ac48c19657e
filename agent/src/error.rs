//! Agent start-up failures.

/// Why the agent could not start.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error(transparent)]
    Credentials(#[from] skein_core::auth::CredentialsError),
    #[error("agent.collector_endpoint '{endpoint}' is not a usable URL: {reason}")]
    Endpoint { endpoint: String, reason: String },
    #[error("cannot read agent.collector_tls.{option} {path}: {source}")]
    TlsFile { option: &'static str, path: String, source: std::io::Error },
    #[error("agent.collector_tls is not usable for '{endpoint}': {reason} (check the PEM files and server_name)")]
    CollectorTls { endpoint: String, reason: String },
    #[error(transparent)]
    Tls(#[from] skein_core::tls::TlsError),
    #[error("cannot listen on {addr} for {what}: {source} (is a collector or another agent on this host using the port? change the agent.*_listen option)")]
    Bind { what: &'static str, addr: std::net::SocketAddr, source: std::io::Error },
}
