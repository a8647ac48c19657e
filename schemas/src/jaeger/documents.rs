//! The document shapes of Jaeger's `jaeger-span-*` and `jaeger-service-*` indices; field order is
//! Jaeger's, since it is also the order of keys in the JSON.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
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
    #[serde(rename = "operationName")]
    pub operation_name: String,
    /// `null` when the span has neither parent nor links, as Jaeger writes it.
    pub references: Option<Vec<Reference>>,
    /// Microseconds since the epoch.
    #[serde(rename = "startTime")]
    pub start_time: u64,
    #[serde(rename = "startTimeMillis")]
    pub start_time_millis: u64,
    /// Microseconds.
    pub duration: u64,
    pub tags: Vec<KeyValue>,
    /// Tags stored as fields (dots replaced by `@`); absent when none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tag: BTreeMap<String, Box<RawValue>>,
    /// `null` when the span has no events.
    pub logs: Option<Vec<Log>>,
    pub process: Process,
}

fn is_zero(value: &u32) -> bool {
    *value == 0
}

/// A parent or link.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Reference {
    #[serde(rename = "refType")]
    pub ref_type: String,
    #[serde(rename = "traceID")]
    pub trace_id: String,
    #[serde(rename = "spanID")]
    pub span_id: String,
}

/// A typed tag; `value` is JSON of its native type (string, integer, number, bool, or null).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyValue {
    pub key: String,
    #[serde(rename = "type")]
    pub value_type: String,
    pub value: Box<RawValue>,
}

/// A span event.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Log {
    /// Microseconds since the epoch.
    pub timestamp: u64,
    pub fields: Vec<KeyValue>,
}

/// The emitting service: resource attributes other than `service.name` become its tags.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Process {
    #[serde(rename = "serviceName")]
    pub service_name: String,
    pub tags: Vec<KeyValue>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
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
