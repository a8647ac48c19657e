//! OTLP trace requests read at the wire level: the collector walks the protobuf framing of an
//! `ExportTraceServiceRequest`, checks every field against the OTLP schema (so the ingester can
//! always decode what is published), and keeps each span as the bytes it arrived as. Records are
//! then assembled by copying those bytes, with no decode into owned structs and no re-encode.
//!
//! `ExportTraceServiceRequest` and `TracesData` share their encoding (field 1: `ResourceSpans`),
//! so the same walk reads both.

use std::borrow::Cow;
use std::fmt;

/// Why bytes are not a valid OTLP trace message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError(pub(crate) String);

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for WireError {}

type Result<T> = std::result::Result<T, WireError>;

pub(crate) const VARINT: u8 = 0;
pub(crate) const FIXED64: u8 = 1;
pub(crate) const LEN: u8 = 2;
pub(crate) const FIXED32: u8 = 5;

/// The expected shape of a field.
#[derive(Clone, Copy)]
enum Kind {
    Varint,
    Fixed64,
    Fixed32,
    Bytes,
    Str,
    Msg(&'static Schema),
}

/// A message type: its name (for errors) and known fields.
struct Schema {
    name: &'static str,
    fields: &'static [(u32, Kind)],
}

impl Schema {
    fn kind(&self, field: u32) -> Option<Kind> {
        self.fields.iter().find(|(number, _)| *number == field).map(|(_, kind)| *kind)
    }
}

static ANY_VALUE: Schema = Schema {
    name: "AnyValue",
    fields: &[
        (1, Kind::Str),
        (2, Kind::Varint),
        (3, Kind::Varint),
        (4, Kind::Fixed64),
        (5, Kind::Msg(&ARRAY_VALUE)),
        (6, Kind::Msg(&KEY_VALUE_LIST)),
        (7, Kind::Bytes),
        (8, Kind::Varint),
    ],
};
static ARRAY_VALUE: Schema = Schema { name: "ArrayValue", fields: &[(1, Kind::Msg(&ANY_VALUE))] };
static KEY_VALUE_LIST: Schema = Schema { name: "KeyValueList", fields: &[(1, Kind::Msg(&KEY_VALUE))] };
static KEY_VALUE: Schema =
    Schema { name: "KeyValue", fields: &[(1, Kind::Str), (2, Kind::Msg(&ANY_VALUE)), (3, Kind::Varint)] };
static ENTITY_REF: Schema =
    Schema { name: "EntityRef", fields: &[(1, Kind::Str), (2, Kind::Str), (3, Kind::Str), (4, Kind::Str)] };
static RESOURCE: Schema =
    Schema { name: "Resource", fields: &[(1, Kind::Msg(&KEY_VALUE)), (2, Kind::Varint), (3, Kind::Msg(&ENTITY_REF))] };
static SCOPE: Schema = Schema {
    name: "InstrumentationScope",
    fields: &[(1, Kind::Str), (2, Kind::Str), (3, Kind::Msg(&KEY_VALUE)), (4, Kind::Varint)],
};
static EVENT: Schema = Schema {
    name: "Span.Event",
    fields: &[(1, Kind::Fixed64), (2, Kind::Str), (3, Kind::Msg(&KEY_VALUE)), (4, Kind::Varint)],
};
static LINK: Schema = Schema {
    name: "Span.Link",
    fields: &[
        (1, Kind::Bytes),
        (2, Kind::Bytes),
        (3, Kind::Str),
        (4, Kind::Msg(&KEY_VALUE)),
        (5, Kind::Varint),
        (6, Kind::Fixed32),
    ],
};
static STATUS: Schema = Schema { name: "Status", fields: &[(2, Kind::Str), (3, Kind::Varint)] };
static SPAN: Schema = Schema {
    name: "Span",
    fields: &[
        (1, Kind::Bytes),
        (2, Kind::Bytes),
        (3, Kind::Str),
        (4, Kind::Bytes),
        (5, Kind::Str),
        (6, Kind::Varint),
        (7, Kind::Fixed64),
        (8, Kind::Fixed64),
        (9, Kind::Msg(&KEY_VALUE)),
        (10, Kind::Varint),
        (11, Kind::Msg(&EVENT)),
        (12, Kind::Varint),
        (13, Kind::Msg(&LINK)),
        (14, Kind::Varint),
        (15, Kind::Msg(&STATUS)),
        (16, Kind::Fixed32),
    ],
};

/// The largest field number protobuf allows.
const MAX_FIELD_NUMBER: u32 = (1 << 29) - 1;

/// Nesting deeper than this is refused (prost's own decoder stops at 100).
const MAX_DEPTH: usize = 64;

/// One field as read: its number, wire type, payload and the whole encoding (key included).
pub(crate) struct Field<'a> {
    pub(crate) number: u32,
    pub(crate) wire_type: u8,
    pub(crate) payload: &'a [u8],
    pub(crate) fixed: u64,
    pub(crate) raw: &'a [u8],
}

