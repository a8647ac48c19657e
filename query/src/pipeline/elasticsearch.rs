//! Elasticsearch's part of the pipeline report: cluster health, skein's indices, and the analytics
//! checkpoints (the watermark each partition has reached).

use std::collections::BTreeMap;
use std::time::Duration;

use elasticsearch::cat::CatIndicesParts;
use elasticsearch::cluster::ClusterHealthParts;
use elasticsearch::params::Bytes;
use elasticsearch::{Elasticsearch, SearchParts};
use serde_json::{json, Value};
use skein_schemas::elasticsearch::IndexNames;

use super::report::{ElasticsearchReport, IndexReport};
use skein_core::errors::with_causes;

/// Most checkpoint documents read. Each flush replaces a partition's checkpoint and deletes the old
/// one, so there are a few per partition per group.
const MAX_CHECKPOINTS: usize = 10_000;

/// What the report needs from Elasticsearch.
pub struct Reader {
    pub client: Elasticsearch,
    pub names: IndexNames,
    /// `elasticsearch.url` without credentials.
    pub url: String,
    pub timeout: Duration,
}

/// The latest checkpoint of one partition: its resume offset and the watermark there (ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    pub offset: i64,
    pub watermark_ms: i64,
}

impl Reader {
    /// Health and indices; `reachable: false` with the reason instead of an error.
    pub async fn cluster(&self) -> ElasticsearchReport {
        let mut report =
            ElasticsearchReport { url: self.url.clone(), reachable: false, error: None, status: None, indices: vec![] };
        match self.health().await {
            Ok(status) => {
                report.reachable = true;
                report.status = status;
            }
            Err(error) => {
                report.error = Some(error);
                return report;
            }
        }
        match self.indices().await {
            Ok(indices) => report.indices = indices,
            Err(error) => report.error = Some(error),
        }
        report
    }

    async fn health(&self) -> Result<Option<String>, String> {
        let body = self.json("cluster health", self.client.cluster().health(ClusterHealthParts::None).send()).await?;
        Ok(body["status"].as_str().map(str::to_string))
    }

    async fn indices(&self) -> Result<Vec<IndexReport>, String> {
        // The prefix as index names carry it (`<prefix>-`, or nothing), from the one place that builds it.
        let prefix = self.names.span_pattern().trim_end_matches("jaeger-span-*").to_string();
        let patterns = [format!("{prefix}jaeger-*"), format!("{prefix}skein-*")];
        let patterns: Vec<&str> = patterns.iter().map(String::as_str).collect();
        let cat = self.client.cat();
        let request = cat
            .indices(CatIndicesParts::Index(&patterns))
            .format("json")
            .bytes(Bytes::B)
            .h(&["index", "docs.count", "store.size", "health"])
            .send();
        let body = self.json("index list", request).await?;
        let mut indices = indices_from_cat(&body);
        // `_cat` counts Lucene documents, nested tags and logs included (a span with three tags is
        // four); count the documents themselves, per index, in one search.
        let search = self
            .client
            .search(SearchParts::Index(&patterns))
            .ignore_unavailable(true)
            .allow_no_indices(true)
            .body(json!({
                "size": 0,
                "track_total_hits": false,
                "aggs": {"indices": {"terms": {"field": "_index", "size": 10_000}}},
            }))
            .send();
        let counts = self.json("document counts", search).await?;
        let counts = documents_per_index(&counts);
        for index in &mut indices {
            index.docs = counts.get(&index.name).copied().unwrap_or(0);
        }
        Ok(indices)
    }

    /// Per partition, the checkpoint with the highest offset of `group` on `topic`.
    pub async fn checkpoints(&self, group: &str, topic: &str) -> Result<BTreeMap<i32, Checkpoint>, String> {
        let index = self.names.analytics_state_index();
        // The index maps no field (its documents are read by id), so filter here rather than in a query.
        let indices = [index.as_str()];
        let request = self
            .client
            .search(SearchParts::Index(&indices))
            .ignore_unavailable(true)
            .allow_no_indices(true)
            .body(json!({
                "size": MAX_CHECKPOINTS,
                "query": {"match_all": {}},
                "_source": ["group", "topic", "partition", "checkpoint.resume"],
            }))
            .send();
        let body = self.json("analytics checkpoints", request).await?;
        Ok(latest_checkpoints(&body, group, topic))
    }

    async fn json(
        &self,
        what: &str,
        request: impl std::future::Future<Output = Result<elasticsearch::http::response::Response, elasticsearch::Error>>,
    ) -> Result<Value, String> {
        let url = &self.url;
        let hint = "is it running? check elasticsearch.url; run `make up` locally";
        let response = match tokio::time::timeout(self.timeout, request).await {
            Err(_) => {
                return Err(format!(
                    "Elasticsearch at {url} did not answer the {what} within {:?} ({hint})",
                    self.timeout
                ))
            }
            Ok(Err(error)) => {
                return Err(format!("cannot reach Elasticsearch at {url}: {} ({hint})", with_causes(&error)))
            }
            Ok(Ok(response)) => response,
        };
        let status = response.status_code();
        let text = tokio::time::timeout(self.timeout, response.text())
            .await
            .map_err(|_| format!("Elasticsearch at {url} did not finish the {what} within {:?}", self.timeout))?
            .map_err(|error| format!("cannot read the {what} from Elasticsearch at {url}: {error}"))?;
        if !status.is_success() {
            let excerpt: String = text.chars().take(300).collect();
            return Err(format!("Elasticsearch at {url} answered the {what} with HTTP {}: {excerpt}", status.as_u16()));
        }
        serde_json::from_str(&text).map_err(|error| format!("Elasticsearch's {what} is not JSON: {error}"))
    }
}

