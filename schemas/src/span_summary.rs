//! The few fields of each span that analytics needs, read straight from a span record's protobuf
//! framing: no decode into owned structs, no allocation per span. Reading stops at the first
//! malformed field, so a record is either read whole or refused whole.

use crate::jaeger::NO_SERVICE_NAME;
use crate::otlp_wire::{Field, Fields, WireError, FIXED64, LEN, VARINT};

/// OTLP `Span.SpanKind` values, as the integers a summary holds.
pub mod kind {
    use crate::span_kind::{self, SpanKind};

    pub const UNSPECIFIED: i32 = SpanKind::Unspecified as i32;
    pub const INTERNAL: i32 = SpanKind::Internal as i32;
    pub const SERVER: i32 = SpanKind::Server as i32;
    pub const CLIENT: i32 = SpanKind::Client as i32;
    pub const PRODUCER: i32 = SpanKind::Producer as i32;
    pub const CONSUMER: i32 = SpanKind::Consumer as i32;

    /// The `span.kind` tag value Jaeger gives a kind (`""` for unspecified or unknown).
    pub fn jaeger_name(kind: i32) -> &'static str {
        span_kind::jaeger_tag(span_kind::from_otlp(kind)).unwrap_or("")
    }
}

/// OTLP `Status.StatusCode.STATUS_CODE_ERROR`.
const STATUS_ERROR: u64 = 2;

/// One span, borrowed from the record.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanSummary<'a> {
    pub trace_id: &'a [u8],
    /// The 8-byte span id as a big-endian integer.
    pub span_id: u64,
    /// 0 when the span is a root.
    pub parent_span_id: u64,
    /// `service.name` of the resource, with Jaeger's fallbacks.
    pub service: &'a str,
    pub name: &'a str,
    pub kind: i32,
    pub start_time_unix_nano: u64,
    pub end_time_unix_nano: u64,
    /// Status ERROR, or an `error` attribute that is `true` (bool or string).
    pub error: bool,
    /// The `peer.service` attribute (or `service.peer.name`, its newer name).
    pub peer_service: Option<&'a str>,
    /// The encoded span, for duplicate detection.
    pub bytes: &'a [u8],
}

impl SpanSummary<'_> {
    pub fn duration_nanos(&self) -> u64 {
        self.end_time_unix_nano.saturating_sub(self.start_time_unix_nano)
    }
}

fn error(what: String) -> WireError {
    WireError(what)
}

fn expect_wire_type(field: &Field<'_>, wire_type: u8, what: &str) -> Result<(), WireError> {
    if field.wire_type == wire_type {
        Ok(())
    } else {
        Err(error(format!("{what} has wire type {} where {wire_type} was expected", field.wire_type)))
    }
}

fn utf8<'a>(bytes: &'a [u8], what: &str) -> Result<&'a str, WireError> {
    std::str::from_utf8(bytes).map_err(|_| error(format!("{what} is not valid UTF-8")))
}

fn span_id(bytes: &[u8], what: &str) -> Result<u64, WireError> {
    match bytes.len() {
        0 => Ok(0),
        8 => Ok(u64::from_be_bytes(bytes.try_into().expect("8 bytes"))),
        n => Err(error(format!("{what} is {n} bytes; span ids are 8"))),
    }
}

/// Visit every span of an encoded `TracesData` / `ExportTraceServiceRequest`. `links` receives the
/// span ids of each span's links (cleared per span) before `visit` sees the span. Returns the
/// number of spans visited.
pub fn for_each_span<'a>(
    record: &'a [u8],
    links: &mut Vec<u64>,
    mut visit: impl FnMut(&SpanSummary<'a>, &[u64]),
) -> Result<usize, WireError> {
    let mut count = 0;
    let mut resources = Fields::new(record, "TracesData");
    while let Some(resource) = resources.next_field()? {
        if resource.number != 1 {
            continue;
        }
        expect_wire_type(&resource, LEN, "TracesData.resource_spans")?;
        // The resource usually precedes the scopes, but protobuf allows any order: find it first.
        let mut service = NO_SERVICE_NAME;
        let mut fields = Fields::new(resource.payload, "ResourceSpans");
        while let Some(field) = fields.next_field()? {
            if field.number == 1 {
                expect_wire_type(&field, LEN, "ResourceSpans.resource")?;
                service = service_name(field.payload)?;
            }
        }
        let mut fields = Fields::new(resource.payload, "ResourceSpans");
        while let Some(scope) = fields.next_field()? {
            if scope.number != 2 {
                continue;
            }
            expect_wire_type(&scope, LEN, "ResourceSpans.scope_spans")?;
            let mut spans = Fields::new(scope.payload, "ScopeSpans");
            while let Some(span) = spans.next_field()? {
                if span.number != 2 {
                    continue;
                }
                expect_wire_type(&span, LEN, "ScopeSpans.spans")?;
                links.clear();
                let summary = read_span(span.payload, service, links)?;
                visit(&summary, links);
                count += 1;
            }
        }
    }
    Ok(count)
}