/// Iterates the fields of one message.
pub(crate) struct Fields<'a> {
    buf: &'a [u8],
    pos: usize,
    message: &'static str,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(buf: &'a [u8], message: &'static str) -> Self {
        Self { buf, pos: 0, message }
    }

    fn error(&self, what: &str) -> WireError {
        WireError(format!("{what} in {} at byte {}", self.message, self.pos))
    }

    fn varint(&mut self) -> Result<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self.buf.get(self.pos).ok_or_else(|| self.error("truncated varint"))?;
            self.pos += 1;
            if shift == 63 && byte > 1 {
                return Err(self.error("varint overflows 64 bits"));
            }
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(self.error("varint longer than 10 bytes"))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|end| *end <= self.buf.len())
            .ok_or_else(|| self.error("truncated field"))?;
        let slice = &self.buf[self.pos..end];
        self.pos = end;
        Ok(slice)
    }

    pub(crate) fn next_field(&mut self) -> Result<Option<Field<'a>>> {
        if self.pos >= self.buf.len() {
            return Ok(None);
        }
        let start = self.pos;
        let key = self.varint()?;
        let number = u32::try_from(key >> 3)
            .ok()
            .filter(|n| *n <= MAX_FIELD_NUMBER)
            .ok_or_else(|| self.error("field number out of range"))?;
        let wire_type = (key & 7) as u8;
        if number == 0 {
            return Err(self.error("field number 0"));
        }
        let (payload, fixed) = match wire_type {
            VARINT => {
                let value = self.varint()?;
                (&self.buf[start..start], value)
            }
            FIXED64 => {
                let bytes = self.take(8)?;
                (bytes, u64::from_le_bytes(bytes.try_into().expect("8 bytes")))
            }
            FIXED32 => {
                let bytes = self.take(4)?;
                (bytes, u64::from(u32::from_le_bytes(bytes.try_into().expect("4 bytes"))))
            }
            LEN => {
                let len = usize::try_from(self.varint()?).map_err(|_| self.error("length out of range"))?;
                (self.take(len)?, 0)
            }
            other => return Err(self.error(&format!("unsupported wire type {other}"))),
        };
        Ok(Some(Field { number, wire_type, payload, fixed, raw: &self.buf[start..self.pos] }))
    }
}

fn wire_type_of(kind: Kind) -> u8 {
    match kind {
        Kind::Varint => VARINT,
        Kind::Fixed64 => FIXED64,
        Kind::Fixed32 => FIXED32,
        Kind::Bytes | Kind::Str | Kind::Msg(_) => LEN,
    }
}

/// Check a message and everything inside it against `schema`, as a full decoder would.
fn validate(schema: &'static Schema, buf: &[u8], depth: usize) -> Result<()> {
    if depth > MAX_DEPTH {
        return Err(WireError(format!("{} nested more than {MAX_DEPTH} levels deep", schema.name)));
    }
    let mut fields = Fields::new(buf, schema.name);
    while let Some(field) = fields.next_field()? {
        check_field(schema, &field, depth)?;
    }
    Ok(())
}

fn check_field(schema: &'static Schema, field: &Field<'_>, depth: usize) -> Result<()> {
    let Some(kind) = schema.kind(field.number) else { return Ok(()) };
    if wire_type_of(kind) != field.wire_type {
        return Err(WireError(format!(
            "field {} of {} has wire type {} where {} was expected",
            field.number,
            schema.name,
            field.wire_type,
            wire_type_of(kind)
        )));
    }
    match kind {
        Kind::Str => std::str::from_utf8(field.payload)
            .map(|_| ())
            .map_err(|_| WireError(format!("field {} of {} is not valid UTF-8", field.number, schema.name))),
        Kind::Msg(inner) => validate(inner, field.payload, depth + 1),
        _ => Ok(()),
    }
}

