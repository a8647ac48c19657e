//! What a run is judged on: the span documents in Elasticsearch (how many, how many distinct
//! spans), and the dead-letter topic.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{bail, Context, Result};

/// The span documents of an index pattern.
#[derive(Debug, Default)]
pub struct Census {
    /// Documents.
    pub documents: u64,
    /// Distinct (traceID, spanID) pairs among them.
    pub distinct: u64,
    /// A few spans stored more than once, with their count.
    pub duplicated: Vec<(String, u64)>,
}

/// Read every span document's `traceID` and `spanID` (doc values only, scrolling) and count them.
pub async fn span_census(es: &str, pattern: &str) -> Result<Census> {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(120)).build()?;
    http.post(format!("{es}/{pattern}/_refresh?allow_no_indices=true")).send().await?.error_for_status()?;
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut documents = 0u64;
    let mut body: serde_json::Value = http
        .post(format!("{es}/{pattern}/_search?scroll=2m&allow_no_indices=true"))
        .json(&serde_json::json!({
            "size": 10000,
            "_source": false,
            "sort": ["_doc"],
            "docvalue_fields": ["traceID", "spanID"],
            "query": {"match_all": {}},
        }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    loop {
        if body["_shards"]["failed"].as_u64().unwrap_or(0) > 0 {
            bail!("a search over {pattern} failed on some shards: {}", body["_shards"]);
        }
        let hits = body["hits"]["hits"].as_array().cloned().unwrap_or_default();
        if hits.is_empty() {
            break;
        }
        for hit in hits {
            let field = |name: &str| hit["fields"][name][0].as_str().unwrap_or_default().to_string();
            documents += 1;
            *seen.entry(format!("{}/{}", field("traceID"), field("spanID"))).or_default() += 1;
        }
        let scroll_id = body["_scroll_id"].as_str().context("a scroll answer has a scroll id")?.to_string();
        body = http
            .post(format!("{es}/_search/scroll"))
            .json(&serde_json::json!({"scroll": "2m", "scroll_id": scroll_id}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
    }
    if let Some(id) = body["_scroll_id"].as_str() {
        let _ = http.delete(format!("{es}/_search/scroll")).json(&serde_json::json!({"scroll_id": id})).send().await;
    }
    let mut duplicated: Vec<(String, u64)> =
        seen.iter().filter(|(_, n)| **n > 1).map(|(k, n)| (k.clone(), *n)).collect();
    duplicated.sort();
    duplicated.truncate(5);
    Ok(Census { documents, distinct: seen.len() as u64, duplicated })
}

/// Records in a topic (sum of its partitions' ends).
pub fn topic_records(brokers: &str, topic: &str) -> Result<i64> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let consumer: BaseConsumer = rdkafka::ClientConfig::new().set("bootstrap.servers", brokers).create()?;
    let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10))?;
    let partitions = metadata.topics().first().map_or(0, |t| t.partitions().len()) as i32;
    let mut total = 0;
    for p in 0..partitions {
        total += consumer.fetch_watermarks(topic, p, Duration::from_secs(10))?.1;
    }
    Ok(total)
}

/// Replicas of each partition of `topic`.
pub fn replication(brokers: &str, topic: &str) -> Result<Vec<usize>> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let consumer: BaseConsumer = rdkafka::ClientConfig::new().set("bootstrap.servers", brokers).create()?;
    let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10))?;
    Ok(metadata
        .topics()
        .first()
        .map(|t| t.partitions().iter().map(|p| p.replicas().len()).collect())
        .unwrap_or_default())
}
