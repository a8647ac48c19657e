//! Remote sampling: the strategies a collector serves from its file ([`StrategyStore`]), or an agent
//! asks a collector for, answered over HTTP ([`http`]) and gRPC ([`grpc`]) from any
//! [`StrategySource`].

pub mod grpc;
pub mod http;
mod source;
mod store;

pub use source::StrategySource;
pub use store::{SamplingError, StrategyStore};