/// A span as received: its encoded bytes and the fields the collector checks.
#[derive(Debug, Clone, PartialEq)]
pub struct WireSpan<'a> {
    /// The `Span` message body, copied verbatim into records; owned only when the collector's
    /// limits rewrote it ([`crate::span_limits`]).
    pub bytes: Cow<'a, [u8]>,
    pub trace_id: &'a [u8],
    pub span_id: &'a [u8],
    pub name: &'a str,
    pub start_time_unix_nano: u64,
    pub end_time_unix_nano: u64,
}

/// A `ScopeSpans`: its own fields other than spans, verbatim, and its spans.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WireScope<'a> {
    pub shell: Vec<&'a [u8]>,
    pub spans: Vec<WireSpan<'a>>,
}

/// A `ResourceSpans`: its own fields other than scopes, verbatim, and its scopes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WireResource<'a> {
    pub shell: Vec<&'a [u8]>,
    pub scopes: Vec<WireScope<'a>>,
}

/// A whole request.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WireRequest<'a> {
    pub resources: Vec<WireResource<'a>>,
}

impl<'a> WireRequest<'a> {
    /// Read and check an encoded `ExportTraceServiceRequest` (or `TracesData`).
    pub fn parse(bytes: &'a [u8]) -> Result<Self> {
        let mut fields = Fields::new(bytes, "ExportTraceServiceRequest");
        let mut resources = Vec::new();
        while let Some(field) = fields.next_field()? {
            if field.number == 1 {
                if field.wire_type != LEN {
                    return Err(WireError("field 1 of ExportTraceServiceRequest is not a message".into()));
                }
                resources.push(parse_resource(field.payload)?);
            }
        }
        Ok(Self { resources })
    }

    /// Number of spans.
    pub fn span_count(&self) -> usize {
        self.resources.iter().flat_map(|r| &r.scopes).map(|s| s.spans.len()).sum()
    }

    /// Keep the spans for which `keep` is true, in order; drop scopes and resources left empty.
    pub fn retain_spans(&mut self, mut keep: impl FnMut(&WireSpan<'a>) -> bool) {
        for resource in &mut self.resources {
            for scope in &mut resource.scopes {
                scope.spans.retain(&mut keep);
            }
            resource.scopes.retain(|scope| !scope.spans.is_empty());
        }
        self.resources.retain(|resource| !resource.scopes.is_empty());
    }
}

fn parse_resource(bytes: &[u8]) -> Result<WireResource<'_>> {
    let (shell, scopes) = parse_container(bytes, "ResourceSpans", &RESOURCE, parse_scope)?;
    Ok(WireResource { shell, scopes })
}

fn parse_scope(bytes: &[u8]) -> Result<WireScope<'_>> {
    let (shell, spans) = parse_container(bytes, "ScopeSpans", &SCOPE, parse_span)?;
    Ok(WireScope { shell, spans })
}

/// `ResourceSpans` and `ScopeSpans` share a shape: field 1 is their header message (`Resource`,
/// `InstrumentationScope`), field 2 their children, field 3 a schema URL. Returns the header and
/// schema URL fields verbatim, and the parsed children.
fn parse_container<'a, T>(
    bytes: &'a [u8],
    name: &'static str,
    header: &'static Schema,
    parse_child: impl Fn(&'a [u8]) -> Result<T>,
) -> Result<(Vec<&'a [u8]>, Vec<T>)> {
    let mut fields = Fields::new(bytes, name);
    let (mut shell, mut children) = (Vec::new(), Vec::new());
    while let Some(field) = fields.next_field()? {
        if !(1..=3).contains(&field.number) {
            continue;
        }
        if field.wire_type != LEN {
            return Err(WireError(format!(
                "field {} of {name} has wire type {} where 2 was expected",
                field.number, field.wire_type
            )));
        }
        match field.number {
            1 => {
                validate(header, field.payload, 1)?;
                shell.push(field.raw);
            }
            2 => children.push(parse_child(field.payload)?),
            _ => {
                std::str::from_utf8(field.payload)
                    .map_err(|_| WireError(format!("{name}.schema_url is not valid UTF-8")))?;
                shell.push(field.raw);
            }
        }
    }
    Ok((shell, children))
}

