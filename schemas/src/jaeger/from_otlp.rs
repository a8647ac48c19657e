//! OTLP spans → Jaeger span and service documents, following Jaeger v2's translation: scope as
//! `otel.scope.*` tags, span kind as `span.kind`, ERROR status as `error=true`, events as logs,
//! parent as the first CHILD_OF reference, links as FOLLOWS_FROM, resource as process.

use std::collections::BTreeMap;

use opentelemetry_proto::tonic::common::v1::{any_value::Value, AnyValue, InstrumentationScope};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{status::StatusCode, Span, TracesData};
use serde_json::value::RawValue;

use super::documents::{KeyValue, Log, Process, Reference, ServiceDocument, SpanDocument};
use super::identity::span_document_id;
use super::json;
use super::{format_span_id, TraceIdFormat};
use crate::span_kind;

/// The service name Jaeger gives a resource without attributes.
pub const NO_SERVICE_NAME: &str = "OTLPResourceNoServiceName";

/// Tags Jaeger v2 stores as fields (`tag.span@kind`, `tag.error`) rather than in the `tags` list;
/// its metrics queries read them there.
pub const ELEVATED_TAG_KEYS: &[&str] = &["span.kind", "error"];

/// One span ready to index.
#[derive(Debug, Clone)]
pub struct ConvertedSpan {
    /// The JSON body of the `jaeger-span` document.
    pub body: Vec<u8>,
    /// The span's identity ([`super::identity::span_document_id`]), not its rendering: a replay,
    /// by this or any later version, overwrites, and the client and server halves of a Zipkin
    /// shared span stay two documents.
    pub document_id: String,
    /// Span start, µs since the epoch; picks the daily index.
    pub start_time_micros: u64,
    /// The `jaeger-service` document of this span.
    pub service: ServiceDocument,
}

/// Convert every span of a record, writing trace ids in `ids` form.
pub fn span_documents(data: &TracesData, ids: TraceIdFormat) -> Vec<ConvertedSpan> {
    let mut converted = Vec::new();
    for resource_spans in &data.resource_spans {
        let process = process(resource_spans.resource.as_ref());
        for scope_spans in &resource_spans.scope_spans {
            for span in &scope_spans.spans {
                let document = span_document(span, scope_spans.scope.as_ref(), process.clone(), ids);
                let id = span_document_id(&span.trace_id, &span.span_id, span.kind, &document.process.service_name);
                converted.push(finish(document, id));
            }
        }
    }
    converted
}

fn finish(document: SpanDocument, document_id: String) -> ConvertedSpan {
    let body = serde_json::to_vec(&document).expect("span documents always serialize");
    ConvertedSpan {
        document_id,
        start_time_micros: document.start_time,
        service: ServiceDocument {
            service_name: document.process.service_name,
            operation_name: document.operation_name,
        },
        body,
    }
}

fn process(resource: Option<&Resource>) -> Process {
    let attributes = resource.map(|r| r.attributes.as_slice()).unwrap_or_default();
    let mut service_name = if attributes.is_empty() { NO_SERVICE_NAME.to_string() } else { String::new() };
    let mut tags = Vec::with_capacity(attributes.len());
    for attribute in attributes {
        if attribute.key == "service.name" {
            service_name = attribute.value.as_ref().map(value_as_string).unwrap_or_default();
        } else {
            tags.push(key_value(&attribute.key, attribute.value.as_ref()));
        }
    }
    let (tags, tag) = elevate(tags);
    Process { service_name, tags, tag }
}

fn span_document(
    span: &Span,
    scope: Option<&InstrumentationScope>,
    process: Process,
    ids: TraceIdFormat,
) -> SpanDocument {
    let trace_id = ids.format(&span.trace_id);
    let start_time = span.start_time_unix_nano / 1000;
    let duration = span.end_time_unix_nano.saturating_sub(span.start_time_unix_nano) / 1000;
    let (tags, tag) = elevate(span_tags(span, scope));
    SpanDocument {
        parent_span_id: if is_set(&span.parent_span_id) { format_span_id(&span.parent_span_id) } else { String::new() },
        references: references(span, &trace_id, ids),
        span_id: format_span_id(&span.span_id),
        trace_id,
        flags: span.flags,
        operation_name: span.name.clone(),
        start_time,
        start_time_millis: start_time / 1000,
        duration,
        tags,
        tag,
        logs: logs(span),
        process,
    }
}

