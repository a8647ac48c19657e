//! OTLP/gRPC `TraceService/Export`, requests spread round-robin over `--connections` channels.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use tonic::transport::Channel;

use super::partial_success::rejected_spans;
use super::{grpc, Outcome, Payload};
use crate::error::LoadgenError;

/// The request as is; tonic encodes it on sending.
pub(super) fn encode(request: ExportTraceServiceRequest) -> (Payload, usize) {
    let bytes = request.encoded_len();
    (Payload::OtlpGrpc(request), bytes)
}

#[derive(Clone)]
pub(crate) struct OtlpGrpcSender {
    clients: Arc<Vec<TraceServiceClient<Channel>>>,
    next: Arc<AtomicUsize>,
}

impl OtlpGrpcSender {
    pub(super) async fn connect(endpoint: &str, connections: usize) -> Result<Self, LoadgenError> {
        let mut clients = Vec::new();
        for _ in 0..connections.max(1) {
            let channel = grpc::channel(endpoint).await?;
            clients.push(TraceServiceClient::new(channel).max_decoding_message_size(16 * 1024 * 1024));
        }
        Ok(Self { clients: Arc::new(clients), next: Arc::default() })
    }

    pub(super) async fn send(&self, request: ExportTraceServiceRequest) -> Outcome {
        let index = self.next.fetch_add(1, Ordering::Relaxed) % self.clients.len();
        let mut client = self.clients[index].clone();
        match client.export(request).await {
            Ok(response) => Outcome::Acked { rejected: rejected_spans(Some(response.into_inner())) },
            Err(status) => grpc::refusal(&status),
        }
    }
}
