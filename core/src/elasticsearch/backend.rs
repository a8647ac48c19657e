//! Which search engine answers at `elasticsearch.url`, Elasticsearch or OpenSearch, and its
//! version: said in every role's start-up log, and asked where the two APIs differ (the query
//! role's paging through more than one page of documents, see docs/opensearch.md).

use std::fmt;

use elasticsearch::Elasticsearch;
use serde_json::Value;

use super::ElasticsearchSetupError;

/// The product behind `elasticsearch.url`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Product {
    Elasticsearch,
    OpenSearch,
}

/// The product and its version (`"?"` when the server did not say).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backend {
    pub product: Product,
    pub version: String,
}

impl Backend {
    /// The major version, 0 when unknown.
    pub fn major(&self) -> u32 {
        self.version.split('.').next().and_then(|major| major.parse().ok()).unwrap_or(0)
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.product {
            Product::Elasticsearch => "Elasticsearch",
            Product::OpenSearch => "OpenSearch",
        };
        write!(f, "{name} {}", self.version)
    }
}

/// What the server said about itself: the product headers of its answers, the body of `GET /`
/// when it answered one, and the node version from `GET /_nodes/_local` otherwise.
#[derive(Debug, Default)]
pub struct Identity<'a> {
    /// `X-Elastic-Product` (`Elasticsearch`).
    pub elastic_product_header: Option<&'a str>,
    /// `X-OpenSearch-Version` (`OpenSearch/3.8.0 (opensearch)`).
    pub opensearch_version_header: Option<&'a str>,
    pub root: Option<&'a Value>,
    pub node_version: Option<&'a str>,
}

/// The backend those answers name. Elasticsearch (7.14 on) sends `X-Elastic-Product:
/// Elasticsearch` with every answer, including the 405 its integ-test build gives for `GET /`;
/// OpenSearch sends `X-OpenSearch-Version` and says `"distribution": "opensearch"` in the root
/// answer's `version`. Anything else is taken for Elasticsearch, the product skein was first
/// written for.
pub fn identify(identity: &Identity<'_>) -> Backend {
    let root_version = identity.root.map(|root| &root["version"]);
    // `OpenSearch/3.8.0 (opensearch)` → `3.8.0`.
    let header_version = identity
        .opensearch_version_header
        .and_then(|header| header.split('/').nth(1))
        .and_then(|rest| rest.split_whitespace().next());
    let version = root_version
        .and_then(|version| version["number"].as_str())
        .or(header_version)
        .or(identity.node_version)
        .unwrap_or("?")
        .to_string();
    let distribution = root_version.and_then(|version| version["distribution"].as_str());
    let says_opensearch = identity.opensearch_version_header.is_some()
        || distribution.is_some_and(|distribution| distribution.eq_ignore_ascii_case("opensearch"));
    let product = match identity.elastic_product_header {
        Some(header) if header.eq_ignore_ascii_case("elasticsearch") => Product::Elasticsearch,
        _ if says_opensearch => Product::OpenSearch,
        _ => Product::Elasticsearch,
    };
    Backend { product, version }
}

/// Ask the server at `url` what it is; an error only when it does not answer at all.
pub async fn detect_backend(client: &Elasticsearch, url: &str) -> Result<Backend, ElasticsearchSetupError> {
    let unreachable = |error: elasticsearch::Error| ElasticsearchSetupError::Unreachable {
        url: url.to_string(),
        // The causes say why: refused, a TLS handshake failure, an unknown CA.
        reason: crate::errors::with_causes(&error),
    };
    let response = client.info().send().await.map_err(unreachable)?;
    let mut elastic = header(&response, "x-elastic-product");
    let mut opensearch = header(&response, "x-opensearch-version");
    let root: Option<Value> = if response.status_code().is_success() { response.json().await.ok() } else { None };
    let mut node_version = None;
    let answered_version = root.as_ref().is_some_and(|root| root["version"]["number"].is_string());
    if !answered_version {
        // `GET /` refused (Elasticsearch's integ-test build answers 405, a restricted user 403):
        // the node information holds the version too.
        let response = client
            .nodes()
            .info(elasticsearch::nodes::NodesInfoParts::NodeId(&["_local"]))
            .filter_path(&["nodes.*.version"])
            .send()
            .await
            .map_err(unreachable)?;
        elastic = elastic.or_else(|| header(&response, "x-elastic-product"));
        opensearch = opensearch.or_else(|| header(&response, "x-opensearch-version"));
        let nodes: Value = response.json().await.unwrap_or_default();
        node_version = nodes["nodes"]
            .as_object()
            .and_then(|nodes| nodes.values().find_map(|node| node["version"].as_str().map(str::to_string)));
    }
    Ok(identify(&Identity {
        elastic_product_header: elastic.as_deref(),
        opensearch_version_header: opensearch.as_deref(),
        root: root.as_ref(),
        node_version: node_version.as_deref(),
    }))
}

fn header(response: &elasticsearch::http::response::Response, name: &str) -> Option<String> {
    response.headers().get(name).and_then(|value| value.to_str().ok()).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn opensearch_is_recognised_by_the_distribution_in_its_root_answer() {
        // OpenSearch 3.8.0's `GET /` (abridged).
        let root = json!({
            "name": "skein-os-1",
            "cluster_name": "skein-opensearch",
            "version": {"distribution": "opensearch", "number": "3.8.0", "build_type": "zip", "lucene_version": "10.5.0"},
            "tagline": "The OpenSearch Project: https://opensearch.org/"
        });
        let backend = identify(&Identity { root: Some(&root), ..Identity::default() });
        assert_eq!(backend, Backend { product: Product::OpenSearch, version: "3.8.0".into() });
        assert_eq!(backend.to_string(), "OpenSearch 3.8.0");
        assert_eq!(backend.major(), 3);
    }

    #[test]
    fn opensearch_is_recognised_by_its_version_header_when_the_root_is_refused() {
        let backend = identify(&Identity {
            opensearch_version_header: Some("OpenSearch/2.19.6 (opensearch)"),
            node_version: Some("2.19.6"),
            ..Identity::default()
        });
        assert_eq!(backend, Backend { product: Product::OpenSearch, version: "2.19.6".into() });
    }

    #[test]
    fn elasticsearch_is_recognised_by_its_product_header_even_without_a_root_answer() {
        // Elasticsearch 9.5.3's integ-test build: `GET /` is a 405, `_nodes/_local` has the version.
        let backend = identify(&Identity {
            elastic_product_header: Some("Elasticsearch"),
            node_version: Some("9.5.3"),
            ..Identity::default()
        });
        assert_eq!(backend, Backend { product: Product::Elasticsearch, version: "9.5.3".into() });
    }

    #[test]
    fn a_root_answer_without_a_distribution_is_elasticsearch() {
        let root =
            json!({"version": {"number": "7.10.2", "build_flavor": "default"}, "tagline": "You Know, for Search"});
        let backend = identify(&Identity { root: Some(&root), ..Identity::default() });
        assert_eq!(backend, Backend { product: Product::Elasticsearch, version: "7.10.2".into() });
    }

    #[test]
    fn a_server_that_says_nothing_is_taken_for_elasticsearch_of_unknown_version() {
        let backend = identify(&Identity::default());
        assert_eq!(backend.to_string(), "Elasticsearch ?");
        assert_eq!(backend.major(), 0);
    }
}