fn is_set(id: &[u8]) -> bool {
    !id.is_empty() && id.iter().any(|b| *b != 0)
}

fn references(span: &Span, trace_id: &str, ids: TraceIdFormat) -> Option<Vec<Reference>> {
    let mut refs = Vec::new();
    let has_parent = is_set(&span.parent_span_id);
    if has_parent {
        refs.push(Reference {
            ref_type: "CHILD_OF".into(),
            trace_id: trace_id.to_string(),
            span_id: format_span_id(&span.parent_span_id),
        });
    }
    for link in &span.links {
        let child_of = link.attributes.iter().any(|a| {
            a.key == "opentracing.ref_type"
                && matches!(a.value.as_ref().and_then(|v| v.value.as_ref()), Some(Value::StringValue(s)) if s == "child_of")
        });
        let ref_type = if child_of { "CHILD_OF" } else { "FOLLOWS_FROM" };
        // A link repeating the parent only sets the parent reference's type.
        if has_parent && link.trace_id == span.trace_id && link.span_id == span.parent_span_id {
            refs[0].ref_type = ref_type.into();
            continue;
        }
        refs.push(Reference {
            ref_type: ref_type.into(),
            trace_id: ids.format(&link.trace_id),
            span_id: format_span_id(&link.span_id),
        });
    }
    (!refs.is_empty()).then_some(refs)
}

fn span_tags(span: &Span, scope: Option<&InstrumentationScope>) -> Vec<KeyValue> {
    let mut tags = Vec::with_capacity(span.attributes.len() + 6);
    if let Some(scope) = scope {
        if !scope.name.is_empty() {
            tags.push(string_tag("otel.scope.name", &scope.name));
        }
        if !scope.version.is_empty() {
            tags.push(string_tag("otel.scope.version", &scope.version));
        }
    }
    for attribute in &span.attributes {
        tags.push(key_value(&attribute.key, attribute.value.as_ref()));
    }
    if let Some(kind) = span_kind::jaeger_tag(span_kind::from_otlp(span.kind)) {
        tags.push(string_tag("span.kind", kind));
    }
    if let Some(status) = &span.status {
        match StatusCode::try_from(status.code).unwrap_or(StatusCode::Unset) {
            StatusCode::Ok => tags.push(string_tag("otel.status_code", "OK")),
            StatusCode::Error => {
                tags.push(KeyValue { key: "error".into(), value_type: "bool".into(), value: json::raw("true".into()) })
            }
            StatusCode::Unset => {}
        }
        if !status.message.is_empty() {
            tags.push(string_tag("otel.status_description", &status.message));
        }
    }
    if !span.trace_state.is_empty() {
        tags.push(string_tag("w3c.tracestate", &span.trace_state));
    }
    tags
}

fn logs(span: &Span) -> Option<Vec<Log>> {
    if span.events.is_empty() {
        return None;
    }
    let logs = span
        .events
        .iter()
        .map(|event| {
            let mut fields = Vec::with_capacity(event.attributes.len() + 1);
            if !event.name.is_empty() && !event.attributes.iter().any(|a| a.key == "event") {
                fields.push(string_tag("event", &event.name));
            }
            fields.extend(event.attributes.iter().map(|a| key_value(&a.key, a.value.as_ref())));
            Log { timestamp: event.time_unix_nano / 1000, fields }
        })
        .collect();
    Some(logs)
}

/// Move the tags Jaeger stores as fields out of the list, into the `tag` map.
fn elevate(tags: Vec<KeyValue>) -> (Vec<KeyValue>, BTreeMap<String, Box<RawValue>>) {
    let mut fields = BTreeMap::new();
    let mut kept = Vec::with_capacity(tags.len());
    for tag in tags {
        if tag.value_type != "binary" && ELEVATED_TAG_KEYS.contains(&tag.key.as_str()) {
            fields.insert(tag.key.replace('.', "@"), tag.value);
        } else {
            kept.push(tag);
        }
    }
    (kept, fields)
}

