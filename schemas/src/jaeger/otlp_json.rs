//! Jaeger UI-model traces back to OTLP JSON (`ResourceSpans`), as Jaeger's API v3 answers: hex
//! ids, integer span kinds and status codes, nanosecond times as strings, `intValue` as a string.
//! The tags Jaeger derives from OTLP fields (`span.kind`, `error`, `otel.status_*`,
//! `otel.scope.*`) go back into those fields.

use serde_json::{json, Map, Value};

use super::ui::{UiKeyValue, UiSpan, UiTrace};
use crate::span_kind::{self, SpanKind};

fn any_value(kv: &UiKeyValue) -> Value {
    match (kv.value_type, &kv.value) {
        ("bool", Value::Bool(b)) => json!({"boolValue": b}),
        ("int64", Value::Number(n)) => json!({"intValue": n.to_string()}),
        ("int64", Value::String(s)) => json!({"intValue": s}),
        ("float64", Value::Number(n)) => json!({"doubleValue": n}),
        ("binary", Value::String(s)) => json!({"bytesValue": s}),
        (_, Value::String(s)) => json!({"stringValue": s}),
        (_, other) => json!({"stringValue": other.to_string()}),
    }
}

fn attribute(kv: &UiKeyValue) -> Value {
    json!({"key": kv.key, "value": any_value(kv)})
}

/// OTLP's number of a `span.kind` tag; no tag or an unknown one is unspecified (0).
fn kind_number(kind: Option<&str>) -> i32 {
    kind.and_then(span_kind::from_name).unwrap_or(SpanKind::Unspecified) as i32
}

/// Tags that are OTLP fields rather than attributes.
const FIELD_TAGS: [&str; 6] =
    ["span.kind", "error", "otel.status_code", "otel.status_description", "otel.scope.name", "otel.scope.version"];

fn tag_str<'a>(span: &'a UiSpan, key: &str) -> Option<&'a str> {
    span.tags.iter().find(|t| t.key == key).and_then(|t| t.value.as_str())
}

fn span_json(span: &UiSpan) -> Value {
    let mut out = Map::new();
    out.insert("traceId".into(), json!(format!("{:0>32}", span.trace_id)));
    out.insert("spanId".into(), json!(span.span_id));
    if let Some(parent) = span.parent_span_id() {
        out.insert("parentSpanId".into(), json!(parent));
    }
    let flags = span.flags;
    if flags != 0 {
        out.insert("flags".into(), json!(flags));
    }
    out.insert("name".into(), json!(span.operation_name));
    out.insert("kind".into(), json!(kind_number(tag_str(span, "span.kind"))));
    out.insert("startTimeUnixNano".into(), json!((span.start_time * 1000).to_string()));
    out.insert("endTimeUnixNano".into(), json!(((span.start_time + span.duration) * 1000).to_string()));
    let attributes: Vec<Value> =
        span.tags.iter().filter(|t| !FIELD_TAGS.contains(&t.key.as_str())).map(attribute).collect();
    out.insert("attributes".into(), json!(attributes));
    let events: Vec<Value> = span
        .logs
        .iter()
        .map(|log| {
            let name = log.fields.iter().find(|f| f.key == "event").and_then(|f| f.value.as_str()).unwrap_or_default();
            let attributes: Vec<Value> = log.fields.iter().filter(|f| f.key != "event").map(attribute).collect();
            json!({"timeUnixNano": (log.timestamp * 1000).to_string(), "name": name, "attributes": attributes})
        })
        .collect();
    out.insert("events".into(), json!(events));
    let parent = span.parent_span_id().map(str::to_string);
    let links: Vec<Value> = span
        .references
        .iter()
        .filter(|r| !(r.ref_type == "CHILD_OF" && r.trace_id == span.trace_id && Some(&r.span_id) == parent.as_ref()))
        .map(|r| json!({"traceId": format!("{:0>32}", r.trace_id), "spanId": r.span_id}))
        .collect();
    out.insert("links".into(), json!(links));
    let error = tag_str(span, "otel.status_code") == Some("ERROR")
        || span.tags.iter().any(|t| t.key == "error" && (t.value == Value::Bool(true) || t.value == "true"));
    let mut status = Map::new();
    if let Some(message) = tag_str(span, "otel.status_description") {
        status.insert("message".into(), json!(message));
    }
    if error {
        status.insert("code".into(), json!(2));
    } else if tag_str(span, "otel.status_code") == Some("OK") {
        status.insert("code".into(), json!(1));
    }
    out.insert("status".into(), Value::Object(status));
    Value::Object(out)
}

