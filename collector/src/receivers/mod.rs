//! Receivers: each decodes one wire protocol and hands requests to the shared [`crate::export::Exporter`].
//! Jaeger and Zipkin receivers convert to OTLP first (conversions live in `skein_schemas`).

pub mod body;
pub mod grpc;
pub mod jaeger;
pub mod otlp;
pub mod zipkin;
