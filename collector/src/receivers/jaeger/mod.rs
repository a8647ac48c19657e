//! Jaeger's three ways in: gRPC `api_v2` (clients and agents), Thrift over HTTP, and the agent's
//! UDP datagrams (sockets in [`skein_edge::udp`], publishing here).

pub mod grpc;
pub mod thrift_http;
pub mod udp;