fn parse_span(bytes: &[u8]) -> Result<WireSpan<'_>> {
    let mut span = WireSpan {
        bytes: Cow::Borrowed(bytes),
        trace_id: &[],
        span_id: &[],
        name: "",
        start_time_unix_nano: 0,
        end_time_unix_nano: 0,
    };
    let mut fields = Fields::new(bytes, "Span");
    while let Some(field) = fields.next_field()? {
        check_field(&SPAN, &field, 1)?;
        // A repeated scalar field keeps its last value, as in any protobuf decoder.
        match field.number {
            1 => span.trace_id = field.payload,
            2 => span.span_id = field.payload,
            5 => span.name = std::str::from_utf8(field.payload).expect("checked above"),
            7 => span.start_time_unix_nano = field.fixed,
            8 => span.end_time_unix_nano = field.fixed,
            _ => {}
        }
    }
    Ok(span)
}

/// An `ExportTraceServiceRequest` kept encoded, as the collector's OTLP/gRPC service receives it
/// (tonic decodes it from the gRPC frame): its `resource_spans` fields (field 1) as they
/// arrived; other fields are skipped, as a decoder that does not know them would.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct RawExportRequest {
    pub encoded: Vec<u8>,
}

impl prost::Message for RawExportRequest {
    fn encode_raw(&self, buf: &mut impl prost::bytes::BufMut) {
        buf.put_slice(&self.encoded);
    }

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: prost::encoding::WireType,
        buf: &mut impl prost::bytes::Buf,
        ctx: prost::encoding::DecodeContext,
    ) -> std::result::Result<(), prost::DecodeError> {
        if tag == 1 && wire_type == prost::encoding::WireType::LengthDelimited {
            let mut payload = Vec::new();
            prost::encoding::bytes::merge(wire_type, &mut payload, buf, ctx)?;
            prost::encoding::encode_key(1, prost::encoding::WireType::LengthDelimited, &mut self.encoded);
            prost::encoding::encode_varint(payload.len() as u64, &mut self.encoded);
            self.encoded.extend_from_slice(&payload);
            Ok(())
        } else {
            prost::encoding::skip_field(wire_type, tag, buf, ctx)
        }
    }

    fn encoded_len(&self) -> usize {
        self.encoded.len()
    }

    fn clear(&mut self) {
        self.encoded.clear();
    }
}

/// Bytes of a varint.
pub(crate) fn varint_len(value: u64) -> usize {
    (64 - (value | 1).leading_zeros() as usize).div_ceil(7)
}

