//! What must hold for any input a skein decoder accepts, shared by the fuzz targets.
//!
//! A target decodes its bytes; when they are accepted it follows them down the path the
//! pipeline takes (into Kafka records, out of them as Elasticsearch documents, back out of the
//! query service as OTLP JSON) and checks each step, so a finding is a panic, an overflow, a
//! failed `debug_assert!` or a broken invariant anywhere on the way, not only in the decoder.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, TracesData};
use prost::Message;
use skein_schemas::jaeger::ui::{span_from_document, UiTrace};
use skein_schemas::jaeger::{otlp_json, span_documents, SpanDocument, TraceIdFormat};
use skein_schemas::kafka_record::{
    decode_record, records_for_otlp, records_for_wire_request, OversizeSpan, TraceRecord, ENCODING_OTLP_PROTO,
};
use skein_schemas::otlp_wire::WireRequest;
use skein_schemas::span_summary::for_each_span;

/// `query/src/params.rs` as the query service compiles it (the query crate itself would bring
/// Elasticsearch, Kafka and HTTP clients into every fuzz build); only its error type is ours.
#[path = "../../query/src/params.rs"]
pub mod params;

/// The two items `params.rs` takes from the query crate's `error` module, same shape.
pub mod error {
    #[derive(Debug)]
    pub enum QueryError {
        BadParameter(String),
    }

    pub fn bad_param(name: &str, reason: impl std::fmt::Display) -> QueryError {
        QueryError::BadParameter(format!("unable to parse param '{name}': {reason}"))
    }
}

/// Record limits every accepted request is cut with: large (nothing split) and small enough
/// that most seeds split into several records and some spans are oversize.
pub const RECORD_LIMITS: [usize; 2] = [4 << 20, 300];

/// (resource without its scopes, scope without its spans, span), each encoded, one per span,
/// sorted: what a set of records must carry between them, whatever their grouping.
type Placed = (Vec<u8>, Vec<u8>, Vec<u8>);

fn placed(resource_spans: &[ResourceSpans]) -> Vec<Placed> {
    let mut out = Vec::new();
    for resource in resource_spans {
        let resource_shell = ResourceSpans { scope_spans: Vec::new(), ..resource.clone() }.encode_to_vec();
        for scope in &resource.scope_spans {
            let scope_shell = ScopeSpans { spans: Vec::new(), ..scope.clone() }.encode_to_vec();
            for span in &scope.spans {
                out.push((resource_shell.clone(), scope_shell.clone(), span.encode_to_vec()));
            }
        }
    }
    out.sort();
    out
}

fn span_total(resource_spans: &[ResourceSpans]) -> usize {
    resource_spans.iter().flat_map(|r| &r.scope_spans).map(|s| s.spans.len()).sum()
}

/// Records cut from `request` carry each of its spans exactly once (or report it oversize), each
/// under its own resource and scope, each record within `limit`, decodable by the ingester, and
/// holding one trace: the one its key names.
pub fn check_records(request: &[ResourceSpans], records: &[TraceRecord], oversize: &[OversizeSpan], limit: usize) {
    let mut carried = Vec::new();
    for record in records {
        assert!(record.value.len() <= limit, "record of {} bytes above the limit {limit}", record.value.len());
        assert!(record.span_count > 0, "empty record");
        let data = decode_record(Some(ENCODING_OTLP_PROTO), &record.value).expect("the ingester decodes every record");
        assert_eq!(span_total(&data.resource_spans), record.span_count, "span count header");
        for span in data.resource_spans.iter().flat_map(|r| &r.scope_spans).flat_map(|s| &s.spans) {
            assert_eq!(hex::encode(&span.trace_id), record.key, "a span of another trace in the record");
        }
        carried.extend(placed(&data.resource_spans));
    }
    carried.sort();
    assert_eq!(carried.len() + oversize.len(), span_total(request), "spans lost or duplicated");
    if oversize.is_empty() {
        assert!(
            carried == placed(request),
            "records do not carry the request's spans under their resources and scopes"
        );
    }
}

/// The collector's path for protobuf it received: walk the framing, cut records from the span
/// bytes. Whatever the walker accepts, prost must accept too (the ingester uses prost).
pub fn check_wire_request(bytes: &[u8]) {
    let Ok(mut wire) = WireRequest::parse(bytes) else { return };
    let decoded = ExportTraceServiceRequest::decode(bytes).expect("prost decodes what the wire walker accepted");
    assert_eq!(wire.span_count(), span_total(&decoded.resource_spans));
    for limit in RECORD_LIMITS {
        let (records, oversize) = records_for_wire_request(&wire, limit);
        check_records(&decoded.resource_spans, &records, &oversize, limit);
    }
    // Validation drops spans before records are cut; cutting what is left must work as well.
    wire.retain_spans(|span| span.trace_id.len() == 16);
    let (records, oversize) = records_for_wire_request(&wire, RECORD_LIMITS[0]);
    assert_eq!(records.iter().map(|r| r.span_count).sum::<usize>() + oversize.len(), wire.span_count());
}

