//! Receivers: each decodes one wire protocol and hands requests to the shared [`crate::export::Exporter`].

pub mod otlp;
