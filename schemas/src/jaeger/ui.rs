//! The JSON Jaeger's query service answers with (`/api/traces`, read by Jaeger UI and Grafana), built
//! from span documents as stored in Elasticsearch (skein's, Jaeger 2's, or Jaeger 1's with string
//! tag values).
//!
//! Jaeger's rules kept here: trace ids as 16 hex characters when the high half is zero, else 32;
//! the parent only as a `CHILD_OF` reference; `flags` left out when 0; `references`, `tags`, `logs`
//! always arrays; `warnings` `null` when none; tag values typed (`string`, `bool`, `int64`,
//! `float64`, `binary` as base64), int64 beyond ±(2⁵³−1) written as a decimal string; processes
//! keyed `p1`, `p2`, … in order of first appearance, identical processes sharing a key.

use std::collections::BTreeMap;

use base64::Engine;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::Value;

use super::documents::{KeyValue, SpanDocument};

/// Largest integer a JSON reader (JavaScript) holds exactly.
const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;

/// A typed tag.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UiKeyValue {
    pub key: String,
    #[serde(rename = "type")]
    pub value_type: &'static str,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UiReference {
    #[serde(rename = "refType")]
    pub ref_type: &'static str,
    #[serde(rename = "traceID")]
    pub trace_id: String,
    #[serde(rename = "spanID")]
    pub span_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UiLog {
    pub timestamp: u64,
    pub fields: Vec<UiKeyValue>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UiProcess {
    #[serde(rename = "serviceName")]
    pub service_name: String,
    pub tags: Vec<UiKeyValue>,
}

/// A span in Jaeger's UI model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UiSpan {
    #[serde(rename = "traceID")]
    pub trace_id: String,
    #[serde(rename = "spanID")]
    pub span_id: String,
    #[serde(skip_serializing_if = "is_zero")]
    pub flags: u32,
    #[serde(rename = "operationName")]
    pub operation_name: String,
    pub references: Vec<UiReference>,
    #[serde(rename = "startTime")]
    pub start_time: u64,
    pub duration: u64,
    pub tags: Vec<UiKeyValue>,
    pub logs: Vec<UiLog>,
    #[serde(rename = "processID")]
    pub process_id: String,
    pub warnings: Option<Vec<String>>,
    /// The span's process until the trace assigns process ids.
    #[serde(skip)]
    pub process: UiProcess,
}

fn is_zero(value: &u32) -> bool {
    *value == 0
}

impl UiSpan {
    /// The parent span id: the first `CHILD_OF` reference in the same trace.
    pub fn parent_span_id(&self) -> Option<&str> {
        self.references
            .iter()
            .find(|r| r.ref_type == "CHILD_OF" && r.trace_id == self.trace_id)
            .map(|r| r.span_id.as_str())
    }

    pub fn warn(&mut self, warning: String) {
        self.warnings.get_or_insert_with(Vec::new).push(warning);
    }

    /// A tag by key, span tags first, then process tags.
    pub fn tag(&self, key: &str) -> Option<&Value> {
        self.tags.iter().chain(&self.process.tags).find(|t| t.key == key).map(|t| &t.value)
    }
}

/// A trace in Jaeger's UI model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UiTrace {
    #[serde(rename = "traceID")]
    pub trace_id: String,
    pub spans: Vec<UiSpan>,
    pub processes: BTreeMap<String, UiProcess>,
    pub warnings: Option<Vec<String>>,
}

impl UiTrace {
    /// Assemble spans (already adjusted and ordered) into a trace with its process table.
    pub fn new(mut spans: Vec<UiSpan>, warnings: Vec<String>) -> Self {
        let mut processes: BTreeMap<String, UiProcess> = BTreeMap::new();
        let mut keys: Vec<(UiProcess, String)> = Vec::new();
        for span in &mut spans {
            let key = match keys.iter().find(|(process, _)| *process == span.process) {
                Some((_, key)) => key.clone(),
                None => {
                    let key = format!("p{}", keys.len() + 1);
                    keys.push((span.process.clone(), key.clone()));
                    processes.insert(key.clone(), span.process.clone());
                    key
                }
            };
            span.process_id = key;
        }
        let trace_id = spans.first().map(|s| s.trace_id.clone()).unwrap_or_default();
        Self { trace_id, spans, processes, warnings: if warnings.is_empty() { None } else { Some(warnings) } }
    }
}

/// A trace id as Jaeger's UI writes it, from any stored form (16 or 32 hex characters, any case,
/// leading zeros dropped or not). `None` when it is not hex or longer than 32.
pub fn normalize_trace_id(id: &str) -> Option<String> {
    let value = parse_trace_id(id)?;
    Some(if value >> 64 == 0 { format!("{value:016x}") } else { format!("{value:032x}") })
}

/// A trace id's 128-bit value.
pub fn parse_trace_id(id: &str) -> Option<u128> {
    if id.is_empty() || id.len() > 32 {
        return None;
    }
    u128::from_str_radix(id, 16).ok()
}

