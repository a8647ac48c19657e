//! The document shapes of Jaeger's `jaeger-span-*` and `jaeger-service-*` indices; field order is
//! Jaeger's, since it is also the order of keys in the JSON.
//!
//! Reading is lenient, because the query role reads documents skein did not write (Jaeger 1's
//! and 2's): a field other than the ids may be missing, and a missing or `null` list reads as
//! empty. Writing is exactly Jaeger v2's.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;

use super::fnv1a64;

/// A span in `jaeger-span-YYYY-MM-DD`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SpanDocument {
    #[serde(rename = "traceID")]
    pub trace_id: String,
    #[serde(rename = "spanID")]
    pub span_id: String,
    #[serde(rename = "parentSpanID", default, skip_serializing_if = "String::is_empty")]
    pub parent_span_id: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub flags: u32,
    #[serde(rename = "operationName", default)]
    pub operation_name: String,
    /// `null` when the span has neither parent nor links, as Jaeger writes it.
    #[serde(default)]
    pub references: Option<Vec<Reference>>,
    /// Microseconds since the epoch.
    #[serde(rename = "startTime", default)]
    pub start_time: u64,
    #[serde(rename = "startTimeMillis", default)]
    pub start_time_millis: u64,
    /// Microseconds.
    #[serde(default)]
    pub duration: u64,
    #[serde(default, deserialize_with = "empty_if_null")]
    pub tags: Vec<KeyValue>,
    /// Tags stored as fields (dots replaced by `@`); absent when none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty", deserialize_with = "empty_if_null")]
    pub tag: BTreeMap<String, Box<RawValue>>,
    /// `null` when the span has no events.
    #[serde(default)]
    pub logs: Option<Vec<Log>>,
    #[serde(default)]
    pub process: Process,
}

fn is_zero(value: &u32) -> bool {
    *value == 0
}

/// A list or map that is `null` reads as empty.
fn empty_if_null<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(deserializer: D) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// A parent or link.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Reference {
    #[serde(rename = "refType", default)]
    pub ref_type: String,
    #[serde(rename = "traceID", default)]
    pub trace_id: String,
    #[serde(rename = "spanID", default)]
    pub span_id: String,
}

/// A typed tag; `value` is JSON of its native type (string, integer, number, bool, or null).
/// Read without a type it is a string; without a value, `null`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyValue {
    #[serde(default)]
    pub key: String,
    #[serde(rename = "type", default = "string_type")]
    pub value_type: String,
    #[serde(default = "null_value")]
    pub value: Box<RawValue>,
}

fn string_type() -> String {
    "string".into()
}

fn null_value() -> Box<RawValue> {
    RawValue::NULL.to_owned()
}

/// A span event.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Log {
    /// Microseconds since the epoch.
    #[serde(default)]
    pub timestamp: u64,
    #[serde(default, deserialize_with = "empty_if_null")]
    pub fields: Vec<KeyValue>,
}

/// The emitting service: resource attributes other than `service.name` become its tags.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Process {
    #[serde(rename = "serviceName", default)]
    pub service_name: String,
    #[serde(default, deserialize_with = "empty_if_null")]
    pub tags: Vec<KeyValue>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty", deserialize_with = "empty_if_null")]
    pub tag: BTreeMap<String, Box<RawValue>>,
}

/// A `{serviceName, operationName}` pair in `jaeger-service-YYYY-MM-DD`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Hash)]
pub struct ServiceDocument {
    #[serde(rename = "serviceName")]
    pub service_name: String,
    #[serde(rename = "operationName")]
    pub operation_name: String,
}

impl ServiceDocument {
    /// Jaeger's id: FNV-1a 64 of service name then operation name, lowercase hex, unpadded.
    pub fn document_id(&self) -> String {
        format!("{:x}", fnv1a64(&[self.service_name.as_bytes(), self.operation_name.as_bytes()]))
    }
}
