//! Zipkin v2 spans as `POST /api/v2/spans` carries them (JSON or proto3), read into one model and
//! converted to OTLP by [`to_otlp`]; [`from_otlp`] goes the other way, as a Zipkin reporter would.

pub mod from_otlp;
pub mod json;
pub mod proto;
pub mod to_otlp;

use std::net::{Ipv4Addr, Ipv6Addr};

/// One Zipkin v2 span.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Span {
    /// 64-bit ids are right-aligned (high half zero).
    pub trace_id: [u8; 16],
    pub parent_id: Option<[u8; 8]>,
    pub id: [u8; 8],
    pub kind: Option<Kind>,
    pub name: Option<String>,
    /// µs since the epoch.
    pub timestamp: Option<u64>,
    /// µs.
    pub duration: Option<u64>,
    pub local_endpoint: Option<Endpoint>,
    pub remote_endpoint: Option<Endpoint>,
    pub annotations: Vec<Annotation>,
    /// In the order sent (JSON objects keep their order; proto maps have none).
    pub tags: Vec<(String, String)>,
    pub debug: bool,
    pub shared: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Client,
    Server,
    Producer,
    Consumer,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Endpoint {
    pub service_name: Option<String>,
    pub ipv4: Option<Ipv4Addr>,
    pub ipv6: Option<Ipv6Addr>,
    pub port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Annotation {
    /// µs since the epoch.
    pub timestamp: u64,
    pub value: String,
}

/// Why a Zipkin payload was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ZipkinError {
    #[error("malformed JSON: {0}")]
    Json(String),
    #[error("malformed proto3 ListOfSpans: {0}")]
    Proto(String),
    #[error("span {index}: {message}")]
    Span { index: usize, message: String },
}

/// What made one span of a request unreadable; the receiver counts refusals by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanFault {
    /// `traceId` missing, not hex, of the wrong length or all zeros.
    TraceId,
    /// `id` missing, not hex or of the wrong length.
    SpanId,
    /// Anything else: an unknown field or kind, a bad address, a field of the wrong type.
    Other,
}

/// One span refused while the rest of its request is read on.
#[derive(Debug, Clone, PartialEq)]
pub struct RefusedSpan {
    /// Position in the request's list.
    pub index: usize,
    pub fault: SpanFault,
    /// `localEndpoint.serviceName`, when it could be read.
    pub service: Option<String>,
    pub message: String,
}

/// Strict decoding on top of a lenient decoder: the first refused span fails the whole body.
fn strict(
    decode: impl FnOnce(&mut dyn FnMut(RefusedSpan)) -> Result<Vec<Span>, ZipkinError>,
) -> Result<Vec<Span>, ZipkinError> {
    let mut first: Option<RefusedSpan> = None;
    let spans = decode(&mut |refused| {
        first.get_or_insert(refused);
    })?;
    match first {
        Some(RefusedSpan { index, message, .. }) => Err(ZipkinError::Span { index, message }),
        None => Ok(spans),
    }
}

/// Parse a hex id of 16 or 32 characters (Zipkin's trace id) into 16 bytes, right-aligned.
pub(crate) fn parse_trace_id(text: &str) -> Result<[u8; 16], (SpanFault, String)> {
    parse_trace_id_text(text).map_err(|message| (SpanFault::TraceId, message))
}

fn parse_trace_id_text(text: &str) -> Result<[u8; 16], String> {
    let mut id = [0u8; 16];
    match text.len() {
        32 => hex::decode_to_slice(text, &mut id).map_err(|_| format!("traceId '{text}' is not hex"))?,
        1..=16 => {
            let padded = format!("{text:0>16}");
            hex::decode_to_slice(&padded, &mut id[8..]).map_err(|_| format!("traceId '{text}' is not hex"))?
        }
        _ => return Err(format!("traceId '{text}' must be 16 or 32 hex characters")),
    }
    if id == [0; 16] {
        return Err("traceId is all zeros".into());
    }
    Ok(id)
}

/// Parse a 16-hex-character span id.
pub(crate) fn parse_span_id(field: &str, text: &str) -> Result<[u8; 8], String> {
    let mut id = [0u8; 8];
    if text.is_empty() || text.len() > 16 {
        return Err(format!("{field} '{text}' must be 16 hex characters"));
    }
    let padded = format!("{text:0>16}");
    hex::decode_to_slice(&padded, &mut id).map_err(|_| format!("{field} '{text}' is not hex"))?;
    Ok(id)
}