/// `_cat/indices?format=json` rows → indices sorted by name. Closed indices have no counts (0).
pub fn indices_from_cat(body: &Value) -> Vec<IndexReport> {
    let number = |value: &Value| match value {
        Value::String(s) => s.parse().unwrap_or(0),
        other => other.as_u64().unwrap_or(0),
    };
    let mut indices: Vec<IndexReport> = body
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|row| {
            Some(IndexReport {
                name: row["index"].as_str()?.to_string(),
                docs: number(&row["docs.count"]),
                bytes: number(&row["store.size"]),
                health: row["health"].as_str().unwrap_or("unknown").to_string(),
            })
        })
        .collect();
    indices.sort_by(|a, b| a.name.cmp(&b.name));
    indices
}

/// A terms aggregation on `_index` → documents per index.
pub fn documents_per_index(body: &Value) -> BTreeMap<String, u64> {
    let buckets = body["aggregations"]["indices"]["buckets"].as_array().map(Vec::as_slice).unwrap_or_default();
    buckets
        .iter()
        .filter_map(|bucket| Some((bucket["key"].as_str()?.to_string(), bucket["doc_count"].as_u64()?)))
        .collect()
}

/// The highest-offset checkpoint per partition of `group` on `topic`, from a search answer.
pub fn latest_checkpoints(body: &Value, group: &str, topic: &str) -> BTreeMap<i32, Checkpoint> {
    let mut latest: BTreeMap<i32, Checkpoint> = BTreeMap::new();
    let hits = body["hits"]["hits"].as_array().map(Vec::as_slice).unwrap_or_default();
    for source in hits.iter().map(|hit| &hit["_source"]) {
        if source["group"] != group || source["topic"] != topic {
            continue;
        }
        let resume = &source["checkpoint"]["resume"];
        let (Some(partition), Some(offset), Some(watermark_ms)) =
            (source["partition"].as_i64(), resume["offset"].as_i64(), resume["watermark"].as_i64())
        else {
            continue;
        };
        let Ok(partition) = i32::try_from(partition) else { continue };
        let checkpoint = Checkpoint { offset, watermark_ms };
        latest.entry(partition).and_modify(|c| *c = (*c).max_by_offset(checkpoint)).or_insert(checkpoint);
    }
    latest
}

impl Checkpoint {
    fn max_by_offset(self, other: Checkpoint) -> Checkpoint {
        if other.offset > self.offset {
            other
        } else {
            self
        }
    }
}

/// `elasticsearch.url` with any user and password removed, for showing.
pub fn redact(url: &str) -> String {
    match elasticsearch::http::Url::parse(url) {
        Ok(mut parsed) => {
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            parsed.to_string().trim_end_matches('/').to_string()
        }
        Err(_) => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cat_rows_become_sorted_indices_with_numbers() {
        let body = json!([
            {"index": "p-jaeger-span-2025-01-02", "docs.count": "120", "store.size": "40960", "health": "green"},
            {"index": "p-jaeger-dependencies-2025-01-02", "docs.count": "3", "store.size": "9000", "health": "yellow"},
            {"index": "p-skein-closed", "docs.count": null, "store.size": null, "health": "red"},
        ]);
        let indices = indices_from_cat(&body);
        let names: Vec<&str> = indices.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["p-jaeger-dependencies-2025-01-02", "p-jaeger-span-2025-01-02", "p-skein-closed"]);
        assert_eq!((indices[1].docs, indices[1].bytes, indices[1].health.as_str()), (120, 40960, "green"));
        assert_eq!((indices[2].docs, indices[2].bytes), (0, 0));
    }

    #[test]
    fn documents_are_counted_per_index_from_the_aggregation() {
        let body = json!({"aggregations": {"indices": {"buckets": [
            {"key": "p-jaeger-span-2025-01-02", "doc_count": 5},
            {"key": "p-jaeger-service-2025-01-02", "doc_count": 1},
        ]}}});
        let counts = documents_per_index(&body);
        assert_eq!(counts["p-jaeger-span-2025-01-02"], 5);
        assert_eq!(counts.len(), 2);
    }

    #[test]
    fn latest_checkpoint_per_partition_is_the_highest_offset_of_the_group_and_topic() {
        let hit = |group: &str, topic: &str, partition: i64, offset: i64, watermark: i64| {
            json!({"_source": {"group": group, "topic": topic, "partition": partition,
                "checkpoint": {"resume": {"offset": offset, "watermark": watermark}}}})
        };
        let body = json!({"hits": {"hits": [
            hit("g", "spans", 0, 10, 1_000),
            hit("g", "spans", 0, 30, 3_000),
            hit("g", "spans", 0, 20, 2_000),
            hit("g", "spans", 1, 5, 500),
            hit("other", "spans", 1, 99, 9_900),
            hit("g", "other-topic", 2, 99, 9_900),
        ]}});
        let latest = latest_checkpoints(&body, "g", "spans");
        assert_eq!(latest.len(), 2);
        assert_eq!(latest[&0], Checkpoint { offset: 30, watermark_ms: 3_000 });
        assert_eq!(latest[&1], Checkpoint { offset: 5, watermark_ms: 500 });
    }

    #[test]
    fn credentials_are_removed_from_the_shown_url() {
        assert_eq!(redact("https://elastic:secret@es.example:9200"), "https://es.example:9200");
        assert_eq!(redact("http://127.0.0.1:9200"), "http://127.0.0.1:9200");
    }
}
