//! The ack → searchable delay: acknowledged traces are polled for in Elasticsearch until all
//! their spans are found, or they time out.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde::Serialize;
use skein_core::errors::with_causes;
use skein_schemas::elasticsearch::IndexNames;
use tokio::sync::mpsc;

/// A trace to look for, and when its request was acknowledged.
pub(crate) struct Probe {
    pub(crate) trace_id: String,
    pub(crate) spans: usize,
    pub(crate) acked: Instant,
}

/// Polls one index prefix's span indices for probed traces.
pub(crate) struct Prober {
    client: reqwest::Client,
    search_url: String,
    interval: Duration,
    timeout: Duration,
}

#[derive(Serialize)]
pub(crate) struct ProbeSummary {
    pub(crate) probed: u64,
    pub(crate) found: u64,
    pub(crate) timed_out: u64,
    pub(crate) query_errors: u64,
    pub(crate) p50_ms: f64,
    pub(crate) p90_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) max_ms: f64,
}

/// Why one poll failed; the probe keeps polling.
#[derive(Debug, thiserror::Error)]
enum SearchError {
    #[error(transparent)]
    Request(#[from] reqwest::Error),
    #[error("HTTP {status}: {body}")]
    Refused { status: reqwest::StatusCode, body: serde_json::Value },
}

impl Prober {
    /// Search `<url>/<prefix span pattern>/_search` every `interval`, giving up on a trace after `timeout`.
    pub(crate) fn new(url: &str, prefix: &str, interval: Duration, timeout: Duration) -> Self {
        Self {
            client: reqwest::Client::new(),
            search_url: format!("{}/{}/_search", url.trim_end_matches('/'), IndexNames::new(prefix).span_pattern()),
            interval,
            timeout,
        }
    }

    /// Poll every `interval` with one search for every pending trace until the channel is closed
    /// and nothing is pending; a trace counts as searchable once all its spans are.
    pub(crate) async fn run(self, mut incoming: mpsc::UnboundedReceiver<Probe>) -> ProbeSummary {
        let mut pending: HashMap<String, (Instant, usize)> = HashMap::new();
        let mut delays = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 3_600_000, 3).expect("valid bounds");
        let (mut probed, mut timed_out, mut query_errors) = (0u64, 0u64, 0u64);
        let mut open = true;
        loop {
            while open {
                match incoming.try_recv() {
                    Ok(probe) => {
                        probed += 1;
                        pending.insert(probe.trace_id, (probe.acked, probe.spans));
                    }
                    Err(mpsc::error::TryRecvError::Empty) => break,
                    Err(mpsc::error::TryRecvError::Disconnected) => open = false,
                }
            }
            if !open && pending.is_empty() {
                break;
            }
            if !pending.is_empty() {
                match self.search(&pending).await {
                    Ok(counts) => {
                        let now = Instant::now();
                        for (trace_id, count) in counts {
                            if let Some((acked, spans)) = pending.get(&trace_id) {
                                if count >= *spans as u64 {
                                    delays.saturating_record(now.duration_since(*acked).as_millis() as u64);
                                    pending.remove(&trace_id);
                                }
                            }
                        }
                    }
                    Err(error) => {
                        query_errors += 1;
                        if query_errors == 1 {
                            eprintln!("probe search failed (will keep trying): {}", with_causes(&error));
                        }
                    }
                }
                let before = pending.len();
                pending.retain(|_, (acked, _)| acked.elapsed() < self.timeout);
                timed_out += (before - pending.len()) as u64;
            }
            tokio::time::sleep(self.interval).await;
        }
        ProbeSummary {
            probed,
            found: delays.len(),
            timed_out,
            query_errors,
            p50_ms: delays.value_at_quantile(0.5) as f64,
            p90_ms: delays.value_at_quantile(0.9) as f64,
            p99_ms: delays.value_at_quantile(0.99) as f64,
            max_ms: delays.max() as f64,
        }
    }

    /// Spans found per trace id among `pending`.
    async fn search(&self, pending: &HashMap<String, (Instant, usize)>) -> Result<Vec<(String, u64)>, SearchError> {
        let ids: Vec<&String> = pending.keys().collect();
        let query = serde_json::json!({
            "size": 0,
            "query": { "terms": { "traceID": ids } },
            "aggs": { "traces": { "terms": { "field": "traceID", "size": ids.len() } } }
        });
        let response = self.client.post(&self.search_url).json(&query).send().await?;
        let status = response.status();
        let body: serde_json::Value = response.json().await?;
        if !status.is_success() {
            return Err(SearchError::Refused { status, body });
        }
        let buckets = body["aggregations"]["traces"]["buckets"].as_array().cloned().unwrap_or_default();
        Ok(buckets
            .into_iter()
            .filter_map(|b| Some((b["key"].as_str()?.to_string(), b["doc_count"].as_u64()?)))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_search_covers_every_span_index_of_the_prefix() {
        let prober = Prober::new("http://es:9200/", "bench", Duration::from_millis(1), Duration::from_secs(1));
        assert_eq!(prober.search_url, "http://es:9200/bench-jaeger-span-*/_search");
    }

    #[tokio::test]
    async fn a_closed_channel_with_nothing_pending_ends_the_probe_without_searching() {
        let prober = Prober::new("http://127.0.0.1:1", "bench", Duration::from_millis(1), Duration::from_secs(1));
        let (tx, rx) = mpsc::unbounded_channel();
        drop(tx);
        let summary = prober.run(rx).await;
        assert_eq!((summary.probed, summary.found, summary.timed_out, summary.query_errors), (0, 0, 0, 0));
    }

    #[tokio::test]
    async fn an_unreachable_index_times_the_trace_out_and_counts_the_failed_searches() {
        let prober = Prober::new("http://127.0.0.1:1", "bench", Duration::from_millis(5), Duration::from_millis(30));
        let (tx, rx) = mpsc::unbounded_channel();
        tx.send(Probe { trace_id: "ab".into(), spans: 1, acked: Instant::now() }).unwrap();
        drop(tx);
        let summary = prober.run(rx).await;
        assert_eq!((summary.probed, summary.found, summary.timed_out), (1, 0, 1));
        assert!(summary.query_errors >= 1);
    }
}
