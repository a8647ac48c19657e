//! OTLP → Jaeger's client model: a request as the batches a Jaeger client would send for the same
//! spans, one process per resource. This is the client's view (the parent in `parent_span_id`,
//! kind as a `span.kind` tag, ERROR status as `error=true`, events as logs led by an `event`
//! field), not Jaeger v2's translation into stored documents, which `span_documents` follows.

use crate::span_kind;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value::Value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::Span as OtlpSpan;

use super::model::{Batch, Log, Process, Span, Tag, TagValue};

/// One batch per resource of `request`, its spans in order.
pub fn batches_from_otlp(request: &ExportTraceServiceRequest) -> Vec<Batch> {
    request
        .resource_spans
        .iter()
        .map(|resource_spans| {
            let attributes = resource_spans.resource.as_ref().map(|r| r.attributes.as_slice()).unwrap_or_default();
            Batch {
                process: process(attributes),
                spans: resource_spans.scope_spans.iter().flat_map(|s| &s.spans).map(span).collect(),
            }
        })
        .collect()
}

/// `service.name` names the process; every other resource attribute is a process tag.
fn process(attributes: &[KeyValue]) -> Process {
    let mut process = Process::default();
    for attribute in attributes {
        match (attribute.key.as_str(), attribute.value.as_ref().and_then(|v| v.value.as_ref())) {
            ("service.name", Some(Value::StringValue(name))) => process.service_name = name.clone(),
            _ => process.tags.push(Tag { key: attribute.key.clone(), value: tag_value(attribute.value.as_ref()) }),
        }
    }
    process
}

fn span(span: &OtlpSpan) -> Span {
    let mut span_tags = tags(&span.attributes);
    if let Some(kind) = span_kind::jaeger_tag(span_kind::from_otlp(span.kind)) {
        span_tags.push(Tag::string("span.kind", kind));
    }
    if span.status.as_ref().is_some_and(|s| s.code == StatusCode::Error as i32) {
        span_tags.push(Tag { key: "error".into(), value: TagValue::Bool(true) });
    }
    Span {
        trace_id: span.trace_id.as_slice().try_into().unwrap_or([0; 16]),
        span_id: span.span_id.as_slice().try_into().unwrap_or([0; 8]),
        parent_span_id: span.parent_span_id.as_slice().try_into().unwrap_or([0; 8]),
        operation_name: span.name.clone(),
        references: Vec::new(),
        flags: 1,
        start_time_unix_nano: span.start_time_unix_nano,
        duration_nanos: span.end_time_unix_nano.saturating_sub(span.start_time_unix_nano),
        tags: span_tags,
        logs: span
            .events
            .iter()
            .map(|event| {
                let mut fields = vec![Tag::string("event", event.name.clone())];
                fields.extend(tags(&event.attributes));
                Log { timestamp_unix_nano: event.time_unix_nano, fields }
            })
            .collect(),
        process: None,
    }
}

fn tags(attributes: &[KeyValue]) -> Vec<Tag> {
    attributes.iter().map(|a| Tag { key: a.key.clone(), value: tag_value(a.value.as_ref()) }).collect()
}

/// Scalars keep their type; arrays, maps and absent values have no Jaeger type and become "".
fn tag_value(value: Option<&AnyValue>) -> TagValue {
    match value.and_then(|v| v.value.as_ref()) {
        Some(Value::BoolValue(v)) => TagValue::Bool(*v),
        Some(Value::IntValue(v)) => TagValue::Int64(*v),
        Some(Value::DoubleValue(v)) => TagValue::Float64(*v),
        Some(Value::BytesValue(v)) => TagValue::Binary(v.clone()),
        Some(Value::StringValue(v)) => TagValue::String(v.clone()),
        _ => TagValue::String(String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::span_kind::SpanKind;
    use opentelemetry_proto::tonic::common::v1::ArrayValue;
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::span::Event;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Status};

    fn attribute(key: &str, value: Value) -> KeyValue {
        KeyValue { key: key.into(), value: Some(AnyValue { value: Some(value) }), ..Default::default() }
    }

    fn request(resources: Vec<(&str, Vec<OtlpSpan>)>) -> ExportTraceServiceRequest {
        let resource_spans = resources
            .into_iter()
            .map(|(service, spans)| ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![
                        attribute("service.name", Value::StringValue(service.into())),
                        attribute("host.name", Value::StringValue("pod-1".into())),
                    ],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans { spans, ..Default::default() }],
                ..Default::default()
            })
            .collect();
        ExportTraceServiceRequest { resource_spans }
    }

    #[test]
    fn each_resource_becomes_one_batch_named_by_its_service() {
        let spans = |n: u8| (0..n).map(|i| OtlpSpan { span_id: vec![i + 1; 8], ..Default::default() }).collect();
        let batches = batches_from_otlp(&request(vec![("cart", spans(2)), ("payment", spans(1))]));
        assert_eq!(batches.len(), 2);
        assert_eq!(batches[0].process.service_name, "cart");
        assert_eq!(batches[0].process.tags, vec![Tag::string("host.name", "pod-1")]);
        assert_eq!(batches[0].spans.len(), 2);
        assert_eq!(batches[1].process.service_name, "payment");
        assert!(batches.iter().flat_map(|b| &b.spans).all(|s| s.process.is_none()));
    }

    #[test]
    fn kind_and_error_status_become_tags_and_events_become_logs() {
        let otlp = OtlpSpan {
            trace_id: vec![7; 16],
            span_id: vec![2; 8],
            parent_span_id: vec![1; 8],
            name: "GET /cart".into(),
            kind: SpanKind::Client as i32,
            start_time_unix_nano: 1_000,
            end_time_unix_nano: 4_000,
            attributes: vec![
                attribute("http.response.status_code", Value::IntValue(503)),
                attribute("list", Value::ArrayValue(ArrayValue::default())),
            ],
            events: vec![Event {
                time_unix_nano: 2_000,
                name: "retry".into(),
                attributes: vec![attribute("retry.attempt", Value::IntValue(1))],
                dropped_attributes_count: 0,
            }],
            status: Some(Status { code: StatusCode::Error as i32, message: "unavailable".into() }),
            ..Default::default()
        };
        let batches = batches_from_otlp(&request(vec![("cart", vec![otlp])]));
        let span = &batches[0].spans[0];
        assert_eq!((span.trace_id, span.span_id, span.parent_span_id), ([7; 16], [2; 8], [1; 8]));
        assert_eq!(span.operation_name, "GET /cart");
        assert_eq!((span.start_time_unix_nano, span.duration_nanos, span.flags), (1_000, 3_000, 1));
        assert_eq!(
            span.tags,
            vec![
                Tag { key: "http.response.status_code".into(), value: TagValue::Int64(503) },
                Tag::string("list", ""),
                Tag::string("span.kind", "client"),
                Tag { key: "error".into(), value: TagValue::Bool(true) },
            ]
        );
        assert_eq!(
            span.logs,
            vec![Log {
                timestamp_unix_nano: 2_000,
                fields: vec![
                    Tag::string("event", "retry"),
                    Tag { key: "retry.attempt".into(), value: TagValue::Int64(1) }
                ],
            }]
        );
    }

    #[test]
    fn a_root_span_without_kind_or_status_gets_neither_tag() {
        let otlp = OtlpSpan { span_id: vec![1; 8], ..Default::default() };
        let batches = batches_from_otlp(&request(vec![("cart", vec![otlp])]));
        let span = &batches[0].spans[0];
        assert_eq!(span.parent_span_id, [0; 8]);
        assert!(span.tags.is_empty());
    }
}
