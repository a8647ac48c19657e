//! An agent UDP datagram: `Agent.emitBatch` in Thrift compact (port 6831) or binary (6832).
#![no_main]

use libfuzzer_sys::fuzz_target;
use skein_schemas::jaeger::thrift::{decode_agent_message, encode_agent_message, AgentMessage};
use skein_schemas::jaeger::to_otlp::{batch_to_otlp, Origin};
use skein_schemas::thrift::Protocol;

fuzz_target!(|data: &[u8]| {
    for protocol in [Protocol::Compact, Protocol::Binary] {
        let Ok(AgentMessage::Batch(batch)) = decode_agent_message(data, protocol) else { continue };
        for out in [Protocol::Compact, Protocol::Binary] {
            let again = match decode_agent_message(&encode_agent_message(&batch, out), out) {
                Ok(AgentMessage::Batch(again)) => again,
                other => panic!("our own emitBatch through {out:?} reads back as {other:?}"),
            };
            skein_fuzz::assert_same(&again, &batch, &format!("round trip through {out:?} changed the batch"));
        }
        skein_fuzz::check_converted(batch_to_otlp(batch, Origin::Thrift));
    }
});
