//! OTLP → Zipkin v2 spans, as a Zipkin reporter would send the same spans: the resource's
//! `service.name` as local endpoint, attributes as string tags (plus `error=true` for an ERROR
//! status), events as annotations, times in µs. INTERNAL spans have no Zipkin kind.

use crate::span_kind;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value::Value, KeyValue};
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::Span as OtlpSpan;

use super::{Annotation, Endpoint, Span};

/// Every span of `request`, in order.
pub fn spans_from_otlp(request: &ExportTraceServiceRequest) -> Vec<Span> {
    let mut spans = Vec::new();
    for resource_spans in &request.resource_spans {
        let attributes = resource_spans.resource.as_ref().map(|r| r.attributes.as_slice()).unwrap_or_default();
        let service = service_name(attributes);
        for otlp in resource_spans.scope_spans.iter().flat_map(|s| &s.spans) {
            spans.push(span(otlp, &service));
        }
    }
    spans
}

/// The last `service.name`, as a map of the attributes would hold it.
fn service_name(attributes: &[KeyValue]) -> String {
    attributes
        .iter()
        .rev()
        .find_map(|a| match (a.key.as_str(), a.value.as_ref().and_then(|v| v.value.as_ref())) {
            ("service.name", Some(Value::StringValue(name))) => Some(name.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

fn span(span: &OtlpSpan, service: &str) -> Span {
    let mut tags: Vec<(String, String)> = span.attributes.iter().map(|a| (a.key.clone(), tag_text(a))).collect();
    if span.status.as_ref().is_some_and(|s| s.code == StatusCode::Error as i32) {
        tags.push(("error".into(), "true".into()));
    }
    Span {
        trace_id: span.trace_id.as_slice().try_into().unwrap_or([0; 16]),
        parent_id: span.parent_span_id.as_slice().try_into().ok(),
        id: span.span_id.as_slice().try_into().unwrap_or([0; 8]),
        kind: span_kind::to_zipkin(span_kind::from_otlp(span.kind)),
        name: Some(span.name.clone()),
        timestamp: Some(span.start_time_unix_nano / 1_000),
        duration: Some(span.end_time_unix_nano.saturating_sub(span.start_time_unix_nano) / 1_000),
        local_endpoint: Some(Endpoint { service_name: Some(service.to_string()), ..Default::default() }),
        remote_endpoint: None,
        annotations: span
            .events
            .iter()
            .map(|e| Annotation { timestamp: e.time_unix_nano / 1_000, value: e.name.clone() })
            .collect(),
        tags,
        debug: false,
        shared: false,
    }
}

/// Zipkin tags are strings: scalars as their text, anything else as "".
fn tag_text(attribute: &KeyValue) -> String {
    match attribute.value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(Value::StringValue(v)) => v.clone(),
        Some(Value::BoolValue(v)) => v.to_string(),
        Some(Value::IntValue(v)) => v.to_string(),
        Some(Value::DoubleValue(v)) => v.to_string(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::span_kind::SpanKind;
    use crate::zipkin::Kind;
    use opentelemetry_proto::tonic::common::v1::AnyValue;
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::span::Event;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Status};

    fn attribute(key: &str, value: Value) -> KeyValue {
        KeyValue { key: key.into(), value: Some(AnyValue { value: Some(value) }), ..Default::default() }
    }

    fn request(spans: Vec<OtlpSpan>) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![
                        attribute("host.name", Value::StringValue("pod-1".into())),
                        attribute("service.name", Value::StringValue("cart".into())),
                    ],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans { spans, ..Default::default() }],
                ..Default::default()
            }],
        }
    }

    #[test]
    fn a_span_is_written_in_microseconds_under_its_service() {
        let otlp = OtlpSpan {
            trace_id: vec![7; 16],
            span_id: vec![2; 8],
            parent_span_id: vec![1; 8],
            name: "GET /cart".into(),
            kind: SpanKind::Server as i32,
            start_time_unix_nano: 5_000_000,
            end_time_unix_nano: 7_500_000,
            attributes: vec![
                attribute("http.route", Value::StringValue("/cart".into())),
                attribute("cache.hit", Value::BoolValue(true)),
                attribute("rows", Value::IntValue(3)),
                attribute("ratio", Value::DoubleValue(0.5)),
            ],
            events: vec![Event { time_unix_nano: 6_000_000, name: "retry".into(), ..Default::default() }],
            status: Some(Status { code: StatusCode::Error as i32, message: String::new() }),
            ..Default::default()
        };
        let spans = spans_from_otlp(&request(vec![otlp]));
        let span = &spans[0];
        assert_eq!((span.trace_id, span.parent_id, span.id), ([7; 16], Some([1; 8]), [2; 8]));
        assert_eq!(span.kind, Some(Kind::Server));
        assert_eq!((span.timestamp, span.duration), (Some(5_000), Some(2_500)));
        assert_eq!(span.local_endpoint.as_ref().unwrap().service_name.as_deref(), Some("cart"));
        assert_eq!(span.annotations, vec![Annotation { timestamp: 6_000, value: "retry".into() }]);
        let tags: Vec<(&str, &str)> = span.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            tags,
            [("http.route", "/cart"), ("cache.hit", "true"), ("rows", "3"), ("ratio", "0.5"), ("error", "true")]
        );
    }

    #[test]
    fn a_root_internal_span_has_no_parent_and_no_kind() {
        let otlp = OtlpSpan { span_id: vec![1; 8], kind: SpanKind::Internal as i32, ..Default::default() };
        let spans = spans_from_otlp(&request(vec![otlp]));
        assert_eq!(spans[0].parent_id, None);
        assert_eq!(spans[0].kind, None);
        assert!(spans[0].tags.is_empty());
    }
}
