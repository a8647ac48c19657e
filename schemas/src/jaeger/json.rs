//! JSON text of tag values as Jaeger (Go's `encoding/json`) writes it, so documents written by
//! skein and by Jaeger look alike: whole floats without a fraction, exponents as `1e+21`, maps
//! with sorted keys, nested bytes in base64, `<>&` escaped inside map and array text.

use std::fmt::Write;

use base64::Engine;
use opentelemetry_proto::tonic::common::v1::{any_value::Value, AnyValue};
use serde_json::value::RawValue;

/// A float as Go's `encoding/json` prints it. Non-finite values, which JSON cannot carry, become
/// the strings `"NaN"`, `"+Inf"`, `"-Inf"` so the span is kept.
pub fn go_float(value: f64) -> String {
    if !value.is_finite() {
        let text = if value.is_nan() {
            "NaN"
        } else if value > 0.0 {
            "+Inf"
        } else {
            "-Inf"
        };
        return format!("\"{text}\"");
    }
    let abs = value.abs();
    if abs == 0.0 || (1e-6..1e21).contains(&abs) {
        // Rust's Display is the shortest round-trip form without an exponent, like Go's 'f', -1.
        format!("{value}")
    } else {
        let text = format!("{value:e}");
        match text.split_once('e') {
            Some((mantissa, exponent)) if !exponent.starts_with('-') => format!("{mantissa}e+{exponent}"),
            _ => text,
        }
    }
}

/// A JSON string literal.
pub fn string(value: &str) -> String {
    serde_json::to_string(value).expect("strings always serialize")
}

/// Wrap JSON text we produced ourselves.
pub fn raw(text: String) -> Box<RawValue> {
    RawValue::from_string(text).expect("skein produces valid JSON")
}

/// The compact JSON text of a map or array value, as Go's `AsString()` gives it.
pub fn any_value_text(value: &AnyValue) -> String {
    let mut out = String::new();
    write_value(value.value.as_ref(), &mut out);
    escape_html(&out)
}

fn write_value(value: Option<&Value>, out: &mut String) {
    match value {
        None | Some(Value::StringValueStrindex(_)) => out.push_str("null"),
        Some(Value::StringValue(s)) => out.push_str(&string(s)),
        Some(Value::BoolValue(b)) => out.push_str(if *b { "true" } else { "false" }),
        Some(Value::IntValue(i)) => {
            let _ = write!(out, "{i}");
        }
        Some(Value::DoubleValue(d)) => {
            let text = go_float(*d);
            // Inside a map or array Go fails on non-finite numbers; null keeps the rest readable.
            out.push_str(if text.starts_with('"') { "null" } else { &text });
        }
        Some(Value::BytesValue(bytes)) => {
            out.push_str(&string(&base64::engine::general_purpose::STANDARD.encode(bytes)));
        }
        Some(Value::ArrayValue(array)) => {
            out.push('[');
            for (i, item) in array.values.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(item.value.as_ref(), out);
            }
            out.push(']');
        }
        Some(Value::KvlistValue(list)) => {
            let mut entries: Vec<_> = list.values.iter().collect();
            entries.sort_by(|a, b| a.key.cmp(&b.key));
            // A Go map keeps the last value of a repeated key.
            entries.dedup_by(|later, earlier| {
                if later.key == earlier.key {
                    std::mem::swap(later, earlier);
                    true
                } else {
                    false
                }
            });
            out.push('{');
            for (i, entry) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&string(&entry.key));
                out.push(':');
                write_value(entry.value.as_ref().and_then(|v| v.value.as_ref()), out);
            }
            out.push('}');
        }
    }
}

fn escape_html(text: &str) -> String {
    if !text.contains(['<', '>', '&', '\u{2028}', '\u{2029}']) {
        return text.to_string();
    }
    text.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{ArrayValue, KeyValue, KeyValueList};

    fn v(value: Value) -> AnyValue {
        AnyValue { value: Some(value) }
    }

    #[test]
    fn floats_print_like_go() {
        assert_eq!(go_float(3.0), "3");
        assert_eq!(go_float(0.1), "0.1");
        assert_eq!(go_float(-2.5), "-2.5");
        assert_eq!(go_float(1e21), "1e+21");
        assert_eq!(go_float(1e-7), "1e-7");
        assert_eq!(go_float(123456789.0), "123456789");
        assert_eq!(go_float(f64::NAN), "\"NaN\"");
    }

    #[test]
    fn maps_have_sorted_keys_and_escaped_html() {
        let map = v(Value::KvlistValue(KeyValueList {
            values: vec![
                KeyValue { key: "z".into(), value: Some(v(Value::IntValue(2))), ..Default::default() },
                KeyValue { key: "a".into(), value: Some(v(Value::StringValue("<b>".into()))), ..Default::default() },
            ],
        }));
        assert_eq!(any_value_text(&map), r#"{"a":"\u003cb\u003e","z":2}"#);
    }

    #[test]
    fn arrays_nest_bytes_as_base64() {
        let array = v(Value::ArrayValue(ArrayValue {
            values: vec![
                v(Value::StringValue("a".into())),
                v(Value::BytesValue(vec![1, 2])),
                v(Value::BoolValue(true)),
            ],
        }));
        assert_eq!(any_value_text(&array), r#"["a","AQI=",true]"#);
    }
}