/// The path of a request another receiver converted to OTLP structs (and of OTLP JSON): records
/// cut from the structs, and the same request encoded must pass the wire walker.
pub fn check_converted(request: ExportTraceServiceRequest) {
    let encoded = request.encode_to_vec();
    if let Err(error) = WireRequest::parse(&encoded) {
        // Only nesting prost allows and the walker refuses can differ (attribute values nested
        // more than 64 levels deep).
        assert!(error.to_string().contains("nested more than"), "walker refuses prost's encoding: {error}");
    }
    for limit in RECORD_LIMITS {
        let (records, oversize) = records_for_otlp(request.clone(), limit);
        check_records(&request.resource_spans, &records, &oversize, limit);
        if limit == RECORD_LIMITS[0] {
            for record in &records {
                check_stored(&record.value);
            }
        }
    }
}

/// A Kafka record value as the ingester and analytics read it, and on to the query service:
/// span documents, those documents read back as the query service reads them from
/// Elasticsearch, and the trace they form answered as OTLP JSON, which must decode as OTLP JSON.
pub fn check_stored(value: &[u8]) {
    let mut links = Vec::new();
    let summarised = for_each_span(value, &mut links, |_, _| {});
    let Ok(data) = decode_record(None, value) else { return };
    let spans = span_total(&data.resource_spans);
    if let Ok(count) = summarised {
        assert_eq!(count, spans, "analytics and the ingester see different spans");
    }
    let encoded = data.encode_to_vec();
    let again = TracesData::decode(encoded.as_slice()).expect("re-encoded record decodes");
    assert!(again.encode_to_vec() == encoded, "a record changes through decode and encode");
    let full = span_documents(&data, TraceIdFormat::Full);
    let converted = span_documents(&data, TraceIdFormat::Short);
    assert_eq!(converted.len(), spans, "a span without a document");
    assert!(
        full.iter().zip(&converted).all(|(full, short)| full.document_id == short.document_id),
        "a span's document id depends on the trace id format"
    );
    let mut ui_spans = Vec::new();
    for span in &converted {
        let document: SpanDocument = serde_json::from_slice(&span.body).expect("our span document reads back");
        if let Ok(ui) = span_from_document(document) {
            ui_spans.push(ui);
        }
    }
    let ui_count = ui_spans.len();
    let answer = otlp_json::traces_data(&[UiTrace::new(ui_spans, Vec::new())]);
    let text = serde_json::to_vec(&answer).expect("serializes");
    let back: TracesData = serde_json::from_slice(&text).unwrap_or_else(|error| {
        panic!("our OTLP JSON answer does not decode: {error}: {}", String::from_utf8_lossy(&text))
    });
    assert_eq!(span_total(&back.resource_spans), ui_count, "spans lost in the OTLP JSON answer");
}

/// Equal as `Debug` text, for values that hold floats: NaN equals itself there, and -0.0 and 0.0
/// differ, as bit-exact encodings should.
pub fn assert_same<T: std::fmt::Debug>(actual: &T, expected: &T, what: &str) {
    let (actual, expected) = (format!("{actual:?}"), format!("{expected:?}"));
    assert!(actual == expected, "{what}:\n  got      {actual}\n  expected {expected}");
}

/// A foreign topic's record: what the ingester decodes, analytics reads the same spans of, and
/// both follow skein's own records from there.
pub fn check_foreign(encoding: skein_schemas::encoding::RecordEncoding, value: &[u8]) {
    let Ok(data) = encoding.decode(None, value) else { return };
    let bytes = encoding.traces_data_bytes(None, value).expect("analytics reads what the ingester decoded");
    // Analytics' reader refuses spans without ids (skein's collector never publishes such), and
    // counts the record as undecodable; what it reads must be what the ingester decoded.
    let mut links = Vec::new();
    if let Ok(count) = for_each_span(&bytes, &mut links, |_, _| {}) {
        assert_eq!(count, span_total(&data.resource_spans), "analytics and the ingester see different spans");
    }
    check_stored(&data.encode_to_vec());
}
