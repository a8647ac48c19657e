//! Zipkin `POST /api/v2/spans`, JSON or proto3, the spans as a Zipkin reporter sends them.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use skein_schemas::zipkin::from_otlp::spans_from_otlp;
use skein_schemas::zipkin::json::encode_spans;
use skein_schemas::zipkin::proto::{ListOfSpans, ProtoSpan};

use super::http::{refusal, HttpClient};
use super::{Outcome, Payload};

pub(super) fn encode_json(request: &ExportTraceServiceRequest) -> (Payload, usize) {
    Payload::body(encode_spans(&spans_from_otlp(request)))
}

pub(super) fn encode_proto(request: &ExportTraceServiceRequest) -> (Payload, usize) {
    let spans = spans_from_otlp(request);
    Payload::body(ListOfSpans { spans: spans.iter().map(ProtoSpan::from).collect() }.encode_to_vec())
}

#[derive(Clone)]
pub(crate) struct ZipkinSender {
    http: HttpClient,
    content_type: &'static str,
}

impl ZipkinSender {
    pub(super) fn json(http: HttpClient) -> Self {
        Self { http, content_type: "application/json" }
    }

    pub(super) fn proto(http: HttpClient) -> Self {
        Self { http, content_type: "application/x-protobuf" }
    }

    /// Zipkin answers 202 with no body: every span of an accepted request counts as acked.
    pub(super) async fn send(&self, body: bytes::Bytes) -> Outcome {
        match self.http.post(self.content_type, body).await {
            Ok(response) => {
                let status = response.status().as_u16();
                let body = response.bytes().await.unwrap_or_default();
                match status {
                    200..=299 => Outcome::Acked { rejected: 0 },
                    other => refusal(other, &body),
                }
            }
            Err(error) => Outcome::Unreachable(format!("HTTP request failed: {error}")),
        }
    }
}
