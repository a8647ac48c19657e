//! Zipkin v2 JSON as POSTed to `/api/v2/spans`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use skein_schemas::zipkin::json::{decode_spans, encode_spans};
use skein_schemas::zipkin::to_otlp::spans_to_otlp;

fuzz_target!(|data: &[u8]| {
    let Ok(spans) = decode_spans(data) else { return };
    let again = decode_spans(&encode_spans(&spans)).expect("our own Zipkin JSON decodes");
    assert_eq!(again, spans, "Zipkin JSON round trip changed the spans");
    skein_fuzz::check_converted(spans_to_otlp(spans));
});
