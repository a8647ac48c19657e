//! Jaeger batches (Thrift or api_v2) → OTLP, following the OpenTelemetry Collector's Jaeger
//! translation that Jaeger v2 itself runs, so a span sent with a Jaeger client is stored with the
//! fields Jaeger would store:
//! - process → resource (`service.name` first, `hostname` → `host.name`,
//!   `jaeger.version` → `opencensus.exporterversion`);
//! - tags → attributes, with `span.kind`, `error`, `otel.status_code`/`otel.status_description`
//!   and `http.status_code` read into kind and status;
//! - logs → events named by their `event` field; references → parent and links (with
//!   `opentracing.ref_type`); Jaeger's flags are not carried, as in Jaeger v2.
//!
//! Attribute maps behave as OTel's: a repeated key keeps its first position and last value, and a
//! consumed key is swap-removed (the last attribute takes its slot), so tag order matches too.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value::Value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link, SpanKind};
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span as OtlpSpan, Status};

use super::model::{Batch, Log, Process, RefType, Span, Tag, TagValue};
use super::NO_SERVICE_NAME;
use crate::span_kind;

/// Which wire form a batch came in; the two translations differ in small ways.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// One process per batch; scope and trace-state tags stay attributes.
    Thrift,
    /// Spans may carry their own process; `otel.scope.*` and `w3c.tracestate` tags are read.
    Proto,
}

/// Convert a batch into one OTLP request.
pub fn batch_to_otlp(batch: Batch, origin: Origin) -> ExportTraceServiceRequest {
    let Batch { process: batch_process, spans } = batch;
    // Resources by process; `None` is the batch's own (most spans: compared without copying it).
    let mut resource_spans: Vec<(Option<Process>, ResourceSpans)> = Vec::new();
    for mut span in spans {
        let own = if origin == Origin::Proto { span.process.take() } else { None };
        let own = own.filter(|process| *process != batch_process);
        let index = match resource_spans.iter().position(|(key, _)| *key == own) {
            Some(index) => index,
            None => {
                let resource = resource(own.as_ref().unwrap_or(&batch_process), origin);
                resource_spans.push((own, ResourceSpans { resource: Some(resource), ..Default::default() }));
                resource_spans.len() - 1
            }
        };
        let (scope, otlp_span) = span_to_otlp(span, origin);
        let scopes = &mut resource_spans[index].1.scope_spans;
        match scopes.iter_mut().find(|s| s.scope.as_ref() == Some(&scope)) {
            Some(scope_spans) => scope_spans.spans.push(otlp_span),
            None => scopes.push(ScopeSpans { scope: Some(scope), spans: vec![otlp_span], schema_url: String::new() }),
        }
    }
    ExportTraceServiceRequest { resource_spans: resource_spans.into_iter().map(|(_, r)| r).collect() }
}

fn resource(process: &Process, origin: Origin) -> Resource {
    let mut attributes = Vec::with_capacity(process.tags.len() + 1);
    let empty = process.service_name.is_empty() && process.tags.is_empty();
    let sentinel = origin == Origin::Proto && process.service_name == NO_SERVICE_NAME;
    if !empty && !sentinel {
        if !process.service_name.is_empty() {
            put(&mut attributes, "service.name", string_value(&process.service_name));
        }
        put_tags(&mut attributes, process.tags.clone());
        rename(&mut attributes, "hostname", "host.name", |value| value.clone());
        rename(&mut attributes, "jaeger.version", "opencensus.exporterversion", |value| {
            string_value(&format!("Jaeger-{}", str_of(value)))
        });
    }
    Resource { attributes, ..Default::default() }
}

