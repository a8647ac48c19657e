//! Receiver counts: the collectors' Prometheus `/metrics` scraped and summed. Collectors are other
//! processes (any number of them), so their counters are the only account of what they received.

use std::collections::BTreeMap;
use std::time::Duration;

use super::report::{MetricsSource, ReasonCount, ReceiversReport, TransportCounts};
use skein_core::errors::with_causes;

const RECEIVED: &str = "skein_collector_spans_received_total";
const ACCEPTED: &str = "skein_collector_spans_accepted_total";
const REJECTED: &str = "skein_collector_spans_rejected_total";

/// The counters of one or more collectors.
#[derive(Debug, Default, PartialEq)]
pub struct Counters {
    /// transport → (received, accepted)
    pub by_transport: BTreeMap<String, (u64, u64)>,
    /// reason → spans
    pub rejected: BTreeMap<String, u64>,
}

impl Counters {
    fn add(&mut self, other: Counters) {
        for (transport, (received, accepted)) in other.by_transport {
            let entry = self.by_transport.entry(transport).or_default();
            entry.0 += received;
            entry.1 += accepted;
        }
        for (reason, spans) in other.rejected {
            *self.rejected.entry(reason).or_default() += spans;
        }
    }
}

/// Read the collector counters from a Prometheus text exposition.
pub fn parse(text: &str) -> Counters {
    let mut counters = Counters::default();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let Some((name, labels, value)) = sample(line) else { continue };
        // Counters are integers; the exposition may write them as floats.
        let value = value.max(0.0).round() as u64;
        match name {
            RECEIVED | ACCEPTED => {
                let Some(transport) = label(labels, "transport") else { continue };
                let entry = counters.by_transport.entry(transport).or_default();
                if name == RECEIVED {
                    entry.0 += value;
                } else {
                    entry.1 += value;
                }
            }
            REJECTED => {
                let Some(reason) = label(labels, "reason") else { continue };
                *counters.rejected.entry(reason).or_default() += value;
            }
            _ => {}
        }
    }
    counters
}

/// `name{labels} value [timestamp]` → (name, labels, value).
fn sample(line: &str) -> Option<(&str, &str, f64)> {
    let (name, rest) = match line.find('{') {
        Some(open) => {
            let close = line.rfind('}')?;
            (&line[..open], (&line[open + 1..close], &line[close + 1..]))
        }
        None => {
            let (name, rest) = line.split_once(char::is_whitespace)?;
            (name, ("", rest))
        }
    };
    let (labels, rest) = rest;
    let value = rest.split_whitespace().next()?.parse().ok()?;
    Some((name.trim(), labels, value))
}

/// The value of label `key` in `a="x",b="y"` (quotes and backslash escapes undone).
fn label(labels: &str, key: &str) -> Option<String> {
    let mut rest = labels;
    loop {
        rest = rest.trim_start_matches([',', ' ']);
        let (name, after) = rest.split_once('=')?;
        let after = after.strip_prefix('"')?;
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next()? {
                (i, '"') => break i,
                (_, '\\') => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                (_, c) => value.push(c),
            }
        };
        if name.trim() == key {
            return Some(value);
        }
        rest = &after[end + 1..];
    }
}

/// Scrape every source (concurrently, each within `timeout`) and sum what answered.
pub async fn scrape(urls: &[String], timeout: Duration) -> ReceiversReport {
    let client = reqwest::Client::builder().timeout(timeout).connect_timeout(timeout).build();
    let fetches = urls.iter().map(|url| {
        let client = client.as_ref().map_err(|e| e.to_string()).cloned();
        async move {
            let result = match client {
                Ok(client) => fetch(&client, url).await,
                Err(error) => Err(format!("cannot build an HTTP client: {error}")),
            };
            (url.clone(), result)
        }
    });
    let mut sources = Vec::new();
    let mut total = Counters::default();
    for (url, result) in futures::future::join_all(fetches).await {
        match result {
            Ok(counters) => {
                total.add(counters);
                sources.push(MetricsSource { url, reachable: true, error: None });
            }
            Err(error) => sources.push(MetricsSource { url, reachable: false, error: Some(error) }),
        }
    }
    report(sources, total)
}

