//! One sender per protocol. Each encodes a generated OTLP request into its wire form ahead of
//! time and sends it, reading the answer into an [`Outcome`]; this module picks them by protocol.

mod es_bulk;
mod grpc;
mod http;
mod jaeger_grpc;
mod jaeger_thrift_http;
mod jaeger_udp;
mod otlp_grpc;
mod otlp_http;
mod outcome;
mod partial_success;
mod zipkin;

use std::time::{Duration, Instant};

use bytes::Bytes;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use skein_schemas::elasticsearch::IndexNames;
use skein_schemas::jaeger::api_v2::PostSpansRequest;
use skein_schemas::thrift::Protocol as ThriftProtocol;

pub(crate) use outcome::{Outcome, SendOutcome};

use crate::args::{LoadgenArgs, Protocol};
use crate::error::LoadgenError;

/// A request encoded for its sender. Cloning is cheap for the byte bodies (shared buffers), so a
/// refused request can be resent as it was.
#[derive(Clone)]
pub(crate) enum Payload {
    OtlpGrpc(ExportTraceServiceRequest),
    Body(Bytes),
    /// A `_bulk` body and how many actions it holds (the answer must list as many items).
    Bulk {
        body: Bytes,
        actions: usize,
    },
    /// Several HTTP bodies sent one after the other (Thrift: one per service).
    Bodies(Vec<Vec<u8>>),
    JaegerGrpc(Vec<PostSpansRequest>),
    Datagrams(Vec<Vec<u8>>),
}

impl Payload {
    /// One HTTP body, and its size.
    fn body(bytes: Vec<u8>) -> (Payload, usize) {
        let len = bytes.len();
        (Payload::Body(bytes.into()), len)
    }
}

/// Encodes requests for the protocol (es-bulk: into the indices of its prefix).
pub(crate) struct Encoder {
    protocol: Protocol,
    es_names: IndexNames,
}

impl Encoder {
    pub(crate) fn new(args: &LoadgenArgs) -> Self {
        Self { protocol: args.protocol, es_names: IndexNames::new(args.es_prefix.as_deref().unwrap_or_default()) }
    }

    /// The payload, and its encoded size in bytes.
    pub(crate) fn encode(&self, request: ExportTraceServiceRequest) -> (Payload, usize) {
        match self.protocol {
            Protocol::Grpc => otlp_grpc::encode(request),
            Protocol::HttpProtobuf => otlp_http::encode_protobuf(&request),
            Protocol::HttpJson => otlp_http::encode_json(&request),
            Protocol::EsBulk => es_bulk::encode(request, &self.es_names),
            Protocol::JaegerGrpc => jaeger_grpc::encode(&request),
            Protocol::JaegerThriftHttp => jaeger_thrift_http::encode(&request),
            Protocol::JaegerUdpCompact => jaeger_udp::encode(&request, ThriftProtocol::Compact),
            Protocol::JaegerUdpBinary => jaeger_udp::encode(&request, ThriftProtocol::Binary),
            Protocol::ZipkinJson => zipkin::encode_json(&request),
            Protocol::ZipkinProto => zipkin::encode_proto(&request),
        }
    }
}

/// The connection requests go out on, shared by every request in flight.
#[derive(Clone)]
pub(crate) enum Sender {
    OtlpGrpc(otlp_grpc::OtlpGrpcSender),
    OtlpHttp(otlp_http::OtlpHttpSender),
    EsBulk(es_bulk::EsBulkSender),
    JaegerGrpc(jaeger_grpc::JaegerGrpcSender),
    JaegerThriftHttp(jaeger_thrift_http::ThriftHttpSender),
    JaegerUdp(jaeger_udp::UdpSender),
    Zipkin(zipkin::ZipkinSender),
}

impl Sender {
    /// Connect to `endpoint` (es-bulk: install the prefix's index templates first).
    pub(crate) async fn connect(args: &LoadgenArgs, endpoint: &str) -> Result<Self, LoadgenError> {
        let http = || http::HttpClient::new(args.concurrency, endpoint);
        Ok(match args.protocol {
            Protocol::Grpc => Sender::OtlpGrpc(otlp_grpc::OtlpGrpcSender::connect(endpoint, args.connections).await?),
            Protocol::HttpProtobuf => Sender::OtlpHttp(otlp_http::OtlpHttpSender::protobuf(http()?)),
            Protocol::HttpJson => Sender::OtlpHttp(otlp_http::OtlpHttpSender::json(http()?)),
            Protocol::EsBulk => {
                let prefix = args.es_prefix.as_deref().unwrap_or_default();
                Sender::EsBulk(es_bulk::EsBulkSender::connect(http()?, prefix).await?)
            }
            Protocol::JaegerGrpc => Sender::JaegerGrpc(jaeger_grpc::JaegerGrpcSender::connect(endpoint).await?),
            Protocol::JaegerThriftHttp => Sender::JaegerThriftHttp(jaeger_thrift_http::ThriftHttpSender::new(http()?)),
            Protocol::JaegerUdpCompact | Protocol::JaegerUdpBinary => {
                Sender::JaegerUdp(jaeger_udp::UdpSender::connect(endpoint).await?)
            }
            Protocol::ZipkinJson => Sender::Zipkin(zipkin::ZipkinSender::json(http()?)),
            Protocol::ZipkinProto => Sender::Zipkin(zipkin::ZipkinSender::proto(http()?)),
        })
    }

