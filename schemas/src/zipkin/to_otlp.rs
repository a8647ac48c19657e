//! Zipkin v2 spans → OTLP, following the OpenTelemetry Collector's Zipkin translation (the one a
//! Jaeger v2 collector runs): local service → resource, resource-like tags moved to the resource,
//! `otel.scope.*`/`otel.library.*` tags → scope, kind, status from `otel.status_code`/`error`,
//! endpoints → network attributes, annotations → events.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value::Value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::{Event, SpanKind};
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span as OtlpSpan, Status};

use super::{Endpoint, Span};
use crate::jaeger::to_otlp::{put, remove, str_of, string_value};
use crate::span_kind;

/// Tag keys that describe the process rather than the span, moved to the resource.
const RESOURCE_KEYS: &[&str] = &[
    "service.name",
    "service.namespace",
    "service.version",
    "service.instance.id",
    "telemetry.auto.version",
    "deployment.environment",
    "opencensus.starttime",
    "opencensus.exporterversion",
    "opencensus.resourcetype",
];
const RESOURCE_PREFIXES: &[&str] = &[
    "host.",
    "os.",
    "process.",
    "telemetry.sdk.",
    "k8s.",
    "cloud.",
    "container.",
    "aws.",
    "faas.",
    "device.",
    "webengine.",
];

fn is_resource_key(key: &str) -> bool {
    RESOURCE_KEYS.contains(&key) || RESOURCE_PREFIXES.iter().any(|prefix| key.starts_with(prefix))
}

/// Convert decoded Zipkin spans into one OTLP request.
pub fn spans_to_otlp(spans: Vec<Span>) -> ExportTraceServiceRequest {
    // (local service, its resource, scopes in first-seen order)
    let mut groups: Vec<(String, ResourceSpans)> = Vec::new();
    for span in spans {
        let service = span.local_endpoint.as_ref().and_then(|e| e.service_name.clone()).unwrap_or_default();
        let (resource_tags, scope, otlp) = span_to_otlp(span);
        let index = match groups.iter().position(|(s, _)| *s == service) {
            Some(index) => index,
            None => {
                // The first span of a service names its resource.
                let mut attributes = Vec::new();
                if !service.is_empty() {
                    put(&mut attributes, "service.name", string_value(&service));
                    for (key, value) in &resource_tags {
                        put(&mut attributes, key, string_value(value));
                    }
                }
                groups.push((
                    service,
                    ResourceSpans {
                        resource: Some(Resource { attributes, ..Default::default() }),
                        ..Default::default()
                    },
                ));
                groups.len() - 1
            }
        };
        let scopes = &mut groups[index].1.scope_spans;
        match scopes.iter_mut().find(|s| s.scope.as_ref() == Some(&scope)) {
            Some(scope_spans) => scope_spans.spans.push(otlp),
            None => scopes.push(ScopeSpans { scope: Some(scope), spans: vec![otlp], schema_url: String::new() }),
        }
    }
    ExportTraceServiceRequest { resource_spans: groups.into_iter().map(|(_, r)| r).collect() }
}

type ResourceTags = Vec<(String, String)>;

fn span_to_otlp(span: Span) -> (ResourceTags, InstrumentationScope, OtlpSpan) {
    let mut resource_tags = Vec::new();
    let mut scope = InstrumentationScope::default();
    let mut library = InstrumentationScope::default();
    let mut attributes: Vec<KeyValue> = Vec::with_capacity(span.tags.len() + 4);
    for (key, value) in span.tags {
        match key.as_str() {
            "otel.scope.name" => scope.name = value,
            "otel.scope.version" => scope.version = value,
            "otel.library.name" => library.name = value,
            "otel.library.version" => library.version = value,
            _ if is_resource_key(&key) => resource_tags.push((key, value)),
            _ => put(&mut attributes, &key, string_value(&value)),
        }
    }
    if scope.name.is_empty() {
        scope.name = library.name;
    }
    if scope.version.is_empty() {
        scope.version = library.version;
    }

    // Zipkin has no internal kind: without a kind, only a `span.kind` tag of `internal` names one.
    let kind = match span.kind {
        Some(kind) => span_kind::from_zipkin(kind),
        None => remove(&mut attributes, "span.kind")
            .and_then(|v| span_kind::from_name(str_of(&v)))
            .filter(|kind| *kind == SpanKind::Internal)
            .unwrap_or(SpanKind::Unspecified),
    };
    let status = status(&mut attributes);
    let trace_state = remove(&mut attributes, "w3c.tracestate").map(|v| str_of(&v).to_string()).unwrap_or_default();

    if let Some(local) = &span.local_endpoint {
        endpoint_attributes(&mut attributes, local, "network.local.address", "net.host.port", None);
    }
    if let Some(remote) = &span.remote_endpoint {
        endpoint_attributes(
            &mut attributes,
            remote,
            "network.peer.address",
            "net.peer.port",
            Some("service.peer.name"),
        );
    }
    let start = match span.timestamp {
        Some(micros) => micros.saturating_mul(1_000),
        None => {
            put(&mut attributes, "otel.zipkin.absentField.startTime", AnyValue { value: Some(Value::BoolValue(true)) });
            0
        }
    };
    let events = span
        .annotations
        .into_iter()
        .map(|annotation| Event {
            time_unix_nano: annotation.timestamp.saturating_mul(1_000),
            name: annotation.value.split('|').next().unwrap_or_default().to_string(),
            attributes: Vec::new(),
            dropped_attributes_count: 0,
        })
        .collect();
    let otlp = OtlpSpan {
        trace_id: span.trace_id.to_vec(),
        span_id: span.id.to_vec(),
        trace_state,
        parent_span_id: span.parent_id.filter(|parent| *parent != span.id).map(|id| id.to_vec()).unwrap_or_default(),
        name: span.name.unwrap_or_default(),
        kind: kind as i32,
        start_time_unix_nano: start,
        end_time_unix_nano: start.saturating_add(span.duration.unwrap_or(0).saturating_mul(1_000)),
        attributes,
        events,
        status,
        ..Default::default()
    };
    (resource_tags, scope, otlp)
}

