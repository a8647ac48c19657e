//! Jaeger's Elasticsearch documents, written exactly as Jaeger v2 writes them so that Jaeger's
//! query service, Jaeger UI and Grafana read skein's indices unchanged.

pub mod api_v2;
mod documents;
mod from_otlp;
pub mod identity;
mod json;
pub mod jsonpb;
pub mod model;
pub mod model_from_otlp;
pub mod otlp_json;
pub mod sampling;
pub mod thrift;
pub mod to_otlp;
pub mod ui;

pub use documents::{KeyValue, Log, Process, Reference, ServiceDocument, SpanDocument};
pub use from_otlp::{span_documents, ConvertedSpan, ELEVATED_TAG_KEYS, NO_SERVICE_NAME};

/// FNV-1a 64-bit, the hash Jaeger uses for service document ids.
pub fn fnv1a64(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in *part {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    hash
}

/// How trace ids are written into `traceID` fields. The two Jaeger generations differ, and each
/// reader finds only its own form of a trace id whose high 64 bits are zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TraceIdFormat {
    /// Jaeger 1.x: 16 hex characters when the high 64 bits are zero, else 32.
    Short,
    /// Jaeger 2.x: always 32 hex characters (its reader looks ids up in this form only).
    #[default]
    Full,
}

impl TraceIdFormat {
    pub fn format(self, trace_id: &[u8]) -> String {
        match self {
            TraceIdFormat::Short => format_trace_id(trace_id),
            TraceIdFormat::Full => hex::encode(trace_id),
        }
    }
}

/// A trace id as Jaeger 1.x formats it: 16 hex characters when the high 64 bits are zero, else 32.
pub fn format_trace_id(trace_id: &[u8]) -> String {
    match trace_id {
        [0, 0, 0, 0, 0, 0, 0, 0, low @ ..] if low.len() == 8 => hex::encode(low),
        _ => hex::encode(trace_id),
    }
}

/// A span id as Jaeger formats it: 16 hex characters.
pub fn format_span_id(span_id: &[u8]) -> String {
    hex::encode(span_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a64_matches_reference_vectors() {
        assert_eq!(fnv1a64(&[b""]), 0xcbf29ce484222325);
        assert_eq!(fnv1a64(&[b"a"]), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a64(&[b"foo", b"bar"]), fnv1a64(&[b"foobar"]));
    }

    #[test]
    fn trace_id_with_zero_high_half_is_sixteen_characters() {
        let mut id = [0u8; 16];
        id[15] = 1;
        assert_eq!(format_trace_id(&id), "0000000000000001");
        assert_eq!(TraceIdFormat::Full.format(&id), "00000000000000000000000000000001");
        id[0] = 0xab;
        assert_eq!(format_trace_id(&id), "ab000000000000000000000000000001");
        assert_eq!(TraceIdFormat::Full.format(&id), "ab000000000000000000000000000001");
    }
}