/// Move `from` to `to` (converted) unless `to` is already set; the new key takes `from`'s slot.
fn rename(attributes: &mut Vec<KeyValue>, from: &str, to: &str, convert: impl Fn(&AnyValue) -> AnyValue) {
    if find(attributes, to).is_some() {
        return;
    }
    if let Some(index) = find(attributes, from) {
        let value = convert(attributes[index].value.as_ref().expect("attributes built here have values"));
        attributes.push(KeyValue { key: to.into(), value: Some(value), ..Default::default() });
        attributes.swap_remove(index);
    }
}

fn span_to_otlp(span: Span, origin: Origin) -> (InstrumentationScope, OtlpSpan) {
    let Span { trace_id, span_id, parent_span_id, operation_name, references, start_time_unix_nano, .. } = span;
    let mut tags = span.tags;
    let mut scope = InstrumentationScope::default();
    if origin == Origin::Proto {
        if let Some(name) = take_tag(&mut tags, "otel.scope.name") {
            scope.name = tag_str(&name);
            if let Some(version) = take_tag(&mut tags, "otel.scope.version") {
                scope.version = tag_str(&version);
            }
        }
    }
    let mut attributes = Vec::with_capacity(tags.len());
    put_tags(&mut attributes, tags);

    let kind = remove(&mut attributes, "span.kind")
        .and_then(|v| span_kind::from_name(str_of(&v)))
        .unwrap_or(SpanKind::Unspecified);
    let status = status(&mut attributes, kind);
    let trace_state = if origin == Origin::Proto {
        remove(&mut attributes, "w3c.tracestate").map(|v| str_of(&v).to_string()).unwrap_or_default()
    } else {
        String::new()
    };

    let parent = if parent_span_id != [0; 8] {
        Some(parent_span_id)
    } else {
        let same_trace = |ref_type: RefType| {
            references.iter().find(|r| r.trace_id == trace_id && r.ref_type == ref_type).map(|r| r.span_id)
        };
        same_trace(RefType::ChildOf).or_else(|| same_trace(RefType::FollowsFrom))
    };
    let links = references
        .iter()
        .filter(|r| !(Some(r.span_id) == parent && r.ref_type == RefType::ChildOf))
        .map(|r| Link {
            trace_id: r.trace_id.to_vec(),
            span_id: r.span_id.to_vec(),
            attributes: vec![KeyValue {
                key: "opentracing.ref_type".into(),
                value: Some(string_value(if r.ref_type == RefType::ChildOf { "child_of" } else { "follows_from" })),
                ..Default::default()
            }],
            ..Default::default()
        })
        .collect();

    let otlp = OtlpSpan {
        trace_id: trace_id.to_vec(),
        span_id: span_id.to_vec(),
        trace_state,
        parent_span_id: parent.map(|id| id.to_vec()).unwrap_or_default(),
        name: operation_name,
        kind: kind as i32,
        start_time_unix_nano,
        end_time_unix_nano: start_time_unix_nano.saturating_add(span.duration_nanos),
        attributes,
        events: span.logs.into_iter().map(event).collect(),
        links,
        status,
        ..Default::default()
    };
    (scope, otlp)
}