fn endpoint_attributes(
    attributes: &mut Vec<KeyValue>,
    endpoint: &Endpoint,
    address_key: &str,
    port_key: &str,
    service_key: Option<&str>,
) {
    if let (Some(key), Some(name)) = (service_key, endpoint.service_name.as_deref().filter(|n| !n.is_empty())) {
        put(attributes, key, string_value(name));
    }
    // IPv6 wins when both are given, as in OTel's translation.
    let address = endpoint.ipv6.map(|ip| ip.to_string()).or_else(|| endpoint.ipv4.map(|ip| ip.to_string()));
    if let Some(address) = address {
        put(attributes, address_key, string_value(&address));
    }
    if let Some(port) = endpoint.port {
        put(attributes, port_key, AnyValue { value: Some(Value::IntValue(i64::from(port))) });
    }
}

/// `otel.status_code` in OTel's spellings, then an `error` tag of any value means ERROR.
fn status(attributes: &mut Vec<KeyValue>) -> Option<Status> {
    let mut status = None;
    if let Some(code) = remove(attributes, "otel.status_code") {
        let code = match str_of(&code) {
            "STATUS_CODE_OK" | "Ok" => Some(StatusCode::Ok),
            "STATUS_CODE_ERROR" | "Error" => Some(StatusCode::Error),
            "STATUS_CODE_UNSET" | "Unset" => Some(StatusCode::Unset),
            _ => None,
        };
        if let Some(code) = code {
            let message = remove(attributes, "otel.status_description").map(|v| str_of(&v).to_string());
            status = Some(Status { code: code as i32, message: message.unwrap_or_default() });
        }
    }
    if let Some(error) = crate::jaeger::to_otlp::get(attributes, "error") {
        let exactly_true = str_of(error) == "true";
        let message = status.take().map(|s| s.message).unwrap_or_default();
        status = Some(Status { code: StatusCode::Error as i32, message });
        if exactly_true {
            remove(attributes, "error");
        }
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zipkin::json::decode_spans;

    fn keys(attributes: &[KeyValue]) -> Vec<&str> {
        attributes.iter().map(|a| a.key.as_str()).collect()
    }

    #[test]
    fn a_client_span_becomes_otlp_with_resource_scope_endpoints_and_status() {
        let body = br#"[{"traceId":"5af7183fb1d4cf5f","parentId":"6b221d5bc9e6496c","id":"352bff9a74ca9ad2",
            "kind":"CLIENT","name":"get /api","timestamp":1556604172355737,"duration":1431,
            "localEndpoint":{"serviceName":"backend","ipv4":"192.168.99.1","port":3306},
            "remoteEndpoint":{"serviceName":"db","ipv6":"::1","port":5432},
            "annotations":[{"timestamp":1556604172355800,"value":"wire.send"}],
            "tags":{"http.method":"GET","host.name":"h1","otel.library.name":"lib","otel.status_code":"Error",
                    "otel.status_description":"boom","error":"true"}}]"#;
        let request = spans_to_otlp(decode_spans(body).unwrap());
        let resource_spans = &request.resource_spans[0];
        let resource = resource_spans.resource.as_ref().unwrap();
        assert_eq!(keys(&resource.attributes), ["service.name", "host.name"]);
        let scope_spans = &resource_spans.scope_spans[0];
        assert_eq!(scope_spans.scope.as_ref().unwrap().name, "lib");
        let span = &scope_spans.spans[0];
        assert_eq!(span.kind, SpanKind::Client as i32);
        assert_eq!(span.status, Some(Status { code: 2, message: "boom".into() }));
        assert_eq!(
            keys(&span.attributes),
            [
                "http.method",
                "network.local.address",
                "net.host.port",
                "service.peer.name",
                "network.peer.address",
                "net.peer.port"
            ]
        );
        assert_eq!(span.start_time_unix_nano, 1_556_604_172_355_737_000);
        assert_eq!(span.end_time_unix_nano - span.start_time_unix_nano, 1_431_000);
        assert_eq!(span.events[0].name, "wire.send");
        assert_eq!(hex::encode(&span.parent_span_id), "6b221d5bc9e6496c");
    }

    #[test]
    fn an_error_tag_of_any_value_is_an_error_and_stays_unless_true() {
        let body = br#"[{"traceId":"1","id":"2","tags":{"error":"timeout"}},{"traceId":"1","id":"3"}]"#;
        let request = spans_to_otlp(decode_spans(body).unwrap());
        let spans = &request.resource_spans[0].scope_spans[0].spans;
        assert_eq!(spans[0].status.as_ref().unwrap().code, 2);
        assert_eq!(keys(&spans[0].attributes), ["error", "otel.zipkin.absentField.startTime"]);
        assert_eq!(spans[1].status, None);
        assert!(request.resource_spans[0].resource.as_ref().unwrap().attributes.is_empty());
    }
}

