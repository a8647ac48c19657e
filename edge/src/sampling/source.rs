//! Where the sampling answers get a service's strategy.

use futures::future::BoxFuture;
use skein_schemas::jaeger::api_v2::SamplingStrategyResponse;

/// A service's strategy: from the collector's own [`super::StrategyStore`], or (in the agent) from
/// a collector asked over gRPC. The error says why there is no answer now.
pub trait StrategySource: Clone + Send + Sync + 'static {
    fn strategy(&self, service: String) -> BoxFuture<'static, Result<SamplingStrategyResponse, String>>;
}
