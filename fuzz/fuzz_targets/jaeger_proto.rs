//! Jaeger api_v2 protobuf: the gRPC receiver's `PostSpansRequest` (port 14250).
#![no_main]

use libfuzzer_sys::fuzz_target;
use prost::Message;
use skein_schemas::jaeger::api_v2::{Batch, PostSpansRequest};
use skein_schemas::jaeger::to_otlp::{batch_to_otlp, Origin};

fuzz_target!(|data: &[u8]| {
    let Ok(request) = PostSpansRequest::decode(data) else { return };
    let Some(batch) = request.batch else { return };
    let Ok(model) = batch.into_model() else { return };
    // What skein encodes (the agent forwarding over gRPC) reads back the same.
    let encoded = Batch::from_model(&model).encode_to_vec();
    let again =
        Batch::decode(encoded.as_slice()).expect("our own encoding decodes").into_model().expect("and converts");
    skein_fuzz::assert_same(&again, &model, "api_v2 round trip changed the batch");
    skein_fuzz::check_converted(batch_to_otlp(model, Origin::Proto));
});
