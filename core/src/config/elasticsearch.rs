//! `elasticsearch`: where the cluster is and how indices are named and written.

use serde::{Deserialize, Serialize};
use skein_schemas::elasticsearch::IndexNames;
use skein_schemas::jaeger::TraceIdFormat;

/// Elasticsearch settings shared by every role.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ElasticsearchConfig {
    /// Base URL.
    pub url: String,
    /// Basic-auth user name.
    pub username: Option<String>,
    /// Basic-auth password.
    pub password: Option<String>,
    /// Prefix for every index name: `<prefix>-jaeger-span-...`; empty gives Jaeger's own names.
    pub index_prefix: String,
    /// Primary shards per daily index.
    pub shards: u32,
    /// Replicas per daily index.
    pub replicas: u32,
    /// Install index templates at start.
    pub create_templates: bool,
    /// How `traceID` is written: `full` (Jaeger 2.x: always 32 hex chars) or `short` (Jaeger 1.x:
    /// 16 when the high 64 bits are zero). Keep `short` only for Jaeger 1.x readers; document
    /// `_id`s are the same either way.
    pub trace_id_format: TraceIdFormat,
    /// Jaeger's alias mode: write spans, services and dependencies to
    /// `<prefix>-jaeger-<family>-write` and read them through `-read`, aliases that
    /// `skein indices rollover init` creates and `rollover` / `lookback` move; daily indices
    /// otherwise.
    pub use_aliases: bool,
    /// Timeout of one request to Elasticsearch, ms.
    pub request_timeout_ms: u64,
    /// PEM file of the CA that signed the cluster's certificate, for `https` URLs with a private CA;
    /// without one the system's trusted roots are used.
    pub ca_file: Option<String>,
    /// PEM client certificate (chain), for clusters or proxies that require one; `https` URLs only.
    pub cert_file: Option<String>,
    /// PEM private key of `cert_file`.
    pub key_file: Option<String>,
    /// Days of indices to keep (UTC, today included), as Jaeger's index cleaner counts them: the
    /// ingester deletes older daily indices of this prefix once a day (one instance, under a
    /// lease), and no role creates an index for an older day. 0 keeps every index.
    pub retention_days: u32,
}

impl Default for ElasticsearchConfig {
    fn default() -> Self {
        Self {
            url: "http://127.0.0.1:9200".into(),
            username: None,
            password: None,
            index_prefix: String::new(),
            shards: 1,
            // No replicas, so a single-node cluster is green.
            replicas: 0,
            create_templates: true,
            // Jaeger 2's form: its query service finds 64-bit ids only in it, and Jaeger 1.x is end of life.
            trace_id_format: TraceIdFormat::Full,
            use_aliases: false,
            request_timeout_ms: 30_000,
            ca_file: None,
            cert_file: None,
            key_file: None,
            retention_days: 0,
        }
    }
}

/// An `elasticsearch` option that cannot work.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ElasticsearchConfigError {
    #[error(
        "elasticsearch.cert_file and elasticsearch.key_file go together: set both for a client certificate, or neither"
    )]
    CertWithoutKey,
    #[error("elasticsearch.cert_file is set but elasticsearch.url '{0}' is not https: use an https URL or remove the client certificate")]
    CertWithoutHttps(String),
}

impl ElasticsearchConfig {
    /// Rules within `elasticsearch` that serde cannot express.
    pub fn validate(&self) -> Result<(), ElasticsearchConfigError> {
        if self.cert_file.is_some() != self.key_file.is_some() {
            return Err(ElasticsearchConfigError::CertWithoutKey);
        }
        // A certificate that would never be presented is a mistake; `ca_file` alone stays
        // accepted with `http` as it always was (a Helm CA Secret mounted for every URL).
        if self.cert_file.is_some() && !self.url.starts_with("https://") {
            return Err(ElasticsearchConfigError::CertWithoutHttps(self.url.clone()));
        }
        Ok(())
    }

    /// The index and alias names this configuration writes and reads.
    pub fn index_names(&self) -> IndexNames {
        IndexNames::new(&self.index_prefix).with_aliases(self.use_aliases)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn https() -> ElasticsearchConfig {
        ElasticsearchConfig { url: "https://es:9200".into(), ..ElasticsearchConfig::default() }
    }

    #[test]
    fn a_client_certificate_needs_its_key() {
        let config = ElasticsearchConfig { cert_file: Some("client.pem".into()), ..https() };
        assert_eq!(config.validate(), Err(ElasticsearchConfigError::CertWithoutKey));
        let config = ElasticsearchConfig { key_file: Some("client.key".into()), ..https() };
        assert_eq!(config.validate(), Err(ElasticsearchConfigError::CertWithoutKey));
    }

    #[test]
    fn tls_files_with_a_plain_http_url_are_refused() {
        let config = ElasticsearchConfig {
            cert_file: Some("client.pem".into()),
            key_file: Some("client.key".into()),
            ..ElasticsearchConfig::default()
        };
        assert_eq!(config.validate(), Err(ElasticsearchConfigError::CertWithoutHttps("http://127.0.0.1:9200".into())));
        ElasticsearchConfig { cert_file: Some("c".into()), key_file: Some("k".into()), ..https() }
            .validate()
            .expect("https with a client certificate is fine");
    }
}
