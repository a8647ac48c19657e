//! Agent start-up failures.

/// Why the agent could not start.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error(transparent)]
    Credentials(#[from] skein_core::auth::CredentialsError),
    #[error("agent.collector_endpoint '{endpoint}' is not a usable URL: {reason}")]
    Endpoint { endpoint: String, reason: String },
    #[error("cannot listen on {addr} for {what}: {source} (is a collector or another agent on this host using the port? change the agent.*_listen option)")]
    Bind { what: &'static str, addr: std::net::SocketAddr, source: std::io::Error },
}
