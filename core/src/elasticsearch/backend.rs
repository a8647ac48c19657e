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

/// What the server said about itself: the `X-Elastic-Product` header of any answer, the body of
/// `GET /` when it answered one, and the node version from `GET /_nodes/_local` otherwise.
#[derive(Debug, Default)]
pub struct Identity<'a> {
    pub elastic_product_header: Option<&'a str>,
    pub root: Option<&'a Value>,
    pub node_version: Option<&'a str>,
}

/// The backend those answers name. OpenSearch says `"distribution": "opensearch"` in the root
/// answer's `version`; Elasticsearch (7.14 on) sends `X-Elastic-Product: Elasticsearch` with
/// every answer, including the 405 its integ-test build gives for `GET /`. Anything else is
/// taken for Elasticsearch, the product skein was first written for.
pub fn identify(identity: &Identity<'_>) -> Backend {
    let root_version = identity.root.map(|root| &root["version"]);
    let version = root_version
        .and_then(|version| version["number"].as_str())
        .or(identity.node_version)
        .unwrap_or("?")
        .to_string();
    let distribution = root_version.and_then(|version| version["distribution"].as_str());
    let product = match (distribution, identity.elastic_product_header) {
        (_, Some(header)) if header.eq_ignore_ascii_case("elasticsearch") => Product::Elasticsearch,
        (Some(distribution), _) if distribution.eq_ignore_ascii_case("opensearch") => Product::OpenSearch,
        _ => Product::Elasticsearch,
    };
    Backend { product, version }
}

/// Ask the server at `url` what it is; an error only when it does not answer at all.
pub async fn detect_backend(client: &Elasticsearch, url: &str) -> Result<Backend, ElasticsearchSetupError> {
    let unreachable = |error: elasticsearch::Error| ElasticsearchSetupError::Unreachable {
        url: url.to_string(),
        reason: error.to_string(),
    };
    let response = client.info().send().await.map_err(unreachable)?;
    let mut header = product_header(&response);
    let root: Option<Value> =
        if response.status_code().is_success() { response.json().await.ok() } else { None };
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
        header = header.or_else(|| product_header(&response));
        let nodes: Value = response.json().await.unwrap_or_default();
        node_version = nodes["nodes"]
            .as_object()
            .and_then(|nodes| nodes.values().find_map(|node| node["version"].as_str().map(str::to_string)));
    }
    Ok(identify(&Identity {
        elastic_product_header: header.as_deref(),
        root: root.as_ref(),
        node_version: node_version.as_deref(),
    }))
}

fn product_header(response: &elasticsearch::http::response::Response) -> Option<String> {
    response.headers().get("x-elastic-product").and_then(|value| value.to_str().ok()).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn opensearch_is_recognised_by_the_distribution_in_its_root_answer() {
        // The shape of OpenSearch 3's `GET /` (abridged).
        let root = json!({
            "name": "skein-os-1",
            "cluster_name": "skein-opensearch",
            "version": {"distribution": "opensearch", "number": "3.9.0", "lucene_version": "10.3.1"},
            "tagline": "The OpenSearch Project: https://opensearch.org/"
        });
        let backend = identify(&Identity { root: Some(&root), ..Identity::default() });
        assert_eq!(backend, Backend { product: Product::OpenSearch, version: "3.9.0".into() });
        assert_eq!(backend.to_string(), "OpenSearch 3.9.0");
        assert_eq!(backend.major(), 3);
    }

    #[test]
    fn elasticsearch_is_recognised_by_its_product_header_even_without_a_root_answer() {
        let backend = identify(&Identity {
            elastic_product_header: Some("Elasticsearch"),
            root: None,
            node_version: Some("9.5.3"),
        });
        assert_eq!(backend, Backend { product: Product::Elasticsearch, version: "9.5.3".into() });
    }

    #[test]
    fn a_root_answer_without_a_distribution_is_elasticsearch() {
        let root = json!({"version": {"number": "7.10.2", "build_flavor": "default"}, "tagline": "You Know, for Search"});
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
