//! The gRPC channel the gRPC senders open, and how a refused call is counted.

use tonic::transport::Channel;

use super::Outcome;
use crate::error::LoadgenError;

/// One HTTP/2 connection to `endpoint`.
pub(super) async fn channel(endpoint: &str) -> Result<Channel, LoadgenError> {
    Channel::from_shared(endpoint.to_string())
        .map_err(|source| LoadgenError::InvalidUrl { endpoint: endpoint.to_string(), source })?
        .connect()
        .await
        .map_err(|source| LoadgenError::Connect { endpoint: endpoint.to_string(), source })
}

/// A failed call: RESOURCE_EXHAUSTED and UNAVAILABLE are the receiver's backpressure, anything
/// else an error shown with its message.
pub(super) fn refusal(status: &tonic::Status) -> Outcome {
    match status.code() {
        tonic::Code::ResourceExhausted => Outcome::TooManyRequests,
        tonic::Code::Unavailable => Outcome::Unavailable,
        code => Outcome::Other(format!("gRPC {code:?}: {}", status.message())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backpressure_codes_are_counted_apart_from_errors() {
        assert!(matches!(refusal(&tonic::Status::resource_exhausted("full")), Outcome::TooManyRequests));
        assert!(matches!(refusal(&tonic::Status::unavailable("kafka")), Outcome::Unavailable));
        let other = refusal(&tonic::Status::invalid_argument("bad span"));
        assert!(matches!(other, Outcome::Other(message) if message == "gRPC InvalidArgument: bad span"));
    }
}
