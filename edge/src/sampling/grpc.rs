//! Sampling over gRPC: `jaeger.api_v2.SamplingManager/GetSamplingStrategy`, as Jaeger agents and
//! gRPC-polling SDKs ask it.

use futures::future::BoxFuture;
use skein_schemas::jaeger::api_v2::{
    SamplingStrategyParameters, SamplingStrategyResponse, GET_SAMPLING_STRATEGY_PATH, SAMPLING_SERVICE,
};
use tonic::server::UnaryService;
use tonic::{Request, Response, Status};

use super::StrategySource;
use crate::grpc::{UnaryMethod, UnaryServer};

/// `SamplingManager/GetSamplingStrategy`, answered from `S`.
#[derive(Clone)]
pub struct GetStrategy<S>(S);

/// The `SamplingManager` for tonic's router.
pub fn service<S: StrategySource>(source: S) -> UnaryServer<GetStrategy<S>> {
    UnaryServer(GetStrategy(source))
}

impl<S: StrategySource> UnaryMethod for GetStrategy<S> {
    type Request = SamplingStrategyParameters;
    type Reply = SamplingStrategyResponse;
    const SERVICE: &'static str = SAMPLING_SERVICE;
    const PATH: &'static str = GET_SAMPLING_STRATEGY_PATH;

    fn max_request_bytes(&self) -> usize {
        64 * 1024
    }
}

impl<S: StrategySource> UnaryService<SamplingStrategyParameters> for GetStrategy<S> {
    type Response = SamplingStrategyResponse;
    type Future = BoxFuture<'static, Result<Response<Self::Response>, Status>>;

    fn call(&mut self, request: Request<SamplingStrategyParameters>) -> Self::Future {
        let strategy = self.0.strategy(request.into_inner().service_name);
        Box::pin(async move {
            strategy
                .await
                .map(Response::new)
                .map_err(|error| Status::unavailable(format!("no sampling strategy: {error}")))
        })
    }
}
