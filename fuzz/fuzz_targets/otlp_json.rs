//! OTLP/HTTP JSON as the collector decodes it, then encoded to protobuf for the exporter.
#![no_main]

use libfuzzer_sys::fuzz_target;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

fuzz_target!(|data: &[u8]| {
    // The same call as collector/src/receivers/otlp/http.rs `decode_json`.
    let Ok(request) = serde_json::from_slice::<ExportTraceServiceRequest>(data) else { return };
    skein_fuzz::check_converted(request);
});
