//! Jaeger span documents straight to Elasticsearch `_bulk`, converted as the ingester converts
//! them: the ceiling the ingester is measured against. The `_bulk` body and the reading of its
//! answer are core's, as the ingester's are; only the retries are left out, since a ceiling run
//! counts what Elasticsearch refuses instead of resending it.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::TracesData;
use skein_core::elasticsearch::bulk::{item_outcomes, BulkAction, BulkBody, ItemOutcome};
use skein_schemas::elasticsearch::IndexNames;
use skein_schemas::jaeger::{span_documents, TraceIdFormat};

use super::http::{refusal, HttpClient};
use super::{Outcome, Payload};
use crate::error::LoadgenError;

pub(super) fn encode(request: ExportTraceServiceRequest, names: &IndexNames) -> (Payload, usize) {
    let body = bulk_body(request, names);
    let (actions, bytes) = (body.actions(), body.into_bytes());
    let len = bytes.len();
    (Payload::Bulk { body: bytes.into(), actions }, len)
}

/// The `_bulk` body the ingester would send for these spans (span documents only; the ingester's
/// service documents are deduplicated to a handful per day).
fn bulk_body(request: ExportTraceServiceRequest, names: &IndexNames) -> BulkBody {
    let data = TracesData { resource_spans: request.resource_spans };
    let mut body = BulkBody::default();
    // The ingester's default form (the load's trace ids have a non-zero high half: both forms agree).
    for span in span_documents(&data, TraceIdFormat::default()) {
        let index = names.span_index(span.start_time_micros);
        body.push(BulkAction::Index { index: &index, id: &span.document_id, source: &span.body });
    }
    body
}

/// A 2xx `_bulk` answer to `actions` actions: items refused count as rejected spans of an acked
/// request; an answer that does not account for every action is not an ack.
fn bulk_outcome(body: &[u8], actions: usize) -> Outcome {
    match item_outcomes(body, actions) {
        Ok(outcomes) => Outcome::Acked {
            rejected: outcomes.iter().filter(|outcome| **outcome != ItemOutcome::Durable).count() as u64,
        },
        Err(error) => Outcome::Other(error.to_string()),
    }
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

    pub(super) async fn send(&self, body: bytes::Bytes, actions: usize) -> Outcome {
        match self.http.post("application/x-ndjson", body).await {
            Ok(response) => {
                let status = response.status().as_u16();
                let body = response.bytes().await.unwrap_or_default();
                match status {
                    200..=299 => bulk_outcome(&body, actions),
                    other => refusal(other, &body),
                }
            }
            Err(error) => Outcome::Unreachable(format!("bulk request failed: {error}")),
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
        let body = bulk_body(request, &IndexNames::new("b1"));
        assert_eq!(body.actions(), 8);
        let body = String::from_utf8(body.into_bytes()).unwrap();
        let lines: Vec<_> = body.lines().collect();
        assert_eq!(lines.len(), 16);
        assert!(lines[0].contains("\"_index\":\"b1-jaeger-span-"));
        assert!(lines[1].contains("\"traceID\""));
    }

    #[test]
    fn refused_bulk_items_count_as_rejected_spans() {
        let rejected = |body: &[u8], actions| match bulk_outcome(body, actions) {
            Outcome::Acked { rejected } => rejected,
            _ => panic!("a readable 2xx answer is an ack"),
        };
        assert_eq!(rejected(br#"{"errors":false}"#, 3), 0);
        let body =
            br#"{"errors":true,"items":[{"index":{"status":201}},{"index":{"status":429}},{"index":{"status":400}}]}"#;
        assert_eq!(rejected(body, 3), 2);
        assert!(matches!(bulk_outcome(b"<html>", 3), Outcome::Other(_)));
    }

    #[test]
    fn an_answer_missing_items_is_not_an_ack() {
        let short = br#"{"errors":true,"items":[{"index":{"status":201}}]}"#;
        assert!(matches!(bulk_outcome(short, 3), Outcome::Other(_)));
    }
}