/// Jaeger's status rules: `error=true`, else `otel.status_code`, else `http.status_code`.
fn status(attributes: &mut Vec<KeyValue>, kind: SpanKind) -> Option<Status> {
    let mut status: Option<Status> = None;
    if matches!(get(attributes, "error").and_then(|v| v.value.as_ref()), Some(Value::BoolValue(true))) {
        remove(attributes, "error");
        let message = match remove(attributes, "otel.status_description") {
            Some(description) => str_of(&description).to_string(),
            None => get(attributes, "http.status_message").map(|v| str_of(v).to_string()).unwrap_or_default(),
        };
        status = Some(Status { code: StatusCode::Error as i32, message });
    }
    if let Some(index) = find(attributes, "otel.status_code") {
        if status.is_none() {
            let code = match str_of(attributes[index].value.as_ref().expect("set")).to_ascii_uppercase().as_str() {
                "OK" => StatusCode::Ok,
                "ERROR" => StatusCode::Error,
                _ => StatusCode::Unset,
            };
            let message = remove(attributes, "otel.status_description").map(|v| str_of(&v).to_string());
            status = Some(Status { code: code as i32, message: message.unwrap_or_default() });
        }
        remove(attributes, "otel.status_code");
    } else if status.is_none() {
        let http_code = get(attributes, "http.status_code").and_then(|v| match v.value.as_ref() {
            Some(Value::IntValue(code)) => Some(*code),
            Some(Value::StringValue(text)) => text.parse::<i64>().ok(),
            _ => None,
        });
        if let Some(http_code) = http_code {
            let code = if (400..500).contains(&http_code) {
                if kind == SpanKind::Server {
                    StatusCode::Unset
                } else {
                    StatusCode::Error
                }
            } else if (100..399).contains(&http_code) {
                StatusCode::Unset
            } else {
                StatusCode::Error
            };
            let message = get(attributes, "http.status_message").map(|v| str_of(v).to_string()).unwrap_or_default();
            status = Some(Status { code: code as i32, message });
        }
    }
    status
}

fn event(log: Log) -> Event {
    let mut attributes = Vec::with_capacity(log.fields.len());
    put_tags(&mut attributes, log.fields);
    let name = remove(&mut attributes, "event").map(|v| str_of(&v).to_string()).unwrap_or_default();
    Event { time_unix_nano: log.timestamp_unix_nano, name, attributes, dropped_attributes_count: 0 }
}

fn take_tag(tags: &mut Vec<Tag>, key: &str) -> Option<Tag> {
    let index = tags.iter().position(|t| t.key == key)?;
    Some(tags.remove(index))
}

fn tag_str(tag: &Tag) -> String {
    match &tag.value {
        TagValue::String(text) => text.clone(),
        _ => String::new(),
    }
}

fn put_tags(attributes: &mut Vec<KeyValue>, tags: Vec<Tag>) {
    for tag in tags {
        let value = match tag.value {
            TagValue::String(v) => Value::StringValue(v),
            TagValue::Bool(v) => Value::BoolValue(v),
            TagValue::Int64(v) => Value::IntValue(v),
            TagValue::Float64(v) => Value::DoubleValue(v),
            TagValue::Binary(v) => Value::BytesValue(v),
        };
        put_owned(attributes, tag.key, AnyValue { value: Some(value) });
    }
}

/// [`put`] taking the key by value (no copy when it is new).
pub(crate) fn put_owned(attributes: &mut Vec<KeyValue>, key: String, value: AnyValue) {
    match find(attributes, &key) {
        Some(index) => attributes[index].value = Some(value),
        None => attributes.push(KeyValue { key, value: Some(value), ..Default::default() }),
    }
}

/// Set `key`: a repeated key keeps its first position and takes the new value.
pub(crate) fn put(attributes: &mut Vec<KeyValue>, key: &str, value: AnyValue) {
    match find(attributes, key) {
        Some(index) => attributes[index].value = Some(value),
        None => attributes.push(KeyValue { key: key.to_string(), value: Some(value), ..Default::default() }),
    }
}

pub(crate) fn find(attributes: &[KeyValue], key: &str) -> Option<usize> {
    attributes.iter().position(|a| a.key == key)
}

pub(crate) fn get<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a AnyValue> {
    attributes.iter().find(|a| a.key == key).and_then(|a| a.value.as_ref())
}

/// Remove `key` the way OTel's attribute map does: the last attribute moves into its slot.
pub(crate) fn remove(attributes: &mut Vec<KeyValue>, key: &str) -> Option<AnyValue> {
    let index = find(attributes, key)?;
    attributes.swap_remove(index).value
}

/// The string inside a value; other types read as empty, as OTel's `Str()`.
pub(crate) fn str_of(value: &AnyValue) -> &str {
    match value.value.as_ref() {
        Some(Value::StringValue(text)) => text,
        _ => "",
    }
}