/// Append a varint.
pub(crate) fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Bytes of a length-delimited field with a one-byte key (fields 1 to 15) around `len` bytes.
pub(crate) fn nested_len(len: usize) -> usize {
    1 + varint_len(len as u64) + len
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::common::v1::{any_value::Value, AnyValue, ArrayValue, KeyValue};
    use opentelemetry_proto::tonic::trace::v1::{span, ResourceSpans, ScopeSpans, Span, Status};
    use prost::Message;

    #[test]
    fn raw_request_keeps_resource_spans_bytes_and_skips_unknown_fields() {
        let request = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans { schema_url: "a".into(), ..Default::default() }; 2],
        };
        let mut encoded = request.encode_to_vec();
        encoded.extend_from_slice(&[0x18, 0x05]); // unknown field 3, varint 5
        let raw = RawExportRequest::decode(encoded.as_slice()).expect("decodes");
        assert_eq!(raw.encoded, request.encode_to_vec());
        assert!(RawExportRequest::decode(&encoded[..encoded.len() - 4]).is_err(), "truncation is an error");
    }

    fn kv(key: &str, value: Value) -> KeyValue {
        KeyValue { key: key.into(), value: Some(AnyValue { value: Some(value) }), ..Default::default() }
    }

    fn sample() -> ExportTraceServiceRequest {
        let span = Span {
            trace_id: vec![1; 16],
            span_id: vec![2; 8],
            name: "op".into(),
            start_time_unix_nano: 5,
            end_time_unix_nano: 9,
            attributes: vec![
                kv("s", Value::StringValue("x".into())),
                kv("a", Value::ArrayValue(ArrayValue { values: vec![AnyValue { value: Some(Value::IntValue(3)) }] })),
            ],
            events: vec![span::Event { name: "e".into(), ..Default::default() }],
            status: Some(Status { code: 2, message: "m".into() }),
            ..Default::default()
        };
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Default::default()),
                scope_spans: vec![ScopeSpans { spans: vec![span], ..Default::default() }],
                schema_url: "u".into(),
            }],
        }
    }

    #[test]
    fn reads_span_fields_and_keeps_exact_bytes() {
        let encoded = sample().encode_to_vec();
        let request = WireRequest::parse(&encoded).expect("valid request");
        let span = &request.resources[0].scopes[0].spans[0];
        assert_eq!(span.trace_id, &[1; 16]);
        assert_eq!(span.span_id, &[2; 8]);
        assert_eq!(span.name, "op");
        assert_eq!((span.start_time_unix_nano, span.end_time_unix_nano), (5, 9));
        assert_eq!(Span::decode(&span.bytes[..]).unwrap(), sample().resource_spans[0].scope_spans[0].spans[0]);
        assert_eq!(request.resources[0].shell.len(), 2, "resource and schema_url kept");
    }

    #[test]
    fn refuses_what_a_decoder_would_refuse() {
        let encoded = sample().encode_to_vec();
        assert!(WireRequest::parse(&encoded[..encoded.len() - 3]).unwrap_err().to_string().contains("truncated"));
        assert!(WireRequest::parse(&[0xff, 0xff, 0xff]).is_err());
        // A span name that is not UTF-8.
        let mut request = sample();
        request.resource_spans[0].scope_spans[0].spans[0].name = "é".into();
        let mut bytes = request.encode_to_vec();
        let at = bytes.windows(2).position(|w| w == "é".as_bytes()).unwrap();
        bytes[at + 1] = 0xff;
        let error = WireRequest::parse(&bytes).unwrap_err().to_string();
        assert!(error.contains("UTF-8") && error.contains("Span"), "{error}");
        // A string field sent as a varint.
        let bad_span = [0x2a_u8 ^ 0x02, 0x01]; // field 5 (name) with wire type 0
        let mut raw = vec![0x0a];
        let scope = [vec![0x12, bad_span.len() as u8], bad_span.to_vec()].concat();
        let resource = [vec![0x12, scope.len() as u8], scope].concat();
        raw.push(resource.len() as u8);
        raw.extend(resource);
        assert!(WireRequest::parse(&raw).unwrap_err().to_string().contains("wire type"));
    }

    #[test]
    fn agrees_with_prost_on_every_truncation() {
        let encoded = sample().encode_to_vec();
        for cut in 0..encoded.len() {
            let ours = WireRequest::parse(&encoded[..cut]).is_ok();
            let prost = ExportTraceServiceRequest::decode(&encoded[..cut]).is_ok();
            assert_eq!(ours, prost, "cut at {cut}");
        }
    }

    #[test]
    fn agrees_with_prost_under_random_corruption() {
        let encoded = sample().encode_to_vec();
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut accepted = 0;
        for _ in 0..20_000 {
            let mut bytes = encoded.clone();
            for _ in 0..(next() % 3 + 1) {
                let at = (next() % bytes.len() as u64) as usize;
                bytes[at] = next() as u8;
            }
            let ours = WireRequest::parse(&bytes);
            let prost = ExportTraceServiceRequest::decode(bytes.as_slice());
            assert_eq!(
                ours.is_ok(),
                prost.is_ok(),
                "ours {:?}, prost {:?}, bytes {bytes:02x?}",
                ours.err(),
                prost.err()
            );
            accepted += usize::from(ours.is_ok());
        }
        assert!(accepted > 100, "the corruption should leave some requests valid, got {accepted}");
    }

    #[test]
    fn retain_drops_empty_scopes_and_resources() {
        let encoded = sample().encode_to_vec();
        let mut request = WireRequest::parse(&encoded).unwrap();
        request.retain_spans(|_| false);
        assert!(request.resources.is_empty());
        assert_eq!(request.span_count(), 0);
    }

    #[test]
    fn varint_lengths() {
        for value in [0u64, 1, 127, 128, 16_383, 16_384, u64::MAX] {
            let mut out = Vec::new();
            put_varint(&mut out, value);
            assert_eq!(out.len(), varint_len(value), "{value}");
        }
    }
}
