//! A Jaeger sampling strategies file (`sampling.strategies_file`), as the edge's sampling service
//! reloads it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use skein_schemas::jaeger::sampling::{response_json, EnumStyle, Strategies};

fuzz_target!(|data: &[u8]| {
    let Ok(strategies) = Strategies::parse(data) else { return };
    for service in ["", "foo", "bar", "frontend"] {
        let response = strategies.for_service(service);
        for style in [EnumStyle::Names, EnumStyle::Numbers] {
            let text = response_json(response, style);
            serde_json::from_str::<serde_json::Value>(&text).expect("strategy responses are JSON");
        }
    }
});