/// All spans of `traces` as one `TracesData` JSON: a resource per process, a scope per
/// instrumentation scope.
pub fn traces_data(traces: &[UiTrace]) -> Value {
    let mut resources: Vec<Value> = Vec::new();
    for trace in traces {
        let mut keys: Vec<&String> = trace.processes.keys().collect();
        keys.sort_by_key(|k| k.trim_start_matches('p').parse::<u64>().unwrap_or(u64::MAX));
        for key in keys {
            let process = &trace.processes[key];
            let mut attributes = vec![json!({"key": "service.name", "value": {"stringValue": process.service_name}})];
            attributes.extend(process.tags.iter().map(attribute));
            // (scope name, version) → spans, in order of first appearance.
            let mut scopes: Vec<((String, String), Vec<Value>)> = Vec::new();
            for span in trace.spans.iter().filter(|s| &s.process_id == key) {
                let scope = (
                    tag_str(span, "otel.scope.name").unwrap_or_default().to_string(),
                    tag_str(span, "otel.scope.version").unwrap_or_default().to_string(),
                );
                match scopes.iter_mut().find(|(s, _)| *s == scope) {
                    Some((_, spans)) => spans.push(span_json(span)),
                    None => scopes.push((scope, vec![span_json(span)])),
                }
            }
            let scope_spans: Vec<Value> = scopes
                .into_iter()
                .map(|((name, version), spans)| json!({"scope": {"name": name, "version": version}, "spans": spans}))
                .collect();
            resources.push(json!({"resource": {"attributes": attributes}, "scopeSpans": scope_spans}));
        }
    }
    json!({"resourceSpans": resources})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jaeger::ui::span_from_document;

    #[test]
    fn ui_spans_go_back_to_otlp_fields() {
        let doc = json!({
            "traceID": "0af7651916cd43dd", "spanID": "00000000000000b2", "operationName": "GET /",
            "references": [
                {"refType": "CHILD_OF", "traceID": "0af7651916cd43dd", "spanID": "00000000000000a1"},
                {"refType": "FOLLOWS_FROM", "traceID": "0af7651916cd43dd", "spanID": "00000000000000c3"}
            ],
            "startTime": 10, "duration": 5,
            "tags": [{"key": "n", "type": "int64", "value": 3}, {"key": "otel.status_description", "type": "string", "value": "boom"},
                     {"key": "otel.scope.name", "type": "string", "value": "lib"}],
            "tag": {"span@kind": "server", "error": true},
            "logs": [{"timestamp": 12, "fields": [{"key": "event", "type": "string", "value": "retry"}]}],
            "process": {"serviceName": "web", "tags": []}
        });
        let trace = UiTrace::new(vec![span_from_document(serde_json::from_value(doc).unwrap()).unwrap()], vec![]);
        let data = traces_data(&[trace]);
        let resource = &data["resourceSpans"][0];
        assert_eq!(
            resource["resource"]["attributes"][0],
            json!({"key": "service.name", "value": {"stringValue": "web"}})
        );
        assert_eq!(resource["scopeSpans"][0]["scope"]["name"], "lib");
        let span = &resource["scopeSpans"][0]["spans"][0];
        assert_eq!(span["traceId"], "00000000000000000af7651916cd43dd");
        assert_eq!(span["parentSpanId"], "00000000000000a1");
        assert_eq!(span["kind"], 2);
        assert_eq!(span["startTimeUnixNano"], "10000");
        assert_eq!(span["attributes"], json!([{"key": "n", "value": {"intValue": "3"}}]));
        assert_eq!(span["events"][0]["name"], "retry");
        assert_eq!(
            span["links"],
            json!([{"traceId": "00000000000000000af7651916cd43dd", "spanId": "00000000000000c3"}])
        );
        assert_eq!(span["status"], json!({"message": "boom", "code": 2}));
    }
}
