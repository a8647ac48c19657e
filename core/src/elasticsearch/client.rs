//! The Elasticsearch client every role builds the same way.

use std::time::Duration;

use elasticsearch::auth::Credentials;
use elasticsearch::cert::{Certificate, CertificateValidation};
use elasticsearch::http::transport::{SingleNodeConnectionPool, TransportBuilder};
use elasticsearch::http::Url;
use elasticsearch::Elasticsearch;

use crate::config::ElasticsearchConfig;

/// Errors setting up Elasticsearch.
#[derive(Debug, thiserror::Error)]
pub enum ElasticsearchSetupError {
    #[error("elasticsearch.url {url:?} is not a valid URL: {reason}")]
    Url { url: String, reason: String },
    #[error("cannot reach Elasticsearch at {url}: {reason} (is it running? run `make up` locally)")]
    Unreachable { url: String, reason: String },
    #[error("Elasticsearch refused index template {name}: HTTP {status}: {body}")]
    Template { name: String, status: u16, body: String },
}

/// Build a client for the configured cluster.
pub fn client(config: &ElasticsearchConfig) -> Result<Elasticsearch, ElasticsearchSetupError> {
    let url = Url::parse(&config.url)
        .map_err(|error| ElasticsearchSetupError::Url { url: config.url.clone(), reason: error.to_string() })?;
    let mut builder = TransportBuilder::new(SingleNodeConnectionPool::new(url))
        .timeout(Duration::from_millis(config.request_timeout_ms));
    if let (Some(user), Some(password)) = (&config.username, &config.password) {
        builder = builder.auth(Credentials::Basic(user.clone(), password.clone()));
    }
    if let Some(path) = &config.ca_file {
        let pem = std::fs::read(path).map_err(|error| ElasticsearchSetupError::Url {
            url: config.url.clone(),
            reason: format!("cannot read elasticsearch.ca_file {path}: {error}"),
        })?;
        let certificate = Certificate::from_pem(&pem).map_err(|error| ElasticsearchSetupError::Url {
            url: config.url.clone(),
            reason: format!("elasticsearch.ca_file {path} is not a PEM certificate: {error}"),
        })?;
        builder = builder.cert_validation(CertificateValidation::Full(certificate));
    }
    let transport = builder
        .build()
        .map_err(|error| ElasticsearchSetupError::Url { url: config.url.clone(), reason: error.to_string() })?;
    Ok(Elasticsearch::new(transport))
}
