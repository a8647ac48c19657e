//! Jaeger span documents straight to Elasticsearch `_bulk`, converted as the ingester converts
//! them: the ceiling the ingester is measured against. The `_bulk` body and the reading of its
//! answer are both here, and only here.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::TracesData;
use skein_schemas::elasticsearch::IndexNames;
use skein_schemas::jaeger::{span_documents, TraceIdFormat};

use super::http::{refusal, HttpClient};
use super::{Outcome, Payload};
use crate::error::LoadgenError;

pub(super) fn encode(request: ExportTraceServiceRequest, names: &IndexNames) -> (Payload, usize) {
    Payload::body(bulk_body(request, names))
}

/// The `_bulk` body the ingester would send for these spans (span documents only; the ingester's
/// service documents are deduplicated to a handful per day).
fn bulk_body(request: ExportTraceServiceRequest, names: &IndexNames) -> Vec<u8> {
    let data = TracesData { resource_spans: request.resource_spans };
    let mut body = Vec::new();
    for span in span_documents(&data, TraceIdFormat::Short) {
        let action = serde_json::json!({ "index": { "_index": names.span_index(span.start_time_micros), "_id": span.document_id } });
        body.extend_from_slice(action.to_string().as_bytes());
        body.push(b'\n');
        body.extend_from_slice(&span.body);
        body.push(b'\n');
    }
    body
}

/// A 2xx `_bulk` answer (filtered to `errors` and each item's status): items refused count as
/// rejected spans of an acked request.
fn bulk_outcome(body: &[u8]) -> Outcome {
    let value: serde_json::Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(error) => return Outcome::Other(format!("unreadable bulk response: {error}")),
    };
    if value["errors"] == serde_json::Value::Bool(false) {
        return Outcome::Acked { rejected: 0 };
    }
    let failed = value["items"]
        .as_array()
        .map_or(0, |items| items.iter().filter(|item| item["index"]["status"].as_u64().unwrap_or(500) >= 300).count());
    Outcome::Acked { rejected: failed as u64 }
}

#[derive(Clone)]
pub(crate) struct EsBulkSender {
    http: HttpClient,
}

impl EsBulkSender {
    /// Install the index templates of `prefix` first, so documents are mapped as the ingester's.
    pub(super) async fn connect(http: HttpClient, prefix: &str) -> Result<Self, LoadgenError> {
        let base = http.url.split("/_bulk").next().unwrap_or(&http.url).to_string();
        for (name, body) in IndexNames::new(prefix).templates(1, 0) {
            let response = http
                .client
                .put(format!("{base}/_index_template/{name}"))
                .json(&body)
                .send()
                .await
                .map_err(|source| LoadgenError::Elasticsearch { url: base.clone(), source })?;
            if !response.status().is_success() {
                return Err(LoadgenError::TemplateRefused { name, answer: response.text().await.unwrap_or_default() });
            }
        }
        Ok(Self { http })
    }

    pub(super) async fn send(&self, body: reqwest::Body) -> Outcome {
        match self.http.post("application/x-ndjson", body).await {
            Ok(response) => {
                let status = response.status().as_u16();
                let body = response.bytes().await.unwrap_or_default();
                match status {
                    200..=299 => bulk_outcome(&body),
                    other => refusal(other, &body),
                }
            }
            Err(error) => Outcome::Other(format!("bulk request failed: {error}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::args::parse;
    use crate::generator::{Generator, Workload};

    #[test]
    fn bulk_body_pairs_actions_with_jaeger_documents() {
        let args = parse(&["--es-prefix", "b1", "--spans-per-trace", "4"]);
        let mut generator = Generator::new(Arc::new(Workload::new(&args, 1)), 2);
        let (request, _) = generator.request(8);
        let body = String::from_utf8(bulk_body(request, &IndexNames::new("b1"))).unwrap();
        let lines: Vec<_> = body.lines().collect();
        assert_eq!(lines.len(), 16);
        assert!(lines[0].contains("\"_index\":\"b1-jaeger-span-"));
        assert!(lines[1].contains("\"traceID\""));
    }

    #[test]
    fn refused_bulk_items_count_as_rejected_spans() {
        let rejected = |body: &[u8]| match bulk_outcome(body) {
            Outcome::Acked { rejected } => rejected,
            _ => panic!("a readable 2xx answer is an ack"),
        };
        assert_eq!(rejected(br#"{"errors":false}"#), 0);
        let body =
            br#"{"errors":true,"items":[{"index":{"status":201}},{"index":{"status":429}},{"index":{"status":400}}]}"#;
        assert_eq!(rejected(body), 2);
        assert!(matches!(bulk_outcome(b"<html>"), Outcome::Other(message) if message.starts_with("unreadable bulk")));
    }
}
