//! A Kafka span record value as the ingester (prost) and analytics (`span_summary`) read it,
//! followed to span documents and the query service's OTLP JSON answer.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    skein_fuzz::check_stored(data);
});