fn normalize_span_id(id: &str) -> String {
    match u64::from_str_radix(id, 16) {
        Ok(value) => format!("{value:016x}"),
        Err(_) => id.to_string(),
    }
}

/// A stored tag (`{key, type, value}`) as the UI types it.
fn typed(key: &str, stored_type: &str, value: &Value) -> UiKeyValue {
    let (value_type, value) = match (stored_type.to_ascii_lowercase().as_str(), value) {
        ("bool", Value::Bool(b)) => ("bool", Value::Bool(*b)),
        ("bool", Value::String(s)) => ("bool", Value::Bool(s == "true")),
        ("int64", Value::Number(n)) => ("int64", int64(n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)))),
        ("int64", Value::String(s)) => ("int64", int64(s.parse().ok())),
        ("float64", Value::Number(n)) => ("float64", Value::Number(n.clone())),
        ("float64", Value::String(s)) => (
            "float64",
            s.parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map_or_else(|| Value::String(s.clone()), Value::Number),
        ),
        ("binary", Value::String(s)) => {
            // Jaeger's Elasticsearch documents hold bytes as hex; the UI shows base64.
            let bytes = hex::decode(s).unwrap_or_else(|_| s.as_bytes().to_vec());
            ("binary", Value::String(base64::engine::general_purpose::STANDARD.encode(bytes)))
        }
        (_, other) => ("string", Value::String(text(other))),
    };
    UiKeyValue { key: key.to_string(), value_type, value }
}

