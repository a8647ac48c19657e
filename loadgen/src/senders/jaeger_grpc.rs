//! Jaeger gRPC `CollectorService/PostSpans`: one call per service of each request, as a Jaeger
//! client or agent reports one process per batch.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use skein_schemas::jaeger::api_v2::{Batch, PostSpansRequest, PostSpansResponse, POST_SPANS_PATH};
use skein_schemas::jaeger::model_from_otlp::batches_from_otlp;
use tonic::transport::Channel;

use super::{grpc, Outcome, Payload};
use crate::error::LoadgenError;

pub(super) fn encode(request: &ExportTraceServiceRequest) -> (Payload, usize) {
    let requests: Vec<PostSpansRequest> = batches_from_otlp(request)
        .iter()
        .map(|batch| PostSpansRequest { batch: Some(Batch::from_model(batch)) })
        .collect();
    let bytes = requests.iter().map(|r| r.encoded_len()).sum();
    (Payload::JaegerGrpc(requests), bytes)
}

#[derive(Clone)]
pub(crate) struct JaegerGrpcSender {
    client: tonic::client::Grpc<Channel>,
}

impl JaegerGrpcSender {
    pub(super) async fn connect(endpoint: &str) -> Result<Self, LoadgenError> {
        Ok(Self { client: tonic::client::Grpc::new(grpc::channel(endpoint).await?) })
    }

    /// The calls one after the other; the first refused one decides the outcome.
    pub(super) async fn send(&self, requests: Vec<PostSpansRequest>) -> Outcome {
        let mut client = self.client.clone();
        let call = async {
            for request in requests {
                client.ready().await.map_err(|e| tonic::Status::unavailable(e.to_string()))?;
                client
                    .unary::<_, PostSpansResponse, _>(
                        tonic::Request::new(request),
                        http::uri::PathAndQuery::from_static(POST_SPANS_PATH),
                        tonic_prost::ProstCodec::default(),
                    )
                    .await?;
            }
            Ok::<_, tonic::Status>(())
        };
        match call.await {
            Ok(()) => Outcome::Acked { rejected: 0 },
            Err(status) => grpc::refusal(&status),
        }
    }
}
