//! OTLP/gRPC: `opentelemetry.proto.collector.trace.v1.TraceService/Export`.
//!
//! The service is wired by hand rather than through the generated server so the request reaches
//! the exporter as bytes ([`RawExportRequest`]): spans are copied into Kafka records as received,
//! never decoded into structs and encoded again.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Buf, BufMut};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::encoding::{DecodeContext, WireType};
use tonic::body::Body;
use tonic::server::{NamedService, UnaryService};
use tonic::{Code, Request, Response, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::error::{ExportError, PublishError};
use crate::export::Exporter;

const TRANSPORT: &str = "otlp_grpc";
const EXPORT_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/// An `ExportTraceServiceRequest` kept encoded: its `resource_spans` fields (field 1) as they
/// arrived; other fields are skipped, as a decoder that does not know them would.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct RawExportRequest {
    pub encoded: Vec<u8>,
}

impl prost::Message for RawExportRequest {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        buf.put_slice(&self.encoded);
    }

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), prost::DecodeError> {
        if tag == 1 && wire_type == WireType::LengthDelimited {
            let mut payload = Vec::new();
            prost::encoding::bytes::merge(wire_type, &mut payload, buf, ctx)?;
            prost::encoding::encode_key(1, WireType::LengthDelimited, &mut self.encoded);
            prost::encoding::encode_varint(payload.len() as u64, &mut self.encoded);
            self.encoded.extend_from_slice(&payload);
            Ok(())
        } else {
            prost::encoding::skip_field(wire_type, tag, buf, ctx)
        }
    }

    fn encoded_len(&self) -> usize {
        self.encoded.len()
    }

    fn clear(&mut self) {
        self.encoded.clear();
    }
}

/// The gRPC trace service.
#[derive(Clone)]
pub struct OtlpGrpcReceiver {
    inner: Arc<Inner>,
}

struct Inner {
    exporter: Exporter,
    max_request_bytes: usize,
}

impl OtlpGrpcReceiver {
    /// A service accepting gzip and zstd, refusing messages above `max_request_bytes`.
    pub fn service(exporter: Exporter, max_request_bytes: usize) -> Self {
        Self { inner: Arc::new(Inner { exporter, max_request_bytes }) }
    }
}

impl NamedService for OtlpGrpcReceiver {
    const NAME: &'static str = "opentelemetry.proto.collector.trace.v1.TraceService";
}

struct Export(Arc<Inner>);

impl UnaryService<RawExportRequest> for Export {
    type Response = ExportTraceServiceResponse;
    type Future = futures::future::BoxFuture<'static, Result<Response<Self::Response>, Status>>;

    fn call(&mut self, request: Request<RawExportRequest>) -> Self::Future {
        let inner = self.0.clone();
        Box::pin(async move {
            let encoded = request.into_inner().encoded;
            let reservation = inner.exporter.reserve(TRANSPORT, encoded.len()).map_err(status_for)?;
            let outcome = inner.exporter.export(TRANSPORT, &encoded, &reservation).await.map_err(status_for)?;
            Ok(Response::new(ExportTraceServiceResponse { partial_success: outcome.partial_success() }))
        })
    }
}

impl<B> tower::Service<http::Request<B>> for OtlpGrpcReceiver
where
    B: http_body::Body + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = futures::future::BoxFuture<'static, Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let inner = self.inner.clone();
        Box::pin(async move {
            let max = inner.max_request_bytes;
            Ok(crate::receivers::grpc::unary(request, EXPORT_PATH, Export(inner), max).await)
        })
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

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::trace::v1::ResourceSpans;
    use prost::Message;

    #[test]
    fn raw_request_keeps_resource_spans_bytes_and_skips_unknown_fields() {
        let request = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans { schema_url: "a".into(), ..Default::default() }; 2],
        };
        let mut encoded = request.encode_to_vec();
        encoded.extend_from_slice(&[0x18, 0x05]); // unknown field 3, varint 5
        let raw = RawExportRequest::decode(encoded.as_slice()).expect("decodes");
        assert_eq!(raw.encoded, request.encode_to_vec());
        assert!(RawExportRequest::decode(&encoded[..encoded.len() - 4]).is_err(), "truncation is an error");
    }
}
