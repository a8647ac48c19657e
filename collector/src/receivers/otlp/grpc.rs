//! OTLP/gRPC: `opentelemetry.proto.collector.trace.v1.TraceService/Export`.

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use prost::Message;
use tonic::codec::CompressionEncoding;
use tonic::{Code, Request, Response, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::error::{ExportError, PublishError};
use crate::export::Exporter;

const TRANSPORT: &str = "otlp_grpc";

/// The gRPC trace service.
pub struct OtlpGrpcReceiver {
    exporter: Exporter,
}

impl OtlpGrpcReceiver {
    /// A tonic service accepting gzip and zstd, refusing messages above `max_request_bytes`.
    pub fn service(exporter: Exporter, max_request_bytes: usize) -> TraceServiceServer<Self> {
        TraceServiceServer::new(Self { exporter })
            .accept_compressed(CompressionEncoding::Gzip)
            .accept_compressed(CompressionEncoding::Zstd)
            .send_compressed(CompressionEncoding::Gzip)
            .max_decoding_message_size(max_request_bytes)
    }
}

#[tonic::async_trait]
impl TraceService for OtlpGrpcReceiver {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let request = request.into_inner();
        let reservation = self.exporter.reserve(TRANSPORT, request.encoded_len()).map_err(status_for)?;
        let outcome = self.exporter.export(TRANSPORT, request, &reservation).await.map_err(status_for)?;
        Ok(Response::new(ExportTraceServiceResponse { partial_success: outcome.partial_success() }))
    }
}

/// The gRPC status OTLP prescribes for each failure; retryable ones carry `RetryInfo`.
pub fn status_for(error: ExportError) -> Status {
    let message = error.to_string();
    match (&error, error.retry_after()) {
        (ExportError::Publish(PublishError::Overloaded { .. }), Some(delay)) => {
            Status::with_error_details(Code::ResourceExhausted, message, ErrorDetails::with_retry_info(Some(delay)))
        }
        (_, Some(delay)) => {
            Status::with_error_details(Code::Unavailable, message, ErrorDetails::with_retry_info(Some(delay)))
        }
        (ExportError::InvalidRequest(_), None) => Status::invalid_argument(message),
        (_, None) => Status::internal(message),
    }
}