fn int64(value: Option<i64>) -> Value {
    match value {
        Some(v) if (-MAX_SAFE_INTEGER..=MAX_SAFE_INTEGER).contains(&v) => Value::from(v),
        Some(v) => Value::String(v.to_string()),
        None => Value::Null,
    }
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A tag stored as a field (`tag.span@kind`): its type follows the JSON value.
fn from_field(key: &str, value: &Value) -> UiKeyValue {
    let key = key.replace('@', ".");
    match value {
        Value::Bool(b) => UiKeyValue { key, value_type: "bool", value: Value::Bool(*b) },
        Value::Number(n) if n.is_i64() || n.is_u64() => {
            UiKeyValue { key, value_type: "int64", value: int64(n.as_i64()) }
        }
        Value::Number(n) => UiKeyValue { key, value_type: "float64", value: Value::Number(n.clone()) },
        other => UiKeyValue { key, value_type: "string", value: Value::String(text(other)) },
    }
}

/// A stored tag value as JSON (a [`RawValue`] is always valid JSON).
fn stored_value(raw: &RawValue) -> Value {
    serde_json::from_str(raw.get()).unwrap_or(Value::Null)
}

/// The tags of a list (`tags`) then of the fields (`tag`, in key order).
fn key_values(list: &[KeyValue], fields: &BTreeMap<String, Box<RawValue>>) -> Vec<UiKeyValue> {
    let mut out: Vec<UiKeyValue> =
        list.iter().map(|kv| typed(&kv.key, &kv.value_type, &stored_value(&kv.value))).collect();
    out.extend(fields.iter().map(|(k, v)| from_field(k, &stored_value(v))));
    out
}

/// Convert one span document (`_source` of `jaeger-span-*`).
pub fn span_from_document(doc: SpanDocument) -> Result<UiSpan, String> {
    let trace_id = normalize_trace_id(&doc.trace_id).ok_or_else(|| format!("bad traceID {:?}", doc.trace_id))?;
    let span_id = normalize_span_id(&doc.span_id);
    let mut references: Vec<UiReference> = doc
        .references
        .unwrap_or_default()
        .iter()
        .map(|r| UiReference {
            ref_type: if r.ref_type == "FOLLOWS_FROM" { "FOLLOWS_FROM" } else { "CHILD_OF" },
            trace_id: normalize_trace_id(&r.trace_id).unwrap_or_else(|| trace_id.clone()),
            span_id: normalize_span_id(&r.span_id),
        })
        .collect();
    // Jaeger 2 stores the parent as a field too; older documents only as a reference.
    if !doc.parent_span_id.is_empty() {
        let parent = normalize_span_id(&doc.parent_span_id);
        if !references.iter().any(|r| r.ref_type == "CHILD_OF" && r.span_id == parent) {
            references.insert(0, UiReference { ref_type: "CHILD_OF", trace_id: trace_id.clone(), span_id: parent });
        }
    }
    let logs = doc
        .logs
        .unwrap_or_default()
        .iter()
        .map(|l| UiLog { timestamp: l.timestamp, fields: key_values(&l.fields, &BTreeMap::new()) })
        .collect();
    Ok(UiSpan {
        trace_id,
        span_id,
        flags: doc.flags,
        operation_name: doc.operation_name,
        references,
        start_time: doc.start_time,
        duration: doc.duration,
        tags: key_values(&doc.tags, &doc.tag),
        logs,
        process_id: String::new(),
        warnings: None,
        process: UiProcess {
            tags: key_values(&doc.process.tags, &doc.process.tag),
            service_name: doc.process.service_name,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> SpanDocument {
        read(json!({
            "traceID": "00000000000000000af7651916cd43dd",
            "spanID": "00f067aa0ba902b7",
            "parentSpanID": "1111111111111111",
            "operationName": "GET /",
            "references": [{"refType": "CHILD_OF", "traceID": "00000000000000000af7651916cd43dd", "spanID": "1111111111111111"}],
            "startTime": 1700000000000000u64,
            "startTimeMillis": 1700000000000u64,
            "duration": 1500,
            "tags": [
                {"key": "big", "type": "int64", "value": 9223372036854775222i64},
                {"key": "small", "type": "int64", "value": 7},
                {"key": "old", "type": "int64", "value": "12"},
                {"key": "ok", "type": "bool", "value": "true"},
                {"key": "bin", "type": "binary", "value": "dead"}
            ],
            "tag": {"span@kind": "server", "error": true},
            "logs": null,
            "process": {"serviceName": "web", "tags": [{"key": "host", "type": "string", "value": "h1"}]}
        }))
    }

    fn read(stored: Value) -> SpanDocument {
        serde_json::from_value(stored).expect("a readable span document")
    }

    #[test]
    fn span_documents_become_jaeger_ui_spans() {
        let span = span_from_document(doc()).unwrap();
        let json = serde_json::to_value(&span).unwrap();
        assert_eq!(json["traceID"], "0af7651916cd43dd", "16 characters when the high half is zero");
        assert_eq!(
            json["references"],
            json!([{"refType":"CHILD_OF","traceID":"0af7651916cd43dd","spanID":"1111111111111111"}])
        );
        assert!(json.get("flags").is_none());
        assert!(json.get("parentSpanID").is_none());
        assert_eq!(json["logs"], json!([]));
        assert_eq!(json["warnings"], Value::Null);
        let tags = &json["tags"];
        assert_eq!(tags[0], json!({"key":"big","type":"int64","value":"9223372036854775222"}));
        assert_eq!(tags[1], json!({"key":"small","type":"int64","value":7}));
        assert_eq!(tags[2], json!({"key":"old","type":"int64","value":12}));
        assert_eq!(tags[3], json!({"key":"ok","type":"bool","value":true}));
        assert_eq!(tags[4], json!({"key":"bin","type":"binary","value":"3q0="}));
        assert_eq!(tags[5], json!({"key":"error","type":"bool","value":true}));
        assert_eq!(tags[6], json!({"key":"span.kind","type":"string","value":"server"}));
    }

    #[test]
    fn a_sparse_document_reads_with_empty_lists_and_untyped_tags_as_strings() {
        let sparse = read(json!({
            "traceID": "aa", "spanID": "1", "references": [{"spanID": "2"}], "tags": null, "logs": [{"fields": null}],
            "process": {"serviceName": "old", "tags": [{"key": "host", "value": "h"}, {"key": "none", "type": "bool"}]}
        }));
        let span = span_from_document(sparse).unwrap();
        let json = serde_json::to_value(&span).unwrap();
        assert_eq!(json["spanID"], "0000000000000001");
        assert_eq!(json["operationName"], "");
        assert_eq!(
            json["references"],
            json!([{"refType":"CHILD_OF","traceID":"00000000000000aa","spanID":"0000000000000002"}])
        );
        assert_eq!(json["tags"], json!([]));
        assert_eq!(json["logs"], json!([{"timestamp": 0, "fields": []}]));
        assert_eq!(
            serde_json::to_value(&span.process.tags).unwrap(),
            json!([{"key":"host","type":"string","value":"h"}, {"key":"none","type":"string","value":""}])
        );
        assert!(serde_json::from_value::<SpanDocument>(json!({"spanID": "1"})).is_err(), "a span needs its trace id");
        let bad_id = read(json!({"traceID": "not hex", "spanID": "1"}));
        assert_eq!(span_from_document(bad_id).unwrap_err(), "bad traceID \"not hex\"");
    }

    #[test]
    fn identical_processes_share_a_key_in_order_of_appearance() {
        let a = span_from_document(doc()).unwrap();
        let mut b = a.clone();
        b.process.service_name = "api".into();
        let c = a.clone();
        let trace = UiTrace::new(vec![a, b, c], vec![]);
        let ids: Vec<&str> = trace.spans.iter().map(|s| s.process_id.as_str()).collect();
        assert_eq!(ids, ["p1", "p2", "p1"]);
        assert_eq!(trace.processes["p2"].service_name, "api");
        assert_eq!(trace.warnings, None);
    }

    #[test]
    fn trace_ids_normalize_from_any_stored_form() {
        assert_eq!(normalize_trace_id("AF7651916CD43DD").as_deref(), Some("0af7651916cd43dd"));
        assert_eq!(
            normalize_trace_id("10000000000000000af7651916cd43dd").as_deref(),
            Some("10000000000000000af7651916cd43dd")
        );
        assert_eq!(normalize_trace_id("xyz"), None);
        assert_eq!(normalize_trace_id(&"1".repeat(33)), None);
    }
}
