//! Jaeger gRPC on port 14250: `jaeger.api_v2.CollectorService/PostSpans`, the spans Jaeger agents
//! and gRPC reporters send. The port's other service, `SamplingManager`, is
//! [`skein_edge::sampling::grpc`]. Spans validation refuses are counted and logged, and OK still
//! answers for the others; INVALID_ARGUMENT when it refused them all.

use skein_edge::grpc::{UnaryMethod, UnaryServer};
use skein_schemas::jaeger::api_v2::{PostSpansRequest, PostSpansResponse, COLLECTOR_SERVICE, POST_SPANS_PATH};
use skein_schemas::jaeger::to_otlp::{batch_to_otlp, Origin};
use tonic::server::UnaryService;
use tonic::{Request, Response, Status};

use crate::export::{Exporter, RequestTenant};
use crate::receivers::answer::{grpc_status, REJECTED_SPANS_HEADER};
use crate::validate::Rejections;

const TRANSPORT: &str = "jaeger_grpc";

/// `CollectorService/PostSpans`: spans from Jaeger gRPC reporters and agents.
#[derive(Clone)]
pub struct PostSpans {
    exporter: Exporter,
    max_request_bytes: usize,
}

/// The `CollectorService` for tonic's router.
pub fn collector_service(exporter: Exporter, max_request_bytes: usize) -> UnaryServer<PostSpans> {
    UnaryServer(PostSpans { exporter, max_request_bytes })
}

impl UnaryMethod for PostSpans {
    type Request = PostSpansRequest;
    type Reply = PostSpansResponse;
    const SERVICE: &'static str = COLLECTOR_SERVICE;
    const PATH: &'static str = POST_SPANS_PATH;

    fn max_request_bytes(&self) -> usize {
        self.max_request_bytes
    }

    fn admit(&self, request: &mut axum::http::request::Parts) -> Result<(), Status> {
        RequestTenant::admit(&self.exporter, TRANSPORT, request).map_err(grpc_status)
    }
}

impl UnaryService<PostSpansRequest> for PostSpans {
    type Response = PostSpansResponse;
    type Future = futures::future::BoxFuture<'static, Result<Response<Self::Response>, Status>>;

    fn call(&mut self, request: Request<PostSpansRequest>) -> Self::Future {
        let exporter = self.exporter.clone();
        Box::pin(async move {
            let tenant = RequestTenant::of(&request)?;
            let request = request.into_inner();
            let size = prost::Message::encoded_len(&request);
            let reservation = exporter.reserve(TRANSPORT, size).map_err(grpc_status)?;
            let Some(batch) = request.batch else {
                return Ok(Response::new(PostSpansResponse {}));
            };
            let batch = batch.into_model().map_err(|error| {
                crate::telemetry::request(TRANSPORT, "malformed");
                Status::invalid_argument(format!("invalid Jaeger batch: {error}"))
            })?;
            let otlp = batch_to_otlp(batch, Origin::Proto);
            let outcome = exporter
                .export_otlp(TRANSPORT, tenant.as_ref(), otlp, Rejections::default(), &reservation)
                .await
                .map_err(grpc_status)?;
            // api_v2 has no field for a partial acceptance: the count goes in the metadata, and
            // the refusals into the collector's metrics and log.
            let mut response = Response::new(PostSpansResponse {});
            if outcome.rejected_spans > 0 {
                response.metadata_mut().insert(REJECTED_SPANS_HEADER, outcome.rejected_spans.into());
            }
            Ok(response)
        })
    }
}
