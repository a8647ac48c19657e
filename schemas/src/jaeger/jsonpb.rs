//! One `jaeger.api_v2.Span` in protobuf's JSON mapping, as Jaeger's Kafka writers emit it
//! (`jaeger_json`: gogo `jsonpb` with its defaults), read into the [`api_v2`] messages so that the
//! one api_v2 → model → OTLP path converts it.
//!
//! The mapping's rules that matter here: field names in lowerCamelCase (the proto names are
//! accepted too, as jsonpb does), 64-bit integers as strings or numbers, enums by name or number,
//! `google.protobuf.Timestamp` as RFC 3339 text, `Duration` as `"1.5s"`, bytes as base64 — and
//! Jaeger's own `TraceID` / `SpanID` JSON form, the base64 of their 16 / 8 big-endian bytes.

use base64::Engine;
use serde::Deserialize;

use super::api_v2;

/// Why a `jaeger_json` record is not a Jaeger span.
#[derive(Debug, thiserror::Error)]
pub enum JsonSpanError {
    #[error("not a jaeger.api_v2.Span JSON document: {0}")]
    Json(#[from] serde_json::Error),
    #[error("{field} {value:?} is not {expected}")]
    Value { field: &'static str, value: String, expected: &'static str },
}

fn bad(field: &'static str, value: &str, expected: &'static str) -> JsonSpanError {
    JsonSpanError::Value { field, value: value.chars().take(64).collect(), expected }
}

/// Decode one span document.
pub fn decode_span(bytes: &[u8]) -> Result<api_v2::Span, JsonSpanError> {
    let span: JsonSpan = serde_json::from_slice(bytes)?;
    span.into_proto()
}

/// A number that jsonpb may write as a JSON number or as a string (64-bit integers, and the
/// non-finite doubles `"NaN"`, `"Infinity"`, `"-Infinity"`).
#[derive(Deserialize)]
#[serde(untagged)]
enum Number {
    Int(i64),
    Float(f64),
    Text(String),
}

impl Number {
    fn int64(&self, field: &'static str) -> Result<i64, JsonSpanError> {
        match self {
            Number::Int(value) => Ok(*value),
            Number::Float(value) if value.fract() == 0.0 && value.abs() < 9.3e18 => Ok(*value as i64),
            Number::Float(value) => Err(bad(field, &value.to_string(), "an integer")),
            Number::Text(text) => text.trim().parse().map_err(|_| bad(field, text, "an integer")),
        }
    }

