//! Zipkin v2 proto3 (`ListOfSpans`) as POSTed to `/api/v2/spans` with `application/x-protobuf`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use skein_schemas::zipkin::{json, proto, to_otlp::spans_to_otlp};

fuzz_target!(|data: &[u8]| {
    let Ok(spans) = proto::decode_spans(data) else { return };
    // Both encodings read into one model: spans from proto, written as JSON, read back the same.
    let again = json::decode_spans(&json::encode_spans(&spans)).expect("proto spans written as JSON decode");
    assert_eq!(again, spans, "proto spans change through JSON");
    skein_fuzz::check_converted(spans_to_otlp(spans));
});
