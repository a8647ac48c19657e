//! What the hand-wired gRPC services share: a service of one unary method ([`UnaryServer`]),
//! routing its path to the handler with skein's compression and message-size settings, and
//! `UNIMPLEMENTED` for any other path.

use std::convert::Infallible;
use std::task::{Context, Poll};

use tonic::body::Body;
use tonic::codec::{CompressionEncoding, EnabledCompressionEncodings};
use tonic::server::{Grpc, NamedService, UnaryService};
use tonic::{Code, Status};

/// The one unary method of a gRPC service, handled by `Self` (cloned per call).
pub trait UnaryMethod: UnaryService<Self::Request, Response = Self::Reply> + Clone + Send + 'static {
    type Request: prost::Message + Default + Send + 'static;
    type Reply: prost::Message + Send + 'static;
    /// The service's full name, e.g. `jaeger.api_v2.CollectorService`.
    const SERVICE: &'static str;
    /// The method's path, e.g. `/jaeger.api_v2.CollectorService/PostSpans`.
    const PATH: &'static str;
    /// Largest request message accepted.
    fn max_request_bytes(&self) -> usize;
    /// Look at a call's headers (and what layers put in its extensions) before its message is
    /// read: refuse it, or leave what the handler needs in the extensions. Admits every call
    /// unless overridden.
    fn admit(&self, _request: &mut http::request::Parts) -> Result<(), Status> {
        Ok(())
    }
}

/// A gRPC service serving one [`UnaryMethod`], for tonic's router.
#[derive(Clone)]
pub struct UnaryServer<M>(pub M);

impl<M: UnaryMethod> NamedService for UnaryServer<M> {
    const NAME: &'static str = M::SERVICE;
}

impl<M, B> tower::Service<http::Request<B>> for UnaryServer<M>
where
    M: UnaryMethod,
    M::Future: Send + 'static,
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
        let handler = self.0.clone();
        let max = handler.max_request_bytes();
        let (mut parts, body) = request.into_parts();
        if parts.uri.path() == M::PATH {
            if let Err(status) = handler.admit(&mut parts) {
                return Box::pin(async move { Ok(status.into_http()) });
            }
        }
        let request = http::Request::from_parts(parts, body);
        Box::pin(async move { Ok(unary(request, M::PATH, handler, max).await) })
    }
}

/// Serve `request` with `handler` when it calls `path`; gzip and zstd accepted, gzip sent.
async fn unary<Req, Resp, H, B>(
    request: http::Request<B>,
    path: &str,
    handler: H,
    max_request_bytes: usize,
) -> http::Response<Body>
where
    Req: prost::Message + Default + Send + 'static,
    Resp: prost::Message + Send + 'static,
    H: UnaryService<Req, Response = Resp>,
    B: http_body::Body + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + Send + 'static,
{
    if request.uri().path() != path {
        let mut response = http::Response::new(Body::default());
        let headers = response.headers_mut();
        headers.insert(Status::GRPC_STATUS, (Code::Unimplemented as i32).into());
        headers.insert(http::header::CONTENT_TYPE, tonic::metadata::GRPC_CONTENT_TYPE);
        return response;
    }
    let mut accept = EnabledCompressionEncodings::default();
    accept.enable(CompressionEncoding::Gzip);
    accept.enable(CompressionEncoding::Zstd);
    let mut send = EnabledCompressionEncodings::default();
    send.enable(CompressionEncoding::Gzip);
    let codec = tonic_prost::ProstCodec::<Resp, Req>::default();
    let mut grpc = Grpc::new(codec)
        .apply_compression_config(accept, send)
        .apply_max_message_size_config(Some(max_request_bytes), None);
    grpc.unary(handler, request).await
}
