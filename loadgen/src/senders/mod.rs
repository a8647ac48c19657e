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

use std::time::Instant;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use skein_schemas::elasticsearch::IndexNames;
use skein_schemas::jaeger::api_v2::PostSpansRequest;
use skein_schemas::thrift::Protocol as ThriftProtocol;

pub(crate) use outcome::{Outcome, SendOutcome};

use crate::args::{LoadgenArgs, Protocol};
use crate::error::LoadgenError;

/// A request encoded for its sender.
pub(crate) enum Payload {
    OtlpGrpc(ExportTraceServiceRequest),
    Body(reqwest::Body),
    /// A `_bulk` body and how many actions it holds (the answer must list as many items).
    Bulk {
        body: reqwest::Body,
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
}
