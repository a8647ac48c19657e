//! Receivers: each decodes one wire protocol and hands requests to the shared [`crate::export::Exporter`].
//! Jaeger and Zipkin receivers convert to OTLP first (conversions live in `skein_schemas`). What they
//! share: reading HTTP bodies ([`body`]) and answering refusals ([`answer`]); none uses another.

pub mod answer;
pub mod body;
pub mod jaeger;
pub mod otlp;
pub mod zipkin;
