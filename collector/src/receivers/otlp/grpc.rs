//! OTLP/gRPC: `opentelemetry.proto.collector.trace.v1.TraceService/Export`.
//!
//! The service is wired by hand rather than through the generated server so the request reaches
//! the exporter as bytes ([`RawExportRequest`], in `skein_schemas::otlp_wire` with the other
//! decoders fed from outside): spans are copied into Kafka records as received, never decoded into
//! structs and encoded again.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use skein_edge::grpc::{UnaryMethod, UnaryServer};
use skein_schemas::otlp_wire::RawExportRequest;
use tonic::server::UnaryService;
use tonic::{Request, Response, Status};

use crate::export::{Exporter, RequestTenant};
use crate::receivers::answer::grpc_status;

const TRANSPORT: &str = "otlp_grpc";
const EXPORT_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

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

    fn admit(&self, request: &mut axum::http::request::Parts) -> Result<(), Status> {
        RequestTenant::admit(&self.exporter, TRANSPORT, request).map_err(grpc_status)
    }
}

impl UnaryService<RawExportRequest> for Export {
    type Response = ExportTraceServiceResponse;
    type Future = futures::future::BoxFuture<'static, Result<Response<Self::Response>, Status>>;

    fn call(&mut self, request: Request<RawExportRequest>) -> Self::Future {
        let exporter = self.exporter.clone();
        Box::pin(async move {
            let tenant = RequestTenant::of(&request)?;
            let encoded = request.into_inner().encoded;
            let reservation = exporter.reserve(TRANSPORT, encoded.len()).map_err(grpc_status)?;
            let outcome =
                exporter.export(TRANSPORT, tenant.as_ref(), &encoded, &reservation).await.map_err(grpc_status)?;
            Ok(Response::new(ExportTraceServiceResponse { partial_success: outcome.partial_success() }))
        })
    }
}