    /// Send one prepared payload and time the answer.
    pub(crate) async fn send(&self, payload: Payload) -> SendOutcome {
        let started = Instant::now();
        let result = match (self, payload) {
            (Sender::OtlpGrpc(sender), Payload::OtlpGrpc(request)) => sender.send(request).await,
            (Sender::OtlpHttp(sender), Payload::Body(body)) => sender.send(body).await,
            (Sender::EsBulk(sender), Payload::Bulk { body, actions }) => sender.send(body, actions).await,
            (Sender::JaegerGrpc(sender), Payload::JaegerGrpc(requests)) => sender.send(requests).await,
            (Sender::JaegerThriftHttp(sender), Payload::Bodies(bodies)) => sender.send(bodies).await,
            (Sender::JaegerUdp(sender), Payload::Datagrams(datagrams)) => sender.send(datagrams).await,
            (Sender::Zipkin(sender), Payload::Body(body)) => sender.send(body).await,
            _ => unreachable!("payloads are prepared for their sender"),
        };
        SendOutcome { result, latency: started.elapsed(), finished: Instant::now() }
    }

    /// Send `payload`, and with `retry_for` resend it while the answer is backpressure or no
    /// answer at all (429/503, RESOURCE_EXHAUSTED/UNAVAILABLE, a refused or broken connection),
    /// with a doubling pause, until it is acknowledged or refused for good, or `retry_for` has
    /// passed since the first attempt. The latency is that of the whole exchange; the second
    /// value counts the resends.
    pub(crate) async fn send_retrying(&self, payload: Payload, retry_for: Option<Duration>) -> (SendOutcome, u64) {
        let Some(window) = retry_for else { return (self.send(payload).await, 0) };
        let started = Instant::now();
        let mut pause = RETRY_FIRST_PAUSE;
        let mut resends = 0;
        loop {
            let mut outcome = self.send(payload.clone()).await;
            if !outcome.result.is_retryable() || started.elapsed() + pause > window {
                outcome.latency = started.elapsed();
                return (outcome, resends);
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(RETRY_MAX_PAUSE);
            resends += 1;
        }
    }
}

/// First pause before a resend; doubled after each one up to [`RETRY_MAX_PAUSE`].
const RETRY_FIRST_PAUSE: Duration = Duration::from_millis(100);
/// Longest pause between resends: a collector back after a restart is found within this.
const RETRY_MAX_PAUSE: Duration = Duration::from_secs(2);

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;
    use crate::args::parse;

    /// An HTTP server on `listener` answering one request per connection with the next of
    /// `statuses` (the last one from then on); counts the requests it answered.
    fn serve(listener: TcpListener, statuses: Vec<u16>) -> Arc<AtomicUsize> {
        let served = Arc::new(AtomicUsize::new(0));
        let count = served.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else { return };
                let mut request = Vec::new();
                let mut buffer = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buffer).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                let n = count.fetch_add(1, Ordering::SeqCst);
                let status = statuses[n.min(statuses.len() - 1)];
                let answer = format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
                let _ = socket.write_all(answer.as_bytes()).await;
            }
        });
        served
    }

    async fn sender(url: &str) -> Sender {
        let args = parse(&["--protocol", "http-protobuf", "--endpoint", url]);
        Sender::connect(&args, &args.endpoint()).await.expect("an HTTP sender needs no connection")
    }

    fn body() -> Payload {
        Payload::Body(Bytes::from_static(b""))
    }

    #[tokio::test]
    async fn a_request_met_by_a_refused_connection_then_503_and_429_is_resent_until_acked() {
        // Nothing listens at first (a collector restarting): the connection is refused.
        let address = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(250)).await;
            let listener = TcpListener::bind(address).await.unwrap();
            let _ = tx.send(serve(listener, vec![503, 429, 200]));
        });
        let sender = sender(&format!("http://{address}")).await;
        let (outcome, resends) = sender.send_retrying(body(), Some(Duration::from_secs(20))).await;
        assert!(matches!(outcome.result, Outcome::Acked { rejected: 0 }), "acked in the end");
        assert!(resends >= 3, "refused connection(s), 503 and 429 were each resent: {resends}");
        assert!(outcome.latency >= Duration::from_millis(250), "the latency covers every attempt");
        assert_eq!(rx.await.unwrap().load(Ordering::SeqCst), 3, "503, 429, then the ack");
    }

    #[tokio::test]
    async fn a_request_refused_for_good_is_sent_once() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let served = serve(listener, vec![400]);
        let (outcome, resends) = sender(&url).await.send_retrying(body(), Some(Duration::from_secs(20))).await;
        assert!(matches!(outcome.result, Outcome::Other(message) if message.starts_with("HTTP 400")));
        assert_eq!((resends, served.load(Ordering::SeqCst)), (0, 1));
    }

    #[tokio::test]
    async fn resends_stop_when_the_window_has_passed_and_without_one_there_are_none() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let served = serve(listener, vec![503]);
        let sender = sender(&url).await;
        let started = Instant::now();
        let (outcome, resends) = sender.send_retrying(body(), Some(Duration::from_secs(1))).await;
        assert!(matches!(outcome.result, Outcome::Unavailable));
        assert!(resends >= 2 && started.elapsed() < Duration::from_secs(3), "{resends} resends");
        let before = served.load(Ordering::SeqCst);
        let (outcome, resends) = sender.send_retrying(body(), None).await;
        assert!(matches!(outcome.result, Outcome::Unavailable));
        assert_eq!((resends, served.load(Ordering::SeqCst)), (0, before + 1));
    }
}
