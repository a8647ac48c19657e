//! OTLP protobuf as the collector receives it: the gRPC request message (`RawExportRequest`, what
//! tonic decodes) and the HTTP body, both walked by `otlp_wire` and cut into Kafka records.
#![no_main]

use libfuzzer_sys::fuzz_target;
use prost::Message;
use skein_schemas::otlp_wire::RawExportRequest;

fuzz_target!(|data: &[u8]| {
    // OTLP/HTTP protobuf: the body goes to the walker as received.
    skein_fuzz::check_wire_request(data);
    // OTLP/gRPC: tonic decodes the message into its resource_spans fields first.
    if let Ok(raw) = RawExportRequest::decode(data) {
        assert_eq!(RawExportRequest::decode(raw.encode_to_vec().as_slice()).expect("re-decodes"), raw);
        skein_fuzz::check_wire_request(&raw.encoded);
    }
});
