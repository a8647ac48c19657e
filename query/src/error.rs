//! Errors of the query role and how they reach clients: Jaeger's envelope with the HTTP status and
//! a message naming the bad parameter.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::envelope::error_envelope;

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error(transparent)]
    Credentials(#[from] skein_core::auth::CredentialsError),
    /// A parameter a client sent is wrong; the message names it (Jaeger's wording).
    #[error("{0}")]
    BadParameter(String),
    #[error("trace not found")]
    TraceNotFound,
    #[error("cannot read from Elasticsearch: {0}")]
    Storage(String),
    #[error("Elasticsearch did not answer within query.request_timeout_ms; narrow the search (a shorter time range, a service, an operation) or raise the option")]
    Timeout,
    #[error("cannot listen on {addr} for the query API: {source} (set query.listen / query.admin_listen)")]
    Bind { addr: std::net::SocketAddr, source: std::io::Error },
    #[error(transparent)]
    Setup(#[from] skein_core::elasticsearch::ElasticsearchSetupError),
    #[error(transparent)]
    Tls(#[from] skein_core::tls::TlsError),
}

impl QueryError {
    pub fn status(&self) -> StatusCode {
        match self {
            QueryError::BadParameter(_) => StatusCode::BAD_REQUEST,
            QueryError::TraceNotFound => StatusCode::NOT_FOUND,
            QueryError::Timeout => StatusCode::GATEWAY_TIMEOUT,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// `unable to parse param '<name>': <reason>`, as Jaeger words it.
pub fn bad_param(name: &str, reason: impl std::fmt::Display) -> QueryError {
    QueryError::BadParameter(format!("unable to parse param '{name}': {reason}"))
}

impl IntoResponse for QueryError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::warn!(error = %self, "query failed");
        }
        error_envelope(status, self.to_string())
    }
}