/// `service.name` of an encoded `Resource`: Jaeger's translation uses `OTLPResourceNoServiceName`
/// for a resource without attributes and an empty name when only `service.name` is missing.
fn service_name(resource: &[u8]) -> Result<&str, WireError> {
    let mut service = NO_SERVICE_NAME;
    let mut fields = Fields::new(resource, "Resource");
    while let Some(field) = fields.next_field()? {
        if field.number != 1 {
            continue;
        }
        expect_wire_type(&field, LEN, "Resource.attributes")?;
        if service == NO_SERVICE_NAME {
            service = "";
        }
        if let Some((key, value)) = key_value(field.payload)? {
            if key == "service.name" {
                service = value.as_str().unwrap_or("");
            }
        }
    }
    Ok(service)
}

/// An attribute value, as far as analytics looks at it.
enum Value<'a> {
    Str(&'a str),
    Bool(bool),
    Other,
}

impl<'a> Value<'a> {
    fn as_str(&self) -> Option<&'a str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
}

fn key_value(bytes: &[u8]) -> Result<Option<(&str, Value<'_>)>, WireError> {
    let mut key = None;
    let mut value = Value::Other;
    let mut fields = Fields::new(bytes, "KeyValue");
    while let Some(field) = fields.next_field()? {
        match field.number {
            1 => {
                expect_wire_type(&field, LEN, "KeyValue.key")?;
                key = Some(utf8(field.payload, "KeyValue.key")?);
            }
            2 => {
                expect_wire_type(&field, LEN, "KeyValue.value")?;
                value = Value::Other;
                let mut inner = Fields::new(field.payload, "AnyValue");
                while let Some(v) = inner.next_field()? {
                    value = match v.number {
                        1 => {
                            expect_wire_type(&v, LEN, "AnyValue.string_value")?;
                            Value::Str(utf8(v.payload, "AnyValue.string_value")?)
                        }
                        2 => {
                            expect_wire_type(&v, VARINT, "AnyValue.bool_value")?;
                            Value::Bool(v.fixed != 0)
                        }
                        _ => Value::Other,
                    };
                }
            }
            _ => {}
        }
    }
    Ok(key.map(|key| (key, value)))
}

