//! Why a load run could not start or finish.

use std::path::PathBuf;

/// Why `skein loadgen` stopped without a summary.
#[derive(Debug, thiserror::Error)]
pub enum LoadgenError {
    /// The options cannot produce a request; the message names them.
    #[error("{0}")]
    Usage(&'static str),
    #[error("--endpoint {endpoint:?} is not a valid URL")]
    InvalidUrl {
        endpoint: String,
        #[source]
        source: http::uri::InvalidUri,
    },
    #[error("cannot connect to the collector at {endpoint}")]
    Connect {
        endpoint: String,
        #[source]
        source: tonic::transport::Error,
    },
    #[error("cannot build the HTTP client")]
    HttpClient(#[source] reqwest::Error),
    #[error("cannot open a UDP socket")]
    UdpSocket(#[source] std::io::Error),
    #[error("--endpoint {endpoint:?} is not host:port")]
    UdpTarget {
        endpoint: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot reach Elasticsearch at {url}")]
    Elasticsearch {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("Elasticsearch refused template {name}: {answer}")]
    TemplateRefused { name: String, answer: String },
    #[error("{task} task panicked")]
    Panicked {
        task: &'static str,
        #[source]
        source: tokio::task::JoinError,
    },
    #[error("cannot write {}", path.display())]
    WriteSummary {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
