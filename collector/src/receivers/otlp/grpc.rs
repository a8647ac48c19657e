//! OTLP/gRPC: `opentelemetry.proto.collector.trace.v1.TraceService/Export`.
//!
//! The service is wired by hand rather than through the generated server so the request reaches
//! the exporter as bytes ([`RawExportRequest`]): spans are copied into Kafka records as received,
//! never decoded into structs and encoded again.

use bytes::{Buf, BufMut};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::encoding::{DecodeContext, WireType};
use skein_edge::grpc::{UnaryMethod, UnaryServer};
use tonic::server::UnaryService;
use tonic::{Request, Response, Status};

use crate::export::Exporter;
use crate::receivers::answer::grpc_status;

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

/// `TraceService/Export`.
#[derive(Clone)]
pub struct Export {
    exporter: Exporter,
    max_request_bytes: usize,
}

/// The gRPC trace service for tonic's router: gzip and zstd accepted, messages above
/// `max_request_bytes` refused.
pub fn trace_service(exporter: Exporter, max_request_bytes: usize) -> UnaryServer<Export> {
    UnaryServer(Export { exporter, max_request_bytes })
}

impl UnaryMethod for Export {
    type Request = RawExportRequest;
    type Reply = ExportTraceServiceResponse;
    const SERVICE: &'static str = "opentelemetry.proto.collector.trace.v1.TraceService";
    const PATH: &'static str = EXPORT_PATH;

    fn max_request_bytes(&self) -> usize {
        self.max_request_bytes
    }
}

impl UnaryService<RawExportRequest> for Export {
    type Response = ExportTraceServiceResponse;
    type Future = futures::future::BoxFuture<'static, Result<Response<Self::Response>, Status>>;

    fn call(&mut self, request: Request<RawExportRequest>) -> Self::Future {
        let exporter = self.exporter.clone();
        Box::pin(async move {
            let encoded = request.into_inner().encoded;
            let reservation = exporter.reserve(TRANSPORT, encoded.len()).map_err(grpc_status)?;
            let outcome = exporter.export(TRANSPORT, &encoded, &reservation).await.map_err(grpc_status)?;
            Ok(Response::new(ExportTraceServiceResponse { partial_success: outcome.partial_success() }))
        })
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
