//! Jaeger Thrift over HTTP `POST /api/traces`: one binary-Thrift batch per service of each
//! request, sent one after the other.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use skein_schemas::jaeger::model_from_otlp::batches_from_otlp;
use skein_schemas::jaeger::thrift::encode_batch;
use skein_schemas::thrift::Protocol as ThriftProtocol;

use super::http::HttpClient;
use super::{Outcome, Payload};

pub(super) fn encode(request: &ExportTraceServiceRequest) -> (Payload, usize) {
    let bodies: Vec<Vec<u8>> =
        batches_from_otlp(request).iter().map(|batch| encode_batch(batch, ThriftProtocol::Binary)).collect();
    let bytes = bodies.iter().map(Vec::len).sum();
    (Payload::Bodies(bodies), bytes)
}

#[derive(Clone)]
pub(crate) struct ThriftHttpSender {
    http: HttpClient,
}

impl ThriftHttpSender {
    pub(super) fn new(http: HttpClient) -> Self {
        Self { http }
    }

    /// The bodies one after the other; the first refused one decides the outcome.
    pub(super) async fn send(&self, bodies: Vec<Vec<u8>>) -> Outcome {
        for body in bodies {
            let outcome = match self.http.post("application/x-thrift", body).await {
                Ok(response) if response.status().is_success() => continue,
                Ok(response) if response.status().as_u16() == 429 => Outcome::TooManyRequests,
                Ok(response) if response.status().as_u16() == 503 => Outcome::Unavailable,
                Ok(response) => {
                    Outcome::Other(format!("HTTP {}: {}", response.status(), response.text().await.unwrap_or_default()))
                }
                Err(error) => Outcome::Unreachable(format!("HTTP request failed: {error}")),
            };
            return outcome;
        }
        Outcome::Acked { rejected: 0 }
    }
}