    fn float64(&self, field: &'static str) -> Result<f64, JsonSpanError> {
        match self {
            Number::Int(value) => Ok(*value as f64),
            Number::Float(value) => Ok(*value),
            Number::Text(text) => match text.as_str() {
                "NaN" => Ok(f64::NAN),
                "Infinity" => Ok(f64::INFINITY),
                "-Infinity" => Ok(f64::NEG_INFINITY),
                other => other.trim().parse().map_err(|_| bad(field, text, "a number")),
            },
        }
    }
}

/// An enum value by name or by number.
#[derive(Deserialize)]
#[serde(untagged)]
enum EnumValue {
    Number(i32),
    Name(String),
}

impl EnumValue {
    fn number(&self, field: &'static str, names: &[&str]) -> Result<i32, JsonSpanError> {
        match self {
            EnumValue::Number(number) => Ok(*number),
            EnumValue::Name(name) => names
                .iter()
                .position(|known| known == name)
                .map(|index| index as i32)
                .ok_or_else(|| bad(field, name, "a known enum name")),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct JsonKeyValue {
    key: String,
    #[serde(alias = "v_type")]
    v_type: Option<EnumValue>,
    #[serde(alias = "v_str")]
    v_str: String,
    #[serde(alias = "v_bool")]
    v_bool: bool,
    #[serde(alias = "v_int64")]
    v_int64: Option<Number>,
    #[serde(alias = "v_float64")]
    v_float64: Option<Number>,
    #[serde(alias = "v_binary")]
    v_binary: String,
}

const VALUE_TYPES: &[&str] = &["STRING", "BOOL", "INT64", "FLOAT64", "BINARY"];
const REF_TYPES: &[&str] = &["CHILD_OF", "FOLLOWS_FROM"];

impl JsonKeyValue {
    fn into_proto(self) -> Result<api_v2::KeyValue, JsonSpanError> {
        Ok(api_v2::KeyValue {
            v_type: self.v_type.as_ref().map_or(Ok(0), |t| t.number("tag vType", VALUE_TYPES))?,
            v_int64: self.v_int64.as_ref().map_or(Ok(0), |n| n.int64("tag vInt64"))?,
            v_float64: self.v_float64.as_ref().map_or(Ok(0.0), |n| n.float64("tag vFloat64"))?,
            v_binary: base64_bytes("tag vBinary", &self.v_binary)?,
            key: self.key,
            v_str: self.v_str,
            v_bool: self.v_bool,
        })
    }
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct JsonLog {
    timestamp: Option<String>,
    fields: Vec<JsonKeyValue>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct JsonSpanRef {
    #[serde(alias = "trace_id")]
    trace_id: String,
    #[serde(alias = "span_id")]
    span_id: String,
    #[serde(alias = "ref_type")]
    ref_type: Option<EnumValue>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct JsonProcess {
    #[serde(alias = "service_name")]
    service_name: String,
    tags: Vec<JsonKeyValue>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct JsonSpan {
    #[serde(alias = "trace_id")]
    trace_id: String,
    #[serde(alias = "span_id")]
    span_id: String,
    #[serde(alias = "operation_name")]
    operation_name: String,
    references: Vec<JsonSpanRef>,
    flags: Option<Number>,
    #[serde(alias = "start_time")]
    start_time: Option<String>,
    duration: Option<String>,
    tags: Vec<JsonKeyValue>,
    logs: Vec<JsonLog>,
    process: Option<JsonProcess>,
    #[serde(alias = "process_id")]
    process_id: String,
    warnings: Vec<String>,
}

fn tags(tags: Vec<JsonKeyValue>) -> Result<Vec<api_v2::KeyValue>, JsonSpanError> {
    tags.into_iter().map(JsonKeyValue::into_proto).collect()
}

impl JsonSpan {
    fn into_proto(self) -> Result<api_v2::Span, JsonSpanError> {
        let references = self
            .references
            .into_iter()
            .map(|r| {
                Ok(api_v2::SpanRef {
                    trace_id: base64_bytes("reference traceId", &r.trace_id)?,
                    span_id: base64_bytes("reference spanId", &r.span_id)?,
                    ref_type: r.ref_type.as_ref().map_or(Ok(0), |t| t.number("reference refType", REF_TYPES))?,
                })
            })
            .collect::<Result<_, JsonSpanError>>()?;
        let flags = match &self.flags {
            Some(flags) => u32::try_from(flags.int64("flags")?).map_err(|_| bad("flags", "", "a uint32"))?,
            None => 0,
        };
        let logs = self
            .logs
            .into_iter()
            .map(|log| {
                Ok(api_v2::Log {
                    timestamp: log.timestamp.as_deref().map(|t| timestamp("log timestamp", t)).transpose()?,
                    fields: tags(log.fields)?,
                })
            })
            .collect::<Result<_, JsonSpanError>>()?;
        let process = self
            .process
            .map(|p| Ok::<_, JsonSpanError>(api_v2::Process { service_name: p.service_name, tags: tags(p.tags)? }))
            .transpose()?;
        Ok(api_v2::Span {
            trace_id: base64_bytes("traceId", &self.trace_id)?,
            span_id: base64_bytes("spanId", &self.span_id)?,
            operation_name: self.operation_name,
            references,
            flags,
            start_time: self.start_time.as_deref().map(|t| timestamp("startTime", t)).transpose()?,
            duration: self.duration.as_deref().map(|d| duration("duration", d)).transpose()?,
            tags: tags(self.tags)?,
            logs,
            process,
            process_id: self.process_id,
            warnings: self.warnings,
        })
    }
}

fn base64_bytes(field: &'static str, text: &str) -> Result<Vec<u8>, JsonSpanError> {
    // jsonpb writes standard base64 with padding; its reader also takes the URL-safe alphabet.
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(text))
        .map_err(|_| bad(field, text, "base64"))
}

/// RFC 3339 text (`2024-05-01T10:00:00.123456789Z`, any offset) as a protobuf timestamp.
fn timestamp(field: &'static str, text: &str) -> Result<api_v2::Timestamp, JsonSpanError> {
    let parsed = chrono::DateTime::parse_from_rfc3339(text).map_err(|_| bad(field, text, "an RFC 3339 timestamp"))?;
    Ok(api_v2::Timestamp { seconds: parsed.timestamp(), nanos: parsed.timestamp_subsec_nanos() as i32 })
}

/// `"1.000340s"`, `"-2s"`: seconds with up to nine fractional digits and the `s` suffix.
fn duration(field: &'static str, text: &str) -> Result<api_v2::Duration, JsonSpanError> {
    let invalid = || bad(field, text, "a protobuf JSON duration like \"1.5s\"");
    let body = text.strip_suffix('s').ok_or_else(invalid)?;
    let (negative, body) = match body.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, body),
    };
    let (whole, fraction) = body.split_once('.').unwrap_or((body, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    if fraction.len() > 9 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    let seconds: i64 = whole.parse().map_err(|_| invalid())?;
    let nanos: i32 = if fraction.is_empty() { 0 } else { format!("{fraction:0<9}").parse().map_err(|_| invalid())? };
    Ok(if negative {
        api_v2::Duration { seconds: -seconds, nanos: -nanos }
    } else {
        api_v2::Duration { seconds, nanos }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A span as gogo jsonpb writes Jaeger's `model.Span` (field names, int64 as text, enums by
    /// name, ids in base64, zero values left out).
    const SPAN: &str = r#"{"traceId":"AAAAAAAAAAEAAAAAAAAAAg==","spanId":"AAAAAAAAAAM=","operationName":"GET /cart",
        "references":[{"traceId":"AAAAAAAAAAEAAAAAAAAAAg==","spanId":"AAAAAAAAAAQ="},
                      {"traceId":"AAAAAAAAAAEAAAAAAAAAAg==","spanId":"AAAAAAAAAAU=","refType":"FOLLOWS_FROM"}],
        "flags":1,"startTime":"2024-05-01T10:00:00.123456789Z","duration":"0.001500s",
        "tags":[{"key":"span.kind","vStr":"server"},{"key":"http.status_code","vType":"INT64","vInt64":"503"},
                {"key":"error","vType":"BOOL","vBool":true},{"key":"ratio","vType":"FLOAT64","vFloat64":0.25},
                {"key":"blob","vType":"BINARY","vBinary":"AQID"}],
        "logs":[{"timestamp":"2024-05-01T10:00:00.124Z","fields":[{"key":"event","vStr":"retry"}]}],
        "process":{"serviceName":"cart","tags":[{"key":"hostname","vStr":"node-1"}]}}"#;

    #[test]
    fn reads_a_span_as_jaegers_json_writer_emits_it() {
        let span = decode_span(SPAN.as_bytes()).expect("the span decodes");
        assert_eq!(span.trace_id, [0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2]);
        assert_eq!(span.span_id, [0, 0, 0, 0, 0, 0, 0, 3]);
        assert_eq!(span.operation_name, "GET /cart");
        assert_eq!((span.references[0].ref_type, span.references[1].ref_type), (0, 1));
        assert_eq!(span.references[1].span_id, [0, 0, 0, 0, 0, 0, 0, 5]);
        assert_eq!(span.flags, 1);
        assert_eq!(span.start_time, Some(api_v2::Timestamp { seconds: 1_714_557_600, nanos: 123_456_789 }));
        assert_eq!(span.duration, Some(api_v2::Duration { seconds: 0, nanos: 1_500_000 }));
        let tag = |key: &str| span.tags.iter().find(|t| t.key == key).unwrap().clone();
        assert_eq!((tag("span.kind").v_type, tag("span.kind").v_str.as_str()), (0, "server"));
        assert_eq!((tag("http.status_code").v_type, tag("http.status_code").v_int64), (2, 503));
        assert!(tag("error").v_bool);
        assert_eq!(tag("ratio").v_float64, 0.25);
        assert_eq!(tag("blob").v_binary, [1, 2, 3]);
        assert_eq!(span.logs[0].timestamp, Some(api_v2::Timestamp { seconds: 1_714_557_600, nanos: 124_000_000 }));
        assert_eq!(span.logs[0].fields[0].v_str, "retry");
        let process = span.process.expect("the process travels inside the span");
        assert_eq!((process.service_name.as_str(), process.tags[0].v_str.as_str()), ("cart", "node-1"));
    }

    #[test]
    fn takes_proto_field_names_and_enum_numbers_too() {
        let text = r#"{"trace_id":"AAAAAAAAAAEAAAAAAAAAAg==","span_id":"AAAAAAAAAAM=","operation_name":"x",
            "references":[{"trace_id":"AAAAAAAAAAEAAAAAAAAAAg==","span_id":"AAAAAAAAAAQ=","ref_type":1}],
            "tags":[{"key":"n","v_type":2,"v_int64":7}],"process":{"service_name":"s"}}"#;
        let span = decode_span(text.as_bytes()).expect("proto names decode");
        assert_eq!(span.operation_name, "x");
        assert_eq!(span.references[0].ref_type, 1);
        assert_eq!((span.tags[0].v_type, span.tags[0].v_int64), (2, 7));
        assert_eq!(span.process.unwrap().service_name, "s");
    }

    #[test]
    fn durations_follow_the_protobuf_json_form() {
        assert_eq!(duration("d", "2s").unwrap(), api_v2::Duration { seconds: 2, nanos: 0 });
        assert_eq!(duration("d", "0.000001s").unwrap(), api_v2::Duration { seconds: 0, nanos: 1_000 });
        assert_eq!(duration("d", "-1.5s").unwrap(), api_v2::Duration { seconds: -1, nanos: -500_000_000 });
        for wrong in ["1.5", "s", ".5s", "1.0000000001s", "1e3s", "one s"] {
            assert!(duration("d", wrong).is_err(), "{wrong}");
        }
    }

    #[test]
    fn says_which_field_is_wrong() {
        let error = decode_span(br#"{"traceId":"not base64!","spanId":"AAAAAAAAAAM="}"#).unwrap_err();
        assert!(error.to_string().contains("traceId"), "{error}");
        let error = decode_span(br#"{"startTime":"yesterday"}"#).unwrap_err();
        assert!(error.to_string().contains("RFC 3339"), "{error}");
        let error = decode_span(br#"{"tags":[{"key":"k","vType":"DECIMAL"}]}"#).unwrap_err();
        assert!(error.to_string().contains("vType"), "{error}");
        assert!(matches!(decode_span(b"[1,2]"), Err(JsonSpanError::Json(_))));
    }
}