fn string_tag(key: &str, value: &str) -> KeyValue {
    KeyValue { key: key.to_string(), value_type: "string".into(), value: json::raw(json::string(value)) }
}

/// An attribute as a typed Jaeger tag.
fn key_value(key: &str, value: Option<&AnyValue>) -> KeyValue {
    let (value_type, text) = match value.and_then(|v| v.value.as_ref()) {
        // A string-table index only means something in profiles; traces have no table to resolve it.
        None | Some(Value::StringValueStrindex(_)) => ("string", "null".to_string()),
        Some(Value::StringValue(s)) => ("string", json::string(s)),
        Some(Value::BoolValue(b)) => ("bool", b.to_string()),
        Some(Value::IntValue(i)) => ("int64", i.to_string()),
        Some(Value::DoubleValue(d)) => ("float64", json::go_float(*d)),
        Some(Value::BytesValue(bytes)) => ("binary", json::string(&hex::encode(bytes))),
        Some(Value::ArrayValue(_)) | Some(Value::KvlistValue(_)) => {
            ("string", json::string(&json::any_value_text(value.expect("matched Some"))))
        }
    };
    KeyValue { key: key.to_string(), value_type: value_type.into(), value: json::raw(text) }
}

/// The string form of an attribute, for `service.name`.
fn value_as_string(value: &AnyValue) -> String {
    match value.value.as_ref() {
        None => String::new(),
        Some(Value::StringValue(s)) => s.clone(),
        Some(Value::BoolValue(b)) => b.to_string(),
        Some(Value::IntValue(i)) => i.to_string(),
        Some(Value::DoubleValue(d)) => json::go_float(*d).trim_matches('"').to_string(),
        Some(Value::BytesValue(bytes)) => hex::encode(bytes),
        Some(_) => json::any_value_text(value),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fnv1a64;
    use super::*;
    use opentelemetry_proto::tonic::common::v1::KeyValue as OtlpKeyValue;
    use opentelemetry_proto::tonic::trace::v1::span::{Event, Link, SpanKind};
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Status};

    fn attr(key: &str, value: Value) -> OtlpKeyValue {
        OtlpKeyValue { key: key.into(), value: Some(AnyValue { value: Some(value) }), ..Default::default() }
    }

    fn traces(resource: Vec<OtlpKeyValue>, span: Span) -> TracesData {
        TracesData {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource { attributes: resource, ..Default::default() }),
                scope_spans: vec![ScopeSpans {
                    scope: Some(InstrumentationScope {
                        name: "lib".into(),
                        version: "1.0".into(),
                        ..Default::default()
                    }),
                    spans: vec![span],
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            }],
        }
    }

    fn server_span() -> Span {
        Span {
            trace_id: hex::decode("0af7651916cd43dd8448eb211c80319c").unwrap(),
            span_id: hex::decode("b7ad6b7169203331").unwrap(),
            parent_span_id: hex::decode("00f067aa0ba902b7").unwrap(),
            flags: 1,
            name: "GET /x".into(),
            kind: SpanKind::Server as i32,
            start_time_unix_nano: 1_700_000_000_123_456_789,
            end_time_unix_nano: 1_700_000_000_125_956_789,
            attributes: vec![attr("http.status_code", Value::IntValue(500))],
            status: Some(Status { code: StatusCode::Error as i32, message: "boom".into() }),
            ..Default::default()
        }
    }

    #[test]
    fn server_span_matches_jaeger_document_byte_for_byte() {
        let data = traces(
            vec![
                attr("service.name", Value::StringValue("svc".into())),
                attr("host.name", Value::StringValue("h".into())),
            ],
            server_span(),
        );
        let converted = span_documents(&data, TraceIdFormat::Short);
        assert_eq!(converted.len(), 1);
        let expected = concat!(
            r#"{"traceID":"0af7651916cd43dd8448eb211c80319c","spanID":"b7ad6b7169203331","parentSpanID":"00f067aa0ba902b7","flags":1,"#,
            r#""operationName":"GET /x","references":[{"refType":"CHILD_OF","traceID":"0af7651916cd43dd8448eb211c80319c","spanID":"00f067aa0ba902b7"}],"#,
            r#""startTime":1700000000123456,"startTimeMillis":1700000000123,"duration":2500,"#,
            r#""tags":[{"key":"otel.scope.name","type":"string","value":"lib"},{"key":"otel.scope.version","type":"string","value":"1.0"},"#,
            r#"{"key":"http.status_code","type":"int64","value":500},{"key":"otel.status_description","type":"string","value":"boom"}],"#,
            r#""tag":{"error":true,"span@kind":"server"},"#,
            r#""logs":null,"#,
            r#""process":{"serviceName":"svc","tags":[{"key":"host.name","type":"string","value":"h"}]}}"#
        );
        assert_eq!(String::from_utf8(converted[0].body.clone()).unwrap(), expected);
        assert_eq!(
            converted[0].service,
            ServiceDocument { service_name: "svc".into(), operation_name: "GET /x".into() }
        );
        assert!(converted[0].document_id.starts_with("0af7651916cd43dd8448eb211c80319c_b7ad6b7169203331_"));
        assert_eq!(converted[0].start_time_micros, 1_700_000_000_123_456);
    }

    #[test]
    fn events_become_logs_and_links_become_follows_from() {
        let mut span = server_span();
        span.parent_span_id.clear();
        span.status = Some(Status { code: StatusCode::Ok as i32, message: String::new() });
        span.events = vec![
            Event {
                time_unix_nano: 1_700_000_000_124_000_000,
                name: "exception".into(),
                attributes: vec![attr("exception.message", Value::StringValue("bad".into()))],
                dropped_attributes_count: 0,
            },
            Event {
                time_unix_nano: 1_700_000_000_124_500_000,
                name: "ignored".into(),
                attributes: vec![attr("event", Value::StringValue("own".into()))],
                dropped_attributes_count: 0,
            },
        ];
        span.links = vec![Link { trace_id: vec![0xaa; 16], span_id: vec![0xbb; 8], ..Default::default() }];
        span.trace_state = "k=v".into();
        let doc: serde_json::Value =
            serde_json::from_slice(&span_documents(&traces(vec![], span), TraceIdFormat::Short)[0].body).unwrap();
        assert_eq!(
            doc["references"],
            serde_json::json!([{"refType":"FOLLOWS_FROM","traceID":"aa".repeat(16),"spanID":"bb".repeat(8)}])
        );
        assert!(doc.get("parentSpanID").is_none());
        assert_eq!(doc["logs"][0]["timestamp"], 1_700_000_000_124_000u64);
        assert_eq!(doc["logs"][0]["fields"][0], serde_json::json!({"key":"event","type":"string","value":"exception"}));
        assert_eq!(doc["logs"][1]["fields"], serde_json::json!([{"key":"event","type":"string","value":"own"}]));
        let tags = doc["tags"].as_array().unwrap();
        assert!(tags.contains(&serde_json::json!({"key":"otel.status_code","type":"string","value":"OK"})));
        assert!(tags.contains(&serde_json::json!({"key":"w3c.tracestate","type":"string","value":"k=v"})));
        assert_eq!(doc["process"]["serviceName"], NO_SERVICE_NAME);
        assert_eq!(doc["process"]["tags"], serde_json::json!([]));
    }

    #[test]
    fn attribute_types_map_to_jaeger_tag_types() {
        let mut span = server_span();
        span.attributes = vec![
            attr("s", Value::StringValue("x".into())),
            attr("b", Value::BoolValue(false)),
            attr("d", Value::DoubleValue(2.0)),
            attr("bin", Value::BytesValue(vec![0xde, 0xad])),
            attr(
                "arr",
                Value::ArrayValue(opentelemetry_proto::tonic::common::v1::ArrayValue {
                    values: vec![AnyValue { value: Some(Value::IntValue(1)) }],
                }),
            ),
        ];
        let doc: serde_json::Value =
            serde_json::from_slice(&span_documents(&traces(vec![], span), TraceIdFormat::Short)[0].body).unwrap();
        let tags = &doc["tags"];
        assert_eq!(tags[2], serde_json::json!({"key":"s","type":"string","value":"x"}));
        assert_eq!(tags[3], serde_json::json!({"key":"b","type":"bool","value":false}));
        assert_eq!(tags[4], serde_json::json!({"key":"d","type":"float64","value":2}));
        assert_eq!(tags[5], serde_json::json!({"key":"bin","type":"binary","value":"dead"}));
        assert_eq!(tags[6], serde_json::json!({"key":"arr","type":"string","value":"[1]"}));
    }

    fn document_id(span: Span, service: &str) -> String {
        let data = traces(vec![attr("service.name", Value::StringValue(service.into()))], span);
        span_documents(&data, TraceIdFormat::Full)[0].document_id.clone()
    }

    #[test]
    fn shared_span_id_halves_get_distinct_document_ids() {
        // Zipkin's shared span: the client and the server report the same trace and span id.
        let mut client = server_span();
        client.kind = SpanKind::Client as i32;
        client.attributes.clear();
        let server = server_span();
        let client_id = document_id(client, "frontend");
        let server_id = document_id(server.clone(), "backend");
        assert_ne!(client_id, server_id);
        assert_ne!(document_id(server.clone(), "frontend"), server_id, "one kind from two services");
        assert_eq!(document_id(server, "backend"), server_id, "same span, same id");
    }

    #[test]
    fn document_ids_depend_on_the_span_identity_not_on_the_rendered_document() {
        let mut span = server_span();
        span.trace_id = [vec![0; 8], vec![0x12; 8]].concat();
        let data = traces(vec![attr("service.name", Value::StringValue("svc".into()))], span.clone());
        let short = span_documents(&data, TraceIdFormat::Short);
        let full = span_documents(&data, TraceIdFormat::Full);
        assert_ne!(short[0].body, full[0].body, "the two layouts render different documents");
        assert_eq!(short[0].document_id, full[0].document_id);
        assert!(full[0].document_id.starts_with(&format!("{}{}_b7ad6b7169203331_", "0".repeat(16), "12".repeat(8))));

        // What a later version might render differently: tags, logs, names, timings.
        let mut changed = span;
        changed.attributes.push(attr("added.later", Value::BoolValue(true)));
        changed.name = "GET /renamed".into();
        changed.end_time_unix_nano += 1_000;
        changed.status = None;
        let data = traces(vec![attr("service.name", Value::StringValue("svc".into()))], changed);
        let changed = span_documents(&data, TraceIdFormat::Full);
        assert_ne!(changed[0].body, full[0].body);
        assert_eq!(changed[0].document_id, full[0].document_id);
    }

    #[test]
    fn trace_ids_follow_the_configured_jaeger_generation() {
        let mut span = server_span();
        span.trace_id = [vec![0; 8], vec![0x12; 8]].concat();
        span.links = vec![Link { trace_id: span.trace_id.clone(), span_id: vec![0xbb; 8], ..Default::default() }];
        for (ids, expected) in [
            (TraceIdFormat::Short, "12".repeat(8)),
            (TraceIdFormat::Full, format!("{}{}", "0".repeat(16), "12".repeat(8))),
        ] {
            let doc: serde_json::Value =
                serde_json::from_slice(&span_documents(&traces(vec![], span.clone()), ids)[0].body).unwrap();
            assert_eq!(doc["traceID"], expected, "{ids:?}");
            assert_eq!(doc["references"][0]["traceID"], expected, "{ids:?}");
            assert_eq!(doc["references"][1]["traceID"], expected, "{ids:?}");
        }
    }

    #[test]
    fn service_document_id_is_jaeger_fnv_hash() {
        let service = ServiceDocument { service_name: "svc".into(), operation_name: "op".into() };
        assert_eq!(service.document_id(), format!("{:x}", fnv1a64(&[b"svcop"])));
    }
}
