//! The `_id` of a span document: the span's identity, never its rendered document, so that a
//! record indexed again overwrites its documents whatever version of skein (or which
//! `elasticsearch.trace_id_format`) renders it the second time.
//!
//! Identity is the trace id in its canonical 128-bit form, the span id, and what tells apart the
//! two halves of a Zipkin shared span (client and server report the same trace and span id): the
//! span kind and the reporting service.

/// `<32 hex trace id>_<16 hex span id>_<16 hex xxh3 of kind and service>`.
///
/// `kind` is the OTLP `SpanKind` value (unknown values count as unspecified), `service` the
/// `service.name` the document stores. Ids shorter than their full width (a 64-bit trace id)
/// are padded with leading zeros, so both Jaeger forms of one trace id give one `_id`.
pub fn span_document_id(trace_id: &[u8], span_id: &[u8], kind: i32, service: &str) -> String {
    let kind = crate::span_kind::from_otlp(kind) as i32;
    // The kind's fixed four bytes first, so no service name can be confused with another kind.
    let mut halves = xxhash_rust::xxh3::Xxh3::new();
    halves.update(&kind.to_le_bytes());
    halves.update(service.as_bytes());
    format!("{}_{}_{:016x}", padded_hex(trace_id, 16), padded_hex(span_id, 8), halves.digest())
}

/// `id` in hex, left-padded with zeros to `width` bytes.
fn padded_hex(id: &[u8], width: usize) -> String {
    let hex = hex::encode(id);
    format!("{hex:0>len$}", len = width * 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRACE: [u8; 16] = [0, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0];
    const SPAN: [u8; 8] = [0xb7, 0xad, 0x6b, 0x71, 0x69, 0x20, 0x33, 0x31];

    #[test]
    fn an_id_names_the_canonical_trace_id_and_the_span_id() {
        let id = span_document_id(&TRACE, &SPAN, 2, "svc");
        assert!(id.starts_with("0000000000000000123456789abcdef0_b7ad6b7169203331_"), "{id}");
        assert_eq!(id.len(), 32 + 1 + 16 + 1 + 16);
        assert_eq!(span_document_id(&TRACE[8..], &SPAN, 2, "svc"), id, "a 64-bit trace id is the same trace");
    }

    #[test]
    fn the_halves_of_a_shared_span_differ_by_kind_or_service() {
        let server = span_document_id(&TRACE, &SPAN, 2, "backend");
        assert_ne!(server, span_document_id(&TRACE, &SPAN, 3, "backend"), "client and server of one service");
        assert_ne!(server, span_document_id(&TRACE, &SPAN, 2, "frontend"), "one kind, two services");
        assert_eq!(server, span_document_id(&TRACE, &SPAN, 2, "backend"));
    }

    #[test]
    fn unknown_kinds_are_unspecified() {
        assert_eq!(span_document_id(&TRACE, &SPAN, 99, "svc"), span_document_id(&TRACE, &SPAN, 0, "svc"));
    }

    #[test]
    fn ids_are_fixed_across_releases() {
        // A changed value here means every stored span gets a second document on the next replay.
        assert_eq!(
            span_document_id(&TRACE, &SPAN, 2, "svc"),
            "0000000000000000123456789abcdef0_b7ad6b7169203331_18f413c2a62b9c3e"
        );
    }
}
