//! A Thrift `Batch` as POSTed to the collector's `/api/traces` (binary protocol; compact read too).
#![no_main]

use libfuzzer_sys::fuzz_target;
use skein_schemas::jaeger::thrift::{decode_batch, encode_batch};
use skein_schemas::jaeger::to_otlp::{batch_to_otlp, Origin};
use skein_schemas::thrift::Protocol;

fuzz_target!(|data: &[u8]| {
    for protocol in [Protocol::Binary, Protocol::Compact] {
        let Ok(batch) = decode_batch(data, protocol) else { continue };
        // What skein encodes (the agent forwarding), either protocol, reads back the same.
        for out in [Protocol::Binary, Protocol::Compact] {
            let again = decode_batch(&encode_batch(&batch, out), out).expect("our own encoding decodes");
            skein_fuzz::assert_same(&again, &batch, &format!("round trip through {out:?} changed the batch"));
        }
        skein_fuzz::check_converted(batch_to_otlp(batch, Origin::Thrift));
    }
});