fn read_span<'a>(bytes: &'a [u8], service: &'a str, links: &mut Vec<u64>) -> Result<SpanSummary<'a>, WireError> {
    let mut span = SpanSummary {
        trace_id: &[],
        span_id: 0,
        parent_span_id: 0,
        service,
        name: "",
        kind: kind::UNSPECIFIED,
        start_time_unix_nano: 0,
        end_time_unix_nano: 0,
        error: false,
        peer_service: None,
        bytes,
    };
    let mut status_error = false;
    let mut error_attribute = false;
    let mut fields = Fields::new(bytes, "Span");
    while let Some(field) = fields.next_field()? {
        match field.number {
            1 => {
                expect_wire_type(&field, LEN, "Span.trace_id")?;
                span.trace_id = field.payload;
            }
            2 => {
                expect_wire_type(&field, LEN, "Span.span_id")?;
                span.span_id = span_id(field.payload, "Span.span_id")?;
            }
            4 => {
                expect_wire_type(&field, LEN, "Span.parent_span_id")?;
                span.parent_span_id = span_id(field.payload, "Span.parent_span_id")?;
            }
            5 => {
                expect_wire_type(&field, LEN, "Span.name")?;
                span.name = utf8(field.payload, "Span.name")?;
            }
            6 => {
                expect_wire_type(&field, VARINT, "Span.kind")?;
                span.kind = field.fixed as i32;
            }
            7 => {
                expect_wire_type(&field, FIXED64, "Span.start_time_unix_nano")?;
                span.start_time_unix_nano = field.fixed;
            }
            8 => {
                expect_wire_type(&field, FIXED64, "Span.end_time_unix_nano")?;
                span.end_time_unix_nano = field.fixed;
            }
            9 => {
                expect_wire_type(&field, LEN, "Span.attributes")?;
                match key_value(field.payload)? {
                    Some(("peer.service", Value::Str(peer))) => span.peer_service = Some(peer),
                    // The newer name, which Zipkin's remoteEndpoint.serviceName becomes.
                    Some(("service.peer.name", Value::Str(peer))) if span.peer_service.is_none() => {
                        span.peer_service = Some(peer)
                    }
                    Some(("error", Value::Bool(on))) => error_attribute = on,
                    Some(("error", Value::Str(text))) => error_attribute = text == "true",
                    _ => {}
                }
            }
            13 => {
                expect_wire_type(&field, LEN, "Span.links")?;
                let mut link = Fields::new(field.payload, "Span.Link");
                while let Some(f) = link.next_field()? {
                    if f.number == 2 {
                        expect_wire_type(&f, LEN, "Span.Link.span_id")?;
                        let id = span_id(f.payload, "Span.Link.span_id")?;
                        if id != 0 {
                            links.push(id);
                        }
                    }
                }
            }
            15 => {
                expect_wire_type(&field, LEN, "Span.status")?;
                let mut status = Fields::new(field.payload, "Status");
                while let Some(f) = status.next_field()? {
                    if f.number == 3 {
                        expect_wire_type(&f, VARINT, "Status.code")?;
                        status_error = f.fixed == STATUS_ERROR;
                    }
                }
            }
            _ => {}
        }
    }
    if span.trace_id.len() != 16 {
        return Err(error(format!("Span.trace_id is {} bytes; trace ids are 16", span.trace_id.len())));
    }
    if span.span_id == 0 {
        return Err(error("Span.span_id is missing or zero".into()));
    }
    span.error = status_error || error_attribute;
    Ok(span)
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{span, ResourceSpans, ScopeSpans, Span, Status, TracesData};
    use prost::Message;

    fn kv(key: &str, value: any_value::Value) -> KeyValue {
        KeyValue { key: key.into(), value: Some(AnyValue { value: Some(value) }), ..Default::default() }
    }

    fn record(resource: Option<Resource>, spans: Vec<Span>) -> Vec<u8> {
        TracesData {
            resource_spans: vec![ResourceSpans {
                resource,
                scope_spans: vec![ScopeSpans { spans, ..Default::default() }],
                ..Default::default()
            }],
        }
        .encode_to_vec()
    }

    fn collect(bytes: &[u8]) -> Result<Vec<(SpanSummary<'_>, Vec<u64>)>, WireError> {
        let mut out = Vec::new();
        let mut links = Vec::new();
        for_each_span(bytes, &mut links, |span, links| out.push((span.clone(), links.to_vec())))?;
        Ok(out)
    }

    #[test]
    fn kind_numbers_get_jaegers_tag_values_and_unspecified_or_unknown_none() {
        assert_eq!(kind::jaeger_name(kind::SERVER), "server");
        assert_eq!(kind::jaeger_name(kind::CONSUMER), "consumer");
        assert_eq!(kind::jaeger_name(kind::UNSPECIFIED), "");
        assert_eq!(kind::jaeger_name(42), "");
    }

    #[test]
    fn reads_the_fields_analytics_needs() {
        let span = Span {
            trace_id: vec![7; 16],
            span_id: vec![0, 0, 0, 0, 0, 0, 0, 9],
            parent_span_id: vec![0, 0, 0, 0, 0, 0, 0, 3],
            name: "GET /".into(),
            kind: span::SpanKind::Client as i32,
            start_time_unix_nano: 100,
            end_time_unix_nano: 350,
            attributes: vec![
                kv("peer.service", any_value::Value::StringValue("redis".into())),
                kv("error", any_value::Value::StringValue("true".into())),
            ],
            links: vec![span::Link {
                trace_id: vec![7; 16],
                span_id: vec![0, 0, 0, 0, 0, 0, 0, 4],
                ..Default::default()
            }],
            ..Default::default()
        };
        let resource = Resource {
            attributes: vec![kv("service.name", any_value::Value::StringValue("web".into()))],
            ..Default::default()
        };
        let bytes = record(Some(resource), vec![span]);
        let spans = collect(&bytes).unwrap();
        let (s, links) = &spans[0];
        assert_eq!((s.span_id, s.parent_span_id, s.service, s.name), (9, 3, "web", "GET /"));
        assert_eq!((s.kind, s.duration_nanos(), s.error, s.peer_service), (kind::CLIENT, 250, true, Some("redis")));
        assert_eq!(links, &vec![4]);
    }

    #[test]
    fn status_error_marks_an_error_and_missing_service_follows_jaeger() {
        let span = Span {
            trace_id: vec![7; 16],
            span_id: vec![1; 8],
            status: Some(Status { code: 2, ..Default::default() }),
            ..Default::default()
        };
        let bytes = record(None, vec![span.clone()]);
        let (s, _) = &collect(&bytes).unwrap()[0];
        assert!(s.error);
        assert_eq!(s.service, NO_SERVICE_NAME);
        let other =
            Resource { attributes: vec![kv("host", any_value::Value::StringValue("h".into()))], ..Default::default() };
        let bytes = record(Some(other), vec![span]);
        assert_eq!(collect(&bytes).unwrap()[0].0.service, "");
    }

    #[test]
    fn malformed_records_are_refused_whole() {
        let span = Span { trace_id: vec![7; 16], span_id: vec![1; 8], ..Default::default() };
        let bytes = record(None, vec![span.clone()]);
        assert!(collect(&bytes[..bytes.len() - 2]).is_err());
        let short = Span { span_id: vec![1; 3], ..span };
        let error = collect(&record(None, vec![short])).unwrap_err().to_string();
        assert!(error.contains("span ids are 8"), "{error}");
    }
}
