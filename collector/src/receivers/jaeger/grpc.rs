//! Jaeger gRPC on port 14250: `jaeger.api_v2.CollectorService/PostSpans` and
//! `jaeger.api_v2.SamplingManager/GetSamplingStrategy`, the two services Jaeger agents and
//! gRPC reporters call.

use skein_schemas::jaeger::api_v2::{
    PostSpansRequest, PostSpansResponse, SamplingStrategyParameters, SamplingStrategyResponse, COLLECTOR_SERVICE,
    GET_SAMPLING_STRATEGY_PATH, POST_SPANS_PATH, SAMPLING_SERVICE,
};
use skein_schemas::jaeger::to_otlp::{batch_to_otlp, Origin};
use tonic::server::UnaryService;
use tonic::{Request, Response, Status};

use crate::export::Exporter;
use crate::receivers::grpc::{UnaryMethod, UnaryServer};
use crate::receivers::otlp::grpc::status_for;
use crate::sampling::StrategyStore;

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
}

impl UnaryService<PostSpansRequest> for PostSpans {
    type Response = PostSpansResponse;
    type Future = futures::future::BoxFuture<'static, Result<Response<Self::Response>, Status>>;

    fn call(&mut self, request: Request<PostSpansRequest>) -> Self::Future {
        let exporter = self.exporter.clone();
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

/// `SamplingManager/GetSamplingStrategy`: strategies for agents and gRPC-polling SDKs.
#[derive(Clone)]
pub struct GetStrategy(StrategyStore);

/// The `SamplingManager` for tonic's router.
pub fn sampling_service(store: StrategyStore) -> UnaryServer<GetStrategy> {
    UnaryServer(GetStrategy(store))
}

impl UnaryMethod for GetStrategy {
    type Request = SamplingStrategyParameters;
    type Reply = SamplingStrategyResponse;
    const SERVICE: &'static str = SAMPLING_SERVICE;
    const PATH: &'static str = GET_SAMPLING_STRATEGY_PATH;

    fn max_request_bytes(&self) -> usize {
        64 * 1024
    }
}

impl UnaryService<SamplingStrategyParameters> for GetStrategy {
    type Response = SamplingStrategyResponse;
    type Future = futures::future::Ready<Result<Response<Self::Response>, Status>>;

    fn call(&mut self, request: Request<SamplingStrategyParameters>) -> Self::Future {
        let service = request.into_inner().service_name;
        futures::future::ready(Ok(Response::new(self.0.for_service(&service))))
    }
}
