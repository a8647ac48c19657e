//! A record of a foreign spans topic with `kafka.encoding: jaeger_proto` (`encoding::RecordEncoding::decode`,
//! ingester and analytics), followed like skein's own records to documents and the query's answer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use skein_schemas::encoding::RecordEncoding;

fuzz_target!(|data: &[u8]| {
    skein_fuzz::check_foreign(RecordEncoding::JaegerProto, data);
});
