//! Jaeger gRPC on port 14250: `jaeger.api_v2.CollectorService/PostSpans` and
//! `jaeger.api_v2.SamplingManager/GetSamplingStrategy`, the two services Jaeger agents and
//! gRPC reporters call.

use std::convert::Infallible;
use std::task::{Context, Poll};

use skein_schemas::jaeger::api_v2::{
    PostSpansRequest, PostSpansResponse, SamplingStrategyParameters, SamplingStrategyResponse, COLLECTOR_SERVICE,
    GET_SAMPLING_STRATEGY_PATH, POST_SPANS_PATH, SAMPLING_SERVICE,
};
use skein_schemas::jaeger::to_otlp::{batch_to_otlp, Origin};
use tonic::body::Body;
use tonic::server::{NamedService, UnaryService};
use tonic::{Request, Response, Status};

use crate::export::Exporter;
use crate::receivers::otlp::grpc::status_for;
use crate::sampling::StrategyStore;

const TRANSPORT: &str = "jaeger_grpc";

/// `CollectorService`: spans from Jaeger gRPC reporters and agents.
#[derive(Clone)]
pub struct CollectorService {
    exporter: Exporter,
    max_request_bytes: usize,
}

impl CollectorService {
    pub fn new(exporter: Exporter, max_request_bytes: usize) -> Self {
        Self { exporter, max_request_bytes }
    }
}

impl NamedService for CollectorService {
    const NAME: &'static str = COLLECTOR_SERVICE;
}

struct PostSpans(Exporter);

impl UnaryService<PostSpansRequest> for PostSpans {
    type Response = PostSpansResponse;
    type Future = futures::future::BoxFuture<'static, Result<Response<Self::Response>, Status>>;

    fn call(&mut self, request: Request<PostSpansRequest>) -> Self::Future {
        let exporter = self.0.clone();
        Box::pin(async move {
            let request = request.into_inner();
            let size = prost::Message::encoded_len(&request);
            let reservation = exporter.reserve(TRANSPORT, size).map_err(status_for)?;
            let Some(batch) = request.batch else {
                return Ok(Response::new(PostSpansResponse {}));
            };
            let batch = batch.into_model().map_err(|error| {
                crate::telemetry::request(TRANSPORT, "malformed");
                Status::invalid_argument(format!("invalid Jaeger batch: {error}"))
            })?;
            let otlp = batch_to_otlp(batch, Origin::Proto);
            exporter.export_otlp(TRANSPORT, otlp, &reservation).await.map_err(status_for)?;
            Ok(Response::new(PostSpansResponse {}))
        })
    }
}

/// `SamplingManager`: strategies for agents and gRPC-polling SDKs.
#[derive(Clone)]
pub struct SamplingService {
    store: StrategyStore,
}

impl SamplingService {
    pub fn new(store: StrategyStore) -> Self {
        Self { store }
    }
}

impl NamedService for SamplingService {
    const NAME: &'static str = SAMPLING_SERVICE;
}

struct GetStrategy(StrategyStore);

impl UnaryService<SamplingStrategyParameters> for GetStrategy {
    type Response = SamplingStrategyResponse;
    type Future = futures::future::Ready<Result<Response<Self::Response>, Status>>;

    fn call(&mut self, request: Request<SamplingStrategyParameters>) -> Self::Future {
        let service = request.into_inner().service_name;
        futures::future::ready(Ok(Response::new(self.0.for_service(&service))))
    }
}

impl<B> tower::Service<http::Request<B>> for CollectorService
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
        let this = self.clone();
        Box::pin(async move {
            let handler = PostSpans(this.exporter);
            Ok(crate::receivers::grpc::unary(request, POST_SPANS_PATH, handler, this.max_request_bytes).await)
        })
    }
}

impl<B> tower::Service<http::Request<B>> for SamplingService
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
        let handler = GetStrategy(self.store.clone());
        Box::pin(async move {
            Ok(crate::receivers::grpc::unary(request, GET_SAMPLING_STRATEGY_PATH, handler, 64 * 1024).await)
        })
    }
}