/// A Zipkin span through skein (JSON → OTLP → Elasticsearch document) compared with the document
/// Jaeger v2 writes for it (its Zipkin receiver's translation and its Elasticsearch writer, with
/// `span.kind` and `error` stored as fields as skein's layout always does).
#[cfg(test)]
mod round_trip {
    use super::*;
    use crate::jaeger::{span_documents, TraceIdFormat};
    use crate::zipkin::json::decode_spans;
    use opentelemetry_proto::tonic::trace::v1::TracesData;

    #[test]
    fn zipkin_span_becomes_the_document_jaeger_writes() {
        let body = br#"[{"traceId":"5af7183fb1d4cf5f","parentId":"6b221d5bc9e6496c","id":"352bff9a74ca9ad2",
            "kind":"CLIENT","name":"get /api","timestamp":1556604172355737,"duration":1431,
            "localEndpoint":{"serviceName":"backend","ipv4":"192.168.99.1","port":3306},
            "remoteEndpoint":{"serviceName":"db","ipv4":"10.0.0.5","port":5432},
            "annotations":[{"timestamp":1556604172355800,"value":"wr"}],
            "tags":{"http.method":"GET","error":"true"}}]"#;
        let request = spans_to_otlp(decode_spans(body).unwrap());
        let data = TracesData { resource_spans: request.resource_spans };
        let documents = span_documents(&data, TraceIdFormat::Full);
        let document: serde_json::Value = serde_json::from_slice(&documents[0].body).unwrap();
        let expected = serde_json::json!({
            "traceID": "00000000000000005af7183fb1d4cf5f",
            "spanID": "352bff9a74ca9ad2",
            "parentSpanID": "6b221d5bc9e6496c",
            "operationName": "get /api",
            "references": [
                {"refType": "CHILD_OF", "traceID": "00000000000000005af7183fb1d4cf5f", "spanID": "6b221d5bc9e6496c"}
            ],
            "startTime": 1_556_604_172_355_737u64,
            "startTimeMillis": 1_556_604_172_355u64,
            "duration": 1431,
            // `error` = "true" is consumed into an ERROR status, which comes back as error=true.
            "tags": [
                {"key": "http.method", "type": "string", "value": "GET"},
                {"key": "network.local.address", "type": "string", "value": "192.168.99.1"},
                {"key": "net.host.port", "type": "int64", "value": 3306},
                {"key": "service.peer.name", "type": "string", "value": "db"},
                {"key": "network.peer.address", "type": "string", "value": "10.0.0.5"},
                {"key": "net.peer.port", "type": "int64", "value": 5432}
            ],
            "tag": {"span@kind": "client", "error": true},
            "logs": [{"timestamp": 1_556_604_172_355_800u64, "fields": [
                {"key": "event", "type": "string", "value": "wr"}
            ]}],
            "process": {"serviceName": "backend", "tags": []}
        });
        assert_eq!(document, expected, "{}", serde_json::to_string_pretty(&document).unwrap());
    }
}
