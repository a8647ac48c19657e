//! The query service's query strings (`/api/traces?...`): repeated keys, integers, µs and ms
//! times, booleans, Go durations, trace ids.
#![no_main]

use libfuzzer_sys::fuzz_target;
use skein_fuzz::params::{go_duration, parse_go_duration, Params};
use skein_schemas::jaeger::ui::{normalize_trace_id, parse_trace_id};

const KEYS: [&str; 12] = [
    "service",
    "operation",
    "tags",
    "start",
    "end",
    "limit",
    "lookback",
    "minDuration",
    "maxDuration",
    "traceID",
    "raw",
    "endTs",
];

fuzz_target!(|data: &[u8]| {
    // A URI's query is ASCII; percent-decoding inside `Params::parse` makes any bytes of it.
    let Ok(query) = std::str::from_utf8(data) else { return };
    let params = Params::parse(Some(query));
    for key in KEYS {
        let _ = (params.int(key), params.epoch_ms(key), params.epoch_micros(key), params.span_ms(key));
        let _ = (params.boolean(key), params.duration_micros(key));
        for value in params.all(key) {
            if let Ok(nanos) = parse_go_duration(value) {
                // Go's formatting of what we read parses back to the same µs, exactly (Go's
                // parser is exact for the six fraction digits of seconds it writes).
                let micros = nanos / 1000;
                if micros.unsigned_abs() <= (i64::MAX / 1000) as u64 {
                    let text = go_duration(micros);
                    let back = parse_go_duration(&text).expect("our own duration text parses") / 1000;
                    assert_eq!(back, micros, "{value:?} -> {micros} µs -> {text:?} -> {back} µs");
                }
            }
            if let Some(id) = parse_trace_id(value) {
                let normal = normalize_trace_id(value).expect("a parsed id normalises");
                assert_eq!(parse_trace_id(&normal), Some(id), "{value:?} normalised to {normal:?}");
                assert!(normal.len() == 16 || normal.len() == 32);
            }
        }
    }
});
