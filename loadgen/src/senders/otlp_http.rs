//! OTLP/HTTP `POST /v1/traces`, protobuf or JSON.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;

use super::http::{refusal, HttpClient};
use super::partial_success::{json_rejected_spans, protobuf_rejected_spans};
use super::{Outcome, Payload};

pub(super) fn encode_protobuf(request: &ExportTraceServiceRequest) -> (Payload, usize) {
    Payload::body(request.encode_to_vec())
}

pub(super) fn encode_json(request: &ExportTraceServiceRequest) -> (Payload, usize) {
    Payload::body(serde_json::to_vec(request).expect("OTLP requests serialize"))
}

#[derive(Clone)]
pub(crate) struct OtlpHttpSender {
    http: HttpClient,
    /// JSON bodies, and JSON answers to read a partial success from.
    json: bool,
}

impl OtlpHttpSender {
    pub(super) fn protobuf(http: HttpClient) -> Self {
        Self { http, json: false }
    }

    pub(super) fn json(http: HttpClient) -> Self {
        Self { http, json: true }
    }

    pub(super) async fn send(&self, body: bytes::Bytes) -> Outcome {
        let content_type = if self.json { "application/json" } else { "application/x-protobuf" };
        match self.http.post(content_type, body).await {
            Ok(response) => {
                let status = response.status().as_u16();
                let body = response.bytes().await.unwrap_or_default();
                match status {
                    200..=299 if self.json => Outcome::Acked { rejected: json_rejected_spans(&body) },
                    200..=299 => Outcome::Acked { rejected: protobuf_rejected_spans(&body) },
                    other => refusal(other, &body),
                }
            }
            Err(error) => Outcome::Unreachable(format!("HTTP request failed: {error}")),
        }
    }
}