pub(crate) fn string_value(text: &str) -> AnyValue {
    AnyValue { value: Some(Value::StringValue(text.to_string())) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jaeger::model::{micros_to_nanos, trace_id_from_halves, SpanRef};

    fn tag(key: &str, value: TagValue) -> Tag {
        Tag { key: key.into(), value }
    }

    fn span(tags: Vec<Tag>) -> Span {
        Span {
            trace_id: trace_id_from_halves(0, 0x10),
            span_id: 0x20i64.to_be_bytes(),
            parent_span_id: [0; 8],
            operation_name: "op".into(),
            references: vec![],
            flags: 1,
            start_time_unix_nano: micros_to_nanos(1_000),
            duration_nanos: micros_to_nanos(5),
            tags,
            logs: vec![],
            process: None,
        }
    }

    fn keys(attributes: &[KeyValue]) -> Vec<&str> {
        attributes.iter().map(|a| a.key.as_str()).collect()
    }

    fn convert(span: Span, process: Process, origin: Origin) -> ResourceSpans {
        let mut request = batch_to_otlp(Batch { process, spans: vec![span] }, origin);
        request.resource_spans.remove(0)
    }

    #[test]
    fn consumed_tags_are_swap_removed_as_in_otel_and_set_kind_and_status() {
        let tags = vec![
            Tag::string("a", "1"),
            Tag::string("span.kind", "server"),
            Tag::string("b", "2"),
            tag("error", TagValue::Bool(true)),
            Tag::string("c", "3"),
        ];
        let resource_spans = convert(span(tags), Process { service_name: "svc".into(), tags: vec![] }, Origin::Thrift);
        let otlp = &resource_spans.scope_spans[0].spans[0];
        assert_eq!(keys(&otlp.attributes), ["a", "c", "b"]);
        assert_eq!(otlp.kind, SpanKind::Server as i32);
        assert_eq!(otlp.status.as_ref().unwrap().code, StatusCode::Error as i32);
        assert_eq!(otlp.end_time_unix_nano - otlp.start_time_unix_nano, 5_000);
        assert_eq!(otlp.flags, 0, "Jaeger's flags are not carried, as in Jaeger v2");
    }

    #[test]
    fn status_follows_error_then_status_code_then_http_code() {
        let status_of = |tags: Vec<Tag>, kind: &str| {
            let mut tags = tags;
            tags.push(Tag::string("span.kind", kind));
            let r = convert(span(tags), Process::default(), Origin::Thrift);
            let s = &r.scope_spans[0].spans[0];
            (s.status.as_ref().map(|s| (s.code, s.message.clone())), keys(&s.attributes).join(","))
        };
        assert_eq!(
            status_of(
                vec![Tag::string("otel.status_code", "ok"), Tag::string("otel.status_description", "fine")],
                "client"
            ),
            (Some((1, "fine".into())), "".into())
        );
        assert_eq!(
            status_of(vec![tag("http.status_code", TagValue::Int64(404))], "server"),
            (Some((0, "".into())), "http.status_code".into())
        );
        assert_eq!(status_of(vec![tag("http.status_code", TagValue::Int64(404))], "client").0, Some((2, "".into())));
        assert_eq!(status_of(vec![Tag::string("http.status_code", "503")], "server").0, Some((2, "".into())));
        assert_eq!(status_of(vec![tag("error", TagValue::Bool(false))], "client"), (None, "error".into()));
        assert_eq!(
            status_of(
                vec![tag("error", TagValue::Bool(true)), Tag::string("http.status_message", "bad gateway")],
                "client"
            )
            .0,
            Some((2, "bad gateway".into()))
        );
    }

    #[test]
    fn process_becomes_resource_with_jaeger_renames() {
        let process = Process {
            service_name: "svc".into(),
            tags: vec![
                Tag::string("hostname", "h1"),
                Tag::string("ip", "10.0.0.1"),
                Tag::string("jaeger.version", "Python-4.8.0"),
                Tag::string("client-uuid", "u"),
            ],
        };
        let resource = convert(span(vec![]), process, Origin::Thrift).resource.unwrap();
        assert_eq!(
            keys(&resource.attributes),
            ["service.name", "host.name", "ip", "opencensus.exporterversion", "client-uuid"]
        );
        assert_eq!(str_of(get(&resource.attributes, "opencensus.exporterversion").unwrap()), "Jaeger-Python-4.8.0");
    }

    #[test]
    fn references_give_parent_and_links_with_ref_type() {
        let mut s = span(vec![]);
        let other_trace = trace_id_from_halves(0, 0x99);
        s.references = vec![
            SpanRef { ref_type: RefType::FollowsFrom, trace_id: other_trace, span_id: [1; 8] },
            SpanRef { ref_type: RefType::ChildOf, trace_id: s.trace_id, span_id: [2; 8] },
        ];
        let r = convert(s.clone(), Process::default(), Origin::Thrift);
        let otlp = &r.scope_spans[0].spans[0];
        assert_eq!(otlp.parent_span_id, vec![2; 8]);
        assert_eq!(otlp.links.len(), 1);
        assert_eq!(str_of(otlp.links[0].attributes[0].value.as_ref().unwrap()), "follows_from");

        // A Thrift parent id wins; the CHILD_OF reference to another span stays a link.
        s.parent_span_id = [3; 8];
        let r = convert(s, Process::default(), Origin::Thrift);
        let otlp = &r.scope_spans[0].spans[0];
        assert_eq!(otlp.parent_span_id, vec![3; 8]);
        assert_eq!(otlp.links.len(), 2);
    }

    #[test]
    fn logs_are_named_by_their_event_field() {
        let mut s = span(vec![]);
        s.logs = vec![Log {
            timestamp_unix_nano: 7_000,
            fields: vec![Tag::string("event", "retry"), Tag::string("attempt", "2"), Tag::string("x", "y")],
        }];
        let r = convert(s, Process::default(), Origin::Thrift);
        let event = &r.scope_spans[0].spans[0].events[0];
        assert_eq!(event.name, "retry");
        assert_eq!(keys(&event.attributes), ["x", "attempt"]);
    }

    #[test]
    fn proto_spans_group_by_their_own_process_and_scope_tags() {
        let mut a = span(vec![Tag::string("otel.scope.name", "lib"), Tag::string("w3c.tracestate", "k=v")]);
        a.process = Some(Process { service_name: "other".into(), tags: vec![] });
        let b = span(vec![]);
        let request = batch_to_otlp(
            Batch { process: Process { service_name: "main".into(), tags: vec![] }, spans: vec![a, b] },
            Origin::Proto,
        );
        assert_eq!(request.resource_spans.len(), 2);
        let first = &request.resource_spans[0];
        assert_eq!(str_of(&first.resource.as_ref().unwrap().attributes[0].value.clone().unwrap()), "other");
        assert_eq!(first.scope_spans[0].scope.as_ref().unwrap().name, "lib");
        assert_eq!(first.scope_spans[0].spans[0].trace_state, "k=v");
        assert!(first.scope_spans[0].spans[0].attributes.is_empty());
    }
}

/// A Jaeger span through skein (Thrift → OTLP → Elasticsearch document) compared with the document
/// Jaeger v2 writes for it (translation rules of its receiver and its Elasticsearch writer, with
/// `span.kind` and `error` stored as fields as skein's layout always does).
#[cfg(test)]
mod round_trip {
    use super::*;
    use crate::jaeger::model::{micros_to_nanos, trace_id_from_halves, SpanRef};
    use crate::jaeger::thrift::{decode_agent_message, encode_agent_message, AgentMessage};
    use crate::jaeger::{span_documents, TraceIdFormat};
    use crate::thrift::Protocol;
    use opentelemetry_proto::tonic::trace::v1::TracesData;

    #[test]
    fn jaeger_span_becomes_the_document_jaeger_writes() {
        let trace_id = trace_id_from_halves(1, 2);
        let batch = Batch {
            process: Process {
                service_name: "frontend".into(),
                tags: vec![
                    Tag::string("hostname", "host-1"),
                    Tag::string("ip", "10.0.0.1"),
                    Tag::string("jaeger.version", "Go-2.30.0"),
                ],
            },
            spans: vec![Span {
                trace_id,
                span_id: 3i64.to_be_bytes(),
                parent_span_id: 4i64.to_be_bytes(),
                operation_name: "GET /api".into(),
                references: vec![SpanRef { ref_type: RefType::FollowsFrom, trace_id, span_id: 5i64.to_be_bytes() }],
                flags: 1,
                start_time_unix_nano: micros_to_nanos(1_700_000_000_123_456),
                duration_nanos: micros_to_nanos(1_500),
                tags: vec![
                    Tag::string("a", "x"),
                    Tag::string("span.kind", "server"),
                    Tag { key: "http.status_code".into(), value: TagValue::Int64(503) },
                    Tag { key: "error".into(), value: TagValue::Bool(true) },
                    Tag::string("peer", "svc"),
                ],
                logs: vec![Log {
                    timestamp_unix_nano: micros_to_nanos(1_700_000_000_124_000),
                    fields: vec![
                        Tag::string("event", "retry"),
                        Tag { key: "attempt".into(), value: TagValue::Int64(2) },
                    ],
                }],
                process: None,
            }],
        };
        let datagram = encode_agent_message(&batch, Protocol::Compact);
        let AgentMessage::Batch(decoded) = decode_agent_message(&datagram, Protocol::Compact).unwrap() else {
            panic!("a batch")
        };
        let request = batch_to_otlp(decoded, Origin::Thrift);
        let data = TracesData { resource_spans: request.resource_spans };
        let documents = span_documents(&data, TraceIdFormat::Full);
        let document: serde_json::Value = serde_json::from_slice(&documents[0].body).unwrap();
        let expected = serde_json::json!({
            "traceID": "00000000000000010000000000000002",
            "spanID": "0000000000000003",
            "parentSpanID": "0000000000000004",
            "operationName": "GET /api",
            "references": [
                {"refType": "CHILD_OF", "traceID": "00000000000000010000000000000002", "spanID": "0000000000000004"},
                {"refType": "FOLLOWS_FROM", "traceID": "00000000000000010000000000000002", "spanID": "0000000000000005"}
            ],
            "startTime": 1_700_000_000_123_456u64,
            "startTimeMillis": 1_700_000_000_123u64,
            "duration": 1500,
            // No `flags`: Jaeger v2 does not carry Jaeger's sampled/debug flags either.
            // Consumed tags are swap-removed, as Jaeger's receiver does: `peer` takes `span.kind`'s slot.
            "tags": [
                {"key": "a", "type": "string", "value": "x"},
                {"key": "peer", "type": "string", "value": "svc"},
                {"key": "http.status_code", "type": "int64", "value": 503}
            ],
            "tag": {"span@kind": "server", "error": true},
            "logs": [{"timestamp": 1_700_000_000_124_000u64, "fields": [
                {"key": "event", "type": "string", "value": "retry"},
                {"key": "attempt", "type": "int64", "value": 2}
            ]}],
            "process": {
                "serviceName": "frontend",
                "tags": [
                    {"key": "host.name", "type": "string", "value": "host-1"},
                    {"key": "ip", "type": "string", "value": "10.0.0.1"},
                    {"key": "opencensus.exporterversion", "type": "string", "value": "Jaeger-Go-2.30.0"}
                ]
            }
        });
        assert_eq!(document, expected, "{}", serde_json::to_string_pretty(&document).unwrap());
    }
}
