//! The load generator's requests in Jaeger's and Zipkin's wire formats: generated OTLP traces
//! expressed as the batches a Jaeger or Zipkin client would send for them.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value::Value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::Span as OtlpSpan;
use skein_schemas::jaeger::model::{Batch, Log, Process, Span, Tag, TagValue};
use skein_schemas::jaeger::thrift::encode_agent_message;
use skein_schemas::thrift::Protocol;
use skein_schemas::zipkin;

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

fn tags(attributes: &[KeyValue]) -> Vec<Tag> {
    attributes.iter().map(|a| Tag { key: a.key.clone(), value: tag_value(a.value.as_ref()) }).collect()
}

fn kind_name(kind: i32) -> Option<&'static str> {
    match SpanKind::try_from(kind).unwrap_or(SpanKind::Unspecified) {
        SpanKind::Server => Some("server"),
        SpanKind::Client => Some("client"),
        SpanKind::Producer => Some("producer"),
        SpanKind::Consumer => Some("consumer"),
        SpanKind::Internal => Some("internal"),
        SpanKind::Unspecified => None,
    }
}

fn jaeger_span(span: &OtlpSpan, process: Option<Process>) -> Span {
    let mut span_tags = tags(&span.attributes);
    if let Some(kind) = kind_name(span.kind) {
        span_tags.push(Tag::string("span.kind", kind));
    }
    if span.status.as_ref().is_some_and(|s| s.code == 2) {
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
        process,
    }
}

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

/// One Jaeger batch per resource (a Jaeger client reports one process per batch).
pub fn jaeger_batches(request: &ExportTraceServiceRequest) -> Vec<Batch> {
    request
        .resource_spans
        .iter()
        .map(|resource_spans| {
            let attributes = resource_spans.resource.as_ref().map(|r| r.attributes.as_slice()).unwrap_or_default();
            Batch {
                process: process(attributes),
                spans: resource_spans.scope_spans.iter().flat_map(|s| &s.spans).map(|s| jaeger_span(s, None)).collect(),
            }
        })
        .collect()
}

/// Agent datagrams no larger than `max_bytes`: each batch split until it fits.
pub fn udp_datagrams(batches: Vec<Batch>, protocol: Protocol, max_bytes: usize) -> Vec<Vec<u8>> {
    let mut datagrams = Vec::new();
    let mut pending = batches;
    while let Some(batch) = pending.pop() {
        let bytes = encode_agent_message(&batch, protocol);
        if bytes.len() <= max_bytes || batch.spans.len() <= 1 {
            datagrams.push(bytes);
            continue;
        }
        let mut first = batch;
        let second = Batch { process: first.process.clone(), spans: first.spans.split_off(first.spans.len() / 2) };
        pending.push(first);
        pending.push(second);
    }
    datagrams
}

/// The spans as a Zipkin reporter would send them.
pub fn zipkin_spans(request: &ExportTraceServiceRequest) -> Vec<zipkin::Span> {
    let mut spans = Vec::new();
    for resource_spans in &request.resource_spans {
        let attributes = resource_spans.resource.as_ref().map(|r| r.attributes.as_slice()).unwrap_or_default();
        let service = process(attributes).service_name;
        for span in resource_spans.scope_spans.iter().flat_map(|s| &s.spans) {
            let mut tags: Vec<(String, String)> = span
                .attributes
                .iter()
                .map(|a| {
                    let text = match a.value.as_ref().and_then(|v| v.value.as_ref()) {
                        Some(Value::StringValue(v)) => v.clone(),
                        Some(Value::BoolValue(v)) => v.to_string(),
                        Some(Value::IntValue(v)) => v.to_string(),
                        Some(Value::DoubleValue(v)) => v.to_string(),
                        _ => String::new(),
                    };
                    (a.key.clone(), text)
                })
                .collect();
            if span.status.as_ref().is_some_and(|s| s.code == 2) {
                tags.push(("error".into(), "true".into()));
            }
            spans.push(zipkin::Span {
                trace_id: span.trace_id.as_slice().try_into().unwrap_or([0; 16]),
                parent_id: span.parent_span_id.as_slice().try_into().ok(),
                id: span.span_id.as_slice().try_into().unwrap_or([0; 8]),
                kind: match SpanKind::try_from(span.kind).unwrap_or(SpanKind::Unspecified) {
                    SpanKind::Server => Some(zipkin::Kind::Server),
                    SpanKind::Client => Some(zipkin::Kind::Client),
                    SpanKind::Producer => Some(zipkin::Kind::Producer),
                    SpanKind::Consumer => Some(zipkin::Kind::Consumer),
                    _ => None,
                },
                name: Some(span.name.clone()),
                timestamp: Some(span.start_time_unix_nano / 1_000),
                duration: Some(span.end_time_unix_nano.saturating_sub(span.start_time_unix_nano) / 1_000),
                local_endpoint: Some(zipkin::Endpoint { service_name: Some(service.clone()), ..Default::default() }),
                remote_endpoint: None,
                annotations: span
                    .events
                    .iter()
                    .map(|e| zipkin::Annotation { timestamp: e.time_unix_nano / 1_000, value: e.name.clone() })
                    .collect(),
                tags,
                debug: false,
                shared: false,
            });
        }
    }
    spans
}

/// Zipkin v2 JSON, as reporters write it.
pub fn zipkin_json(spans: &[zipkin::Span]) -> Vec<u8> {
    use serde_json::{json, Map, Value as Json};
    let list: Vec<Json> = spans
        .iter()
        .map(|span| {
            let mut object = Map::new();
            object.insert("traceId".into(), json!(hex::encode(span.trace_id)));
            if let Some(parent) = span.parent_id {
                object.insert("parentId".into(), json!(hex::encode(parent)));
            }
            object.insert("id".into(), json!(hex::encode(span.id)));
            if let Some(kind) = span.kind {
                object.insert("kind".into(), json!(format!("{kind:?}").to_ascii_uppercase()));
            }
            object.insert("name".into(), json!(span.name));
            object.insert("timestamp".into(), json!(span.timestamp));
            object.insert("duration".into(), json!(span.duration));
            let service = span.local_endpoint.as_ref().and_then(|e| e.service_name.clone());
            object.insert("localEndpoint".into(), json!({ "serviceName": service }));
            let annotations: Vec<Json> =
                span.annotations.iter().map(|a| json!({"timestamp": a.timestamp, "value": a.value})).collect();
            object.insert("annotations".into(), Json::Array(annotations));
            let tags: Map<String, Json> = span.tags.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
            object.insert("tags".into(), Json::Object(tags));
            Json::Object(object)
        })
        .collect();
    serde_json::to_vec(&list).expect("JSON serializes")
}
