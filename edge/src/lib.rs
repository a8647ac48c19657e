//! The listeners the collector and the agent both run, so that the agent does not link the
//! collector (nor its Kafka producer): the Jaeger agent UDP sockets and their bounded queue
//! ([`udp`]), remote sampling strategies and their HTTP and gRPC answers ([`sampling`]), and the
//! hand-wired unary gRPC services those answers and the collector's receivers are made of
//! ([`grpc`]).

pub mod grpc;
pub mod sampling;
pub mod udp;
