//! What the hand-wired gRPC services share: routing one method path to a unary handler with the
//! collector's compression and message-size settings, and `UNIMPLEMENTED` for any other path.

use tonic::body::Body;
use tonic::codec::{CompressionEncoding, EnabledCompressionEncodings};
use tonic::server::{Grpc, UnaryService};
use tonic::{Code, Status};

/// Serve `request` with `handler` when it calls `path`; gzip and zstd accepted, gzip sent.
pub async fn unary<Req, Resp, H, B>(
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