async fn fetch(client: &reqwest::Client, url: &str) -> Result<Counters, String> {
    let hint = "is a collector running there? set query.collector_metrics_urls to its admin address";
    let response =
        client.get(url).send().await.map_err(|e| format!("cannot scrape {url}: {} ({hint})", with_causes(&e)))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("{url} answered {status} ({hint})"));
    }
    let text = response.text().await.map_err(|e| format!("cannot read {url}: {}", with_causes(&e)))?;
    Ok(parse(&text))
}

fn report(sources: Vec<MetricsSource>, total: Counters) -> ReceiversReport {
    let transports = total
        .by_transport
        .into_iter()
        .map(|(transport, (received, accepted))| TransportCounts {
            transport,
            received,
            accepted,
            // Summed over processes that started at different times, accepted may briefly lead.
            refused: received.saturating_sub(accepted),
        })
        .collect();
    let refused_by_reason = total.rejected.into_iter().map(|(reason, spans)| ReasonCount { reason, spans }).collect();
    ReceiversReport { sources, transports, refused_by_reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXPOSITION: &str = r#"# TYPE skein_collector_spans_received_total counter
skein_collector_spans_received_total{transport="otlp_grpc"} 12
skein_collector_spans_received_total{transport="zipkin"} 3
# TYPE skein_collector_spans_accepted_total counter
skein_collector_spans_accepted_total{transport="otlp_grpc"} 10
skein_collector_spans_accepted_total{transport="zipkin"} 3
# TYPE skein_collector_spans_rejected_total counter
skein_collector_spans_rejected_total{reason="invalid_trace_id"} 2
skein_collector_spans_received_total_other{transport="otlp_grpc"} 99
skein_collector_requests_total{transport="otlp_grpc",outcome="ok"} 4
skein_ingester_records_consumed_total 7
"#;

    #[test]
    fn reads_received_accepted_and_rejected_counters_only() {
        let counters = parse(EXPOSITION);
        assert_eq!(counters.by_transport["otlp_grpc"], (12, 10));
        assert_eq!(counters.by_transport["zipkin"], (3, 3));
        assert_eq!(counters.by_transport.len(), 2);
        assert_eq!(counters.rejected["invalid_trace_id"], 2);
        assert_eq!(counters.rejected.len(), 1);
    }

    #[test]
    fn labels_are_found_in_any_position_with_escapes_and_float_values() {
        let text = "skein_collector_spans_rejected_total{instance=\"a,\\\"b\\\"\",reason=\"kafka_unavailable\"} 4e0 1700000000000\n\
                    skein_collector_spans_accepted_total{transport=\"otlp_http_json\"} 5.0\n";
        let counters = parse(text);
        assert_eq!(counters.rejected["kafka_unavailable"], 4);
        assert_eq!(counters.by_transport["otlp_http_json"], (0, 5));
        assert_eq!(label(r#"instance="a,\"b\"",reason="x""#, "instance").as_deref(), Some("a,\"b\""));
    }

    #[test]
    fn sources_are_summed_and_refused_is_received_minus_accepted() {
        let mut total = parse(EXPOSITION);
        total.add(parse(EXPOSITION));
        let report = report(vec![], total);
        let grpc = report.transports.iter().find(|t| t.transport == "otlp_grpc").unwrap();
        assert_eq!((grpc.received, grpc.accepted, grpc.refused), (24, 20, 4));
        assert_eq!(report.refused_by_reason, vec![ReasonCount { reason: "invalid_trace_id".into(), spans: 4 }]);
    }

    #[tokio::test]
    async fn an_unreachable_source_says_why_and_the_others_still_count() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let up = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let app = axum::Router::new().route("/metrics", axum::routing::get(|| async { EXPOSITION }));
            axum::serve(listener, app).await.unwrap();
        });
        // A port that was just free: nothing listens there.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let urls = vec![format!("http://{up}/metrics"), format!("http://{closed}/metrics")];
        let report = scrape(&urls, Duration::from_secs(2)).await;
        assert!(report.sources[0].reachable, "{:?}", report.sources[0]);
        assert!(!report.sources[1].reachable);
        let error = report.sources[1].error.as_deref().unwrap();
        assert!(error.contains("cannot scrape") && error.contains("refused"), "the cause is named: {error}");
        assert_eq!(report.transports.iter().map(|t| t.received).sum::<u64>(), 15);
    }
}
