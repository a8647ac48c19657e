//! The Elasticsearch client every role builds the same way.

use std::time::Duration;

use base64::Engine;
use elasticsearch::auth::{ClientCertificate, Credentials};
use elasticsearch::cert::{Certificate, CertificateValidation};
use elasticsearch::http::headers::{HeaderValue, AUTHORIZATION};
use elasticsearch::http::transport::{SingleNodeConnectionPool, TransportBuilder};
use elasticsearch::http::Url;
use elasticsearch::Elasticsearch;

use crate::config::ElasticsearchConfig;

/// Errors setting up Elasticsearch.
#[derive(Debug, thiserror::Error)]
pub enum ElasticsearchSetupError {
    #[error("elasticsearch.url {url:?} is not a valid URL: {reason}")]
    Url { url: String, reason: String },
    #[error("cannot read elasticsearch.{option} {path}: {source}")]
    ReadFile { option: &'static str, path: String, source: std::io::Error },
    #[error("elasticsearch.{option} {path} is not usable: {reason}")]
    BadPem { option: &'static str, path: String, reason: String },
    #[error("cannot reach Elasticsearch at {url}: {reason} (is it running? run `make up` locally)")]
    Unreachable { url: String, reason: String },
    #[error("Elasticsearch refused index template {name}: HTTP {status}: {body}")]
    Template { name: String, status: u16, body: String },
}

/// Build a client for the configured cluster: basic auth, a private CA and a client
/// certificate as configured.
pub fn client(config: &ElasticsearchConfig) -> Result<Elasticsearch, ElasticsearchSetupError> {
    let url = Url::parse(&config.url)
        .map_err(|error| ElasticsearchSetupError::Url { url: config.url.clone(), reason: error.to_string() })?;
    let mut builder = TransportBuilder::new(SingleNodeConnectionPool::new(url))
        .timeout(Duration::from_millis(config.request_timeout_ms));
    let basic = config.username.as_ref().zip(config.password.as_ref());
    if let (Some(cert_file), Some(key_file)) = (&config.cert_file, &config.key_file) {
        // reqwest's rustls identity wants the key and the chain in one PEM buffer.
        let mut pem = read("cert_file", cert_file)?;
        pem.push(b'\n');
        pem.extend(read("key_file", key_file)?);
        builder = builder.auth(Credentials::Certificate(ClientCertificate::Pem(pem)));
        // The certificate took the transport's one credential slot: basic auth goes as a header.
        if let Some((user, password)) = basic {
            let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            let mut value = HeaderValue::from_str(&format!("Basic {token}")).expect("base64 is a valid header value");
            value.set_sensitive(true);
            builder = builder.header(AUTHORIZATION, value);
        }
    } else if let Some((user, password)) = basic {
        builder = builder.auth(Credentials::Basic(user.clone(), password.clone()));
    }
    if let Some(path) = &config.ca_file {
        let certificate = Certificate::from_pem(&read("ca_file", path)?).map_err(|error| {
            ElasticsearchSetupError::BadPem { option: "ca_file", path: path.clone(), reason: error.to_string() }
        })?;
        builder = builder.cert_validation(CertificateValidation::Full(certificate));
    }
    // The client certificate's PEM is parsed here: a bad key or certificate fails at start.
    let transport = builder.build().map_err(|error| match &config.cert_file {
        Some(path) => ElasticsearchSetupError::BadPem {
            option: "cert_file",
            path: path.clone(),
            reason: format!("{error} (with key_file {})", config.key_file.as_deref().unwrap_or_default()),
        },
        None => ElasticsearchSetupError::Url { url: config.url.clone(), reason: error.to_string() },
    })?;
    Ok(Elasticsearch::new(transport))
}

fn read(option: &'static str, path: &str) -> Result<Vec<u8>, ElasticsearchSetupError> {
    std::fs::read(path).map_err(|source| ElasticsearchSetupError::ReadFile { option, path: path.to_string(), source })
}
