//! The Kafka span record: what the collector publishes and the ingester and analytics consume.
//!
//! - key: the trace id as 32 lowercase hex characters, so every span of a trace lands on one
//!   partition;
//! - value: an OTLP `TracesData` protobuf holding spans of that one trace only, with their resource
//!   and instrumentation scope;
//! - headers: [`ENCODING_HEADER`] = [`ENCODING_OTLP_PROTO`] and [`SPAN_COUNT_HEADER`].
//!
//! A trace whose spans do not fit in one record is split into several records with the same key.

use std::collections::HashMap;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, TracesData};
use prost::Message;

use crate::otlp_wire::{nested_len, put_varint, WireRequest, WireSpan};

/// Header naming the encoding of the record value.
pub const ENCODING_HEADER: &str = "skein.encoding";
/// The only encoding written today: protobuf `opentelemetry.proto.trace.v1.TracesData`.
pub const ENCODING_OTLP_PROTO: &str = "otlp-traces-proto-v1";
/// Header with the number of spans in the record, as decimal text.
pub const SPAN_COUNT_HEADER: &str = "skein.span-count";
/// [`ENCODING_HEADER`] of a watermark marker: an empty record the analytics role appends to a
/// partition that went idle, so that its record-time clock moves on. Readers skip it.
pub const ENCODING_WATERMARK: &str = "skein-watermark-v1";

/// Upper bound of what one level of protobuf nesting adds around a message: a tag byte and a
/// length varint of at most 5 bytes.
const NESTING_OVERHEAD: usize = 6;

/// One record to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceRecord {
    /// The trace id as 32 lowercase hex characters.
    pub key: String,
    /// Encoded `TracesData`.
    pub value: Vec<u8>,
    /// Spans inside `value`.
    pub span_count: usize,
}

/// A span that cannot be published on its own.
#[derive(Debug, Clone, PartialEq)]
pub struct OversizeSpan {
    pub trace_id: String,
    pub span_id: String,
    pub encoded_bytes: usize,
    pub max_record_bytes: usize,
}

impl std::fmt::Display for OversizeSpan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "span {} of trace {} encodes to {} bytes with its resource and scope, above the record limit of {} bytes (collector.max_record_bytes); drop attributes or events from it",
            self.span_id, self.trace_id, self.encoded_bytes, self.max_record_bytes
        )
    }
}

/// Errors decoding a record.
#[derive(Debug, thiserror::Error)]
pub enum RecordDecodeError {
    #[error("record encoding {0:?} is not supported (expected {ENCODING_OTLP_PROTO})")]
    UnsupportedEncoding(String),
    #[error("record value is not a valid OTLP TracesData protobuf: {0}")]
    Protobuf(#[from] prost::DecodeError),
}

/// The trace id of a span as its record key.
pub fn trace_key(trace_id: &[u8]) -> String {
    hex::encode(trace_id)
}

/// Group the spans of a request by trace and cut them into records of at most
/// `max_record_bytes`, copying each span's bytes as received. Spans keep their order within a
/// trace; traces appear in the order their first span did.
pub fn records_for_wire_request(
    request: &WireRequest<'_>,
    max_record_bytes: usize,
) -> (Vec<TraceRecord>, Vec<OversizeSpan>) {
    // Shell sizes: what a resource or scope contributes besides its children.
    let resource_shells: Vec<usize> = request.resources.iter().map(|r| r.shell.iter().map(|f| f.len()).sum()).collect();
    let mut scopes: Vec<ScopeRef<'_, '_>> = Vec::new();
    let mut traces: Vec<(&[u8], Vec<SpanAt<'_, '_>>)> = Vec::new();
    let mut trace_index: HashMap<&[u8], usize> = HashMap::new();
    for (resource, resource_spans) in request.resources.iter().enumerate() {
        for scope in &resource_spans.scopes {
            let scope_index = scopes.len();
            scopes.push(ScopeRef {
                resource,
                shell: &scope.shell,
                shell_len: scope.shell.iter().map(|f| f.len()).sum(),
            });
            for span in &scope.spans {
                let slot = *trace_index.entry(span.trace_id).or_insert_with(|| {
                    traces.push((span.trace_id, Vec::new()));
                    traces.len() - 1
                });
                traces[slot].1.push((scope_index, span));
            }
        }
    }

    let layout = Layout { request, resource_shells: &resource_shells, scopes: &scopes };
    let mut records = Vec::with_capacity(traces.len());
    let mut oversize = Vec::new();
    for (trace_id, spans) in traces {
        let key = trace_key(trace_id);
        let mut chunk: Vec<(usize, &WireSpan<'_>)> = Vec::with_capacity(spans.len());
        let mut chunk_bound = 0;
        for (scope_index, span) in spans {
            let resource = scopes[scope_index].resource;
            let alone =
                resource_shells[resource] + scopes[scope_index].shell_len + span.bytes.len() + 3 * NESTING_OVERHEAD;
            if alone > max_record_bytes {
                oversize.push(OversizeSpan {
                    trace_id: key.clone(),
                    span_id: hex::encode(span.span_id),
                    encoded_bytes: alone,
                    max_record_bytes,
                });
                continue;
            }
            let growth = |chunk: &[(usize, &WireSpan<'_>)]| {
                let mut growth = span.bytes.len() + NESTING_OVERHEAD;
                if !chunk.iter().any(|(s, _)| *s == scope_index) {
                    growth += scopes[scope_index].shell_len + NESTING_OVERHEAD;
                }
                if !chunk.iter().any(|(s, _)| scopes[*s].resource == resource) {
                    growth += resource_shells[resource] + NESTING_OVERHEAD;
                }
                growth
            };
            if chunk_bound + growth(&chunk) > max_record_bytes {
                records.push(layout.encode(key.clone(), &chunk));
                chunk.clear();
                chunk_bound = 0;
            }
            chunk_bound += growth(&chunk);
            chunk.push((scope_index, span));
        }
        if !chunk.is_empty() {
            records.push(layout.encode(key, &chunk));
        }
    }
    (records, oversize)
}

/// [`records_for_wire_request`] for a request held as structs (what receivers that convert from
/// another format hold): spans are moved into per-trace `TracesData` and encoded once, with the
/// same grouping, order and size rules, instead of encoding the whole request and reading it back.
pub fn records_for_otlp(
    request: ExportTraceServiceRequest,
    max_record_bytes: usize,
) -> (Vec<TraceRecord>, Vec<OversizeSpan>) {
    // Resource and scope shells (without their children), with their encoded sizes.
    let mut resources: Vec<(ResourceSpans, usize)> = Vec::new();
    let mut scopes: Vec<(usize, ScopeSpans, usize)> = Vec::new();
    let mut traces: Vec<(Vec<u8>, Vec<SpanOf>)> = Vec::new();
    let mut trace_index: HashMap<Vec<u8>, usize> = HashMap::new();
    for resource_spans in request.resource_spans {
        let ResourceSpans { resource, scope_spans, schema_url } = resource_spans;
        let shell = ResourceSpans { resource, scope_spans: Vec::new(), schema_url };
        let resource = resources.len();
        resources.push((shell.clone(), shell.encoded_len()));
        for scope_spans in scope_spans {
            let ScopeSpans { scope, spans, schema_url } = scope_spans;
            let shell = ScopeSpans { scope, spans: Vec::new(), schema_url };
            let scope_index = scopes.len();
            let shell_len = shell.encoded_len();
            scopes.push((resource, shell, shell_len));
            for span in spans {
                let slot = match trace_index.get(&span.trace_id) {
                    Some(slot) => *slot,
                    None => {
                        trace_index.insert(span.trace_id.clone(), traces.len());
                        traces.push((span.trace_id.clone(), Vec::new()));
                        traces.len() - 1
                    }
                };
                traces[slot].1.push((scope_index, span));
            }
        }
    }

    let mut records = Vec::with_capacity(traces.len());
    let mut oversize = Vec::new();
    for (trace_id, spans) in traces {
        let key = trace_key(&trace_id);
        let mut chunk: Vec<(usize, Span)> = Vec::with_capacity(spans.len());
        let mut chunk_bound = 0;
        for (scope_index, span) in spans {
            let (resource, _, scope_len) = &scopes[scope_index];
            let span_len = span.encoded_len();
            let alone = resources[*resource].1 + scope_len + span_len + 3 * NESTING_OVERHEAD;
            if alone > max_record_bytes {
                oversize.push(OversizeSpan {
                    trace_id: key.clone(),
                    span_id: hex::encode(&span.span_id),
                    encoded_bytes: alone,
                    max_record_bytes,
                });
                continue;
            }
            let growth = |chunk: &[(usize, Span)]| {
                let mut growth = span_len + NESTING_OVERHEAD;
                if !chunk.iter().any(|(s, _)| *s == scope_index) {
                    growth += scope_len + NESTING_OVERHEAD;
                }
                if !chunk.iter().any(|(s, _)| scopes[*s].0 == *resource) {
                    growth += resources[*resource].1 + NESTING_OVERHEAD;
                }
                growth
            };
            if chunk_bound + growth(&chunk) > max_record_bytes {
                records.push(encode_chunk(key.clone(), std::mem::take(&mut chunk), &resources, &scopes));
                chunk_bound = 0;
            }
            chunk_bound += growth(&chunk);
            chunk.push((scope_index, span));
        }
        if !chunk.is_empty() {
            records.push(encode_chunk(key, chunk, &resources, &scopes));
        }
    }
    (records, oversize)
}

/// A span moved out of its request, with the index of its scope.
type SpanOf = (usize, Span);

/// One record: resources in order of first appearance, each with its scopes in order of first
/// appearance, each with its spans in order.
fn encode_chunk(
    key: String,
    chunk: Vec<(usize, Span)>,
    resources: &[(ResourceSpans, usize)],
    scopes: &[(usize, ScopeSpans, usize)],
) -> TraceRecord {
    let span_count = chunk.len();
    // (resource index, [(scope index, ScopeSpans)])
    let mut tree: Vec<(usize, Vec<(usize, ScopeSpans)>)> = Vec::new();
    for (scope_index, span) in chunk {
        let resource = scopes[scope_index].0;
        let r = match tree.iter().position(|(r, _)| *r == resource) {
            Some(r) => r,
            None => {
                tree.push((resource, Vec::new()));
                tree.len() - 1
            }
        };
        let entries = &mut tree[r].1;
        match entries.iter_mut().find(|(s, _)| *s == scope_index) {
            Some((_, scope_spans)) => scope_spans.spans.push(span),
            None => {
                let mut scope_spans = scopes[scope_index].1.clone();
                scope_spans.spans.push(span);
                entries.push((scope_index, scope_spans));
            }
        }
    }
    let data = TracesData {
        resource_spans: tree
            .into_iter()
            .map(|(resource, entries)| {
                let mut resource_spans = resources[resource].0.clone();
                resource_spans.scope_spans = entries.into_iter().map(|(_, scope_spans)| scope_spans).collect();
                resource_spans
            })
            .collect(),
    };
    TraceRecord { key, value: data.encode_to_vec(), span_count }
}

/// Decode a record value, checking the encoding header when present.
pub fn decode_record(encoding: Option<&str>, value: &[u8]) -> Result<TracesData, RecordDecodeError> {
    match encoding {
        None | Some(ENCODING_OTLP_PROTO) => Ok(TracesData::decode(value)?),
        Some(other) => Err(RecordDecodeError::UnsupportedEncoding(other.to_string())),
    }
}

/// A span with the index of its scope.
type SpanAt<'r, 'a> = (usize, &'r WireSpan<'a>);
/// A scope index with the spans of a record under it.
type ScopeSpansAt<'r, 'a> = (usize, Vec<&'r WireSpan<'a>>);

/// A scope of the request: which resource it belongs to and its own fields.
struct ScopeRef<'r, 'a> {
    resource: usize,
    shell: &'r [&'a [u8]],
    shell_len: usize,
}

/// Everything needed to encode a chunk of spans as a `TracesData`.
struct Layout<'r, 'a> {
    request: &'r WireRequest<'a>,
    resource_shells: &'r [usize],
    scopes: &'r [ScopeRef<'r, 'a>],
}

/// Key of field 1 / field 2, length-delimited.
const FIELD_1_LEN: u8 = 0x0a;
const FIELD_2_LEN: u8 = 0x12;

impl Layout<'_, '_> {
    /// Encode spans (as (scope index, span)) into one record: resources in order of first
    /// appearance, each with its scopes in order of first appearance, each with its spans in order.
    fn encode(&self, key: String, spans: &[(usize, &WireSpan<'_>)]) -> TraceRecord {
        // (resource, [(scope, [span])])
        let mut tree: Vec<(usize, Vec<ScopeSpansAt<'_, '_>>)> = Vec::new();
        for (scope_index, span) in spans {
            let resource = self.scopes[*scope_index].resource;
            let r = match tree.iter().position(|(r, _)| *r == resource) {
                Some(r) => r,
                None => {
                    tree.push((resource, Vec::new()));
                    tree.len() - 1
                }
            };
            let scopes = &mut tree[r].1;
            match scopes.iter().position(|(s, _)| s == scope_index) {
                Some(s) => scopes[s].1.push(span),
                None => scopes.push((*scope_index, vec![span])),
            }
        }
        let scope_len = |scope: usize, spans: &[&WireSpan<'_>]| {
            self.scopes[scope].shell_len + spans.iter().map(|s| nested_len(s.bytes.len())).sum::<usize>()
        };
        let resource_len = |resource: usize, scopes: &[(usize, Vec<&WireSpan<'_>>)]| {
            self.resource_shells[resource]
                + scopes.iter().map(|(s, spans)| nested_len(scope_len(*s, spans))).sum::<usize>()
        };
        let total: usize = tree.iter().map(|(r, scopes)| nested_len(resource_len(*r, scopes))).sum();
        let mut value = Vec::with_capacity(total);
        for (resource, scopes) in &tree {
            value.push(FIELD_1_LEN);
            put_varint(&mut value, resource_len(*resource, scopes) as u64);
            for field in &self.request.resources[*resource].shell {
                value.extend_from_slice(field);
            }
            for (scope, spans) in scopes {
                value.push(FIELD_2_LEN);
                put_varint(&mut value, scope_len(*scope, spans) as u64);
                for field in self.scopes[*scope].shell {
                    value.extend_from_slice(field);
                }
                for span in spans {
                    value.push(FIELD_2_LEN);
                    put_varint(&mut value, span.bytes.len() as u64);
                    value.extend_from_slice(&span.bytes);
                }
            }
        }
        debug_assert_eq!(value.len(), total);
        TraceRecord { key, value, span_count: spans.len() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The wire path applied to a struct request: the reference [`records_for_otlp`] must match.
    fn records_for_request(
        request: ExportTraceServiceRequest,
        max_record_bytes: usize,
    ) -> (Vec<TraceRecord>, Vec<OversizeSpan>) {
        let encoded = request.encode_to_vec();
        let wire = WireRequest::parse(&encoded).expect("an encoded request always reads back");
        records_for_wire_request(&wire, max_record_bytes)
    }
    use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};

    fn span(trace: u8, id: u8, attribute_bytes: usize) -> Span {
        Span {
            trace_id: vec![trace; 16],
            span_id: vec![id; 8],
            name: format!("op-{id}"),
            start_time_unix_nano: 1_000,
            end_time_unix_nano: 2_000,
            attributes: vec![KeyValue {
                key: "payload".into(),
                value: Some(AnyValue { value: Some(any_value::Value::StringValue("x".repeat(attribute_bytes))) }),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    fn resource_spans(service: &str, spans: Vec<Span>) -> ResourceSpans {
        ResourceSpans {
            resource: Some(Resource {
                attributes: vec![KeyValue {
                    key: "service.name".into(),
                    value: Some(AnyValue { value: Some(any_value::Value::StringValue(service.into())) }),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope { name: "lib".into(), version: "1.0".into(), ..Default::default() }),
                spans,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }
    }

    fn decode(record: &TraceRecord) -> TracesData {
        decode_record(Some(ENCODING_OTLP_PROTO), &record.value).expect("record decodes")
    }

    #[test]
    fn struct_path_makes_the_records_the_wire_path_makes() {
        let request = ExportTraceServiceRequest {
            resource_spans: vec![
                resource_spans("frontend", vec![span(1, 1, 10), span(2, 2, 300), span(1, 4, 300)]),
                resource_spans("backend", vec![span(1, 3, 10), span(3, 5, 5000)]),
            ],
        };
        for max in [100_000, 1_200, 700, 400] {
            let (wire, wire_oversize) = records_for_request(request.clone(), max);
            let (structs, struct_oversize) = records_for_otlp(request.clone(), max);
            assert_eq!(struct_oversize, wire_oversize, "max {max}");
            assert_eq!(structs.len(), wire.len(), "max {max}");
            for (a, b) in structs.iter().zip(&wire) {
                assert_eq!((a.key.as_str(), a.span_count), (b.key.as_str(), b.span_count));
                assert_eq!(a.value, b.value, "byte-identical records, max {max}");
                assert!(a.value.len() <= max);
            }
        }
    }

    #[test]
    fn groups_spans_by_trace_keeping_resource_and_scope() {
        let request = ExportTraceServiceRequest {
            resource_spans: vec![
                resource_spans("frontend", vec![span(1, 1, 10), span(2, 2, 10)]),
                resource_spans("backend", vec![span(1, 3, 10)]),
            ],
        };
        let (records, oversize) = records_for_request(request, 1_000_000);
        assert!(oversize.is_empty());
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].key, "01".repeat(16));
        assert_eq!(records[0].span_count, 2);
        let data = decode(&records[0]);
        assert_eq!(data.resource_spans.len(), 2, "both services of trace 1 kept");
        assert_eq!(data.resource_spans[0].scope_spans[0].scope.as_ref().unwrap().name, "lib");
        assert_eq!(data.resource_spans[1].scope_spans[0].spans[0].span_id, vec![3; 8]);
        assert_eq!(records[1].key, "02".repeat(16));
        assert_eq!(decode(&records[1]).resource_spans[0].scope_spans[0].spans.len(), 1);
    }

    #[test]
    fn splits_a_trace_above_the_record_limit_into_records_with_one_key() {
        let spans: Vec<Span> = (0..50).map(|i| span(7, i + 1, 1_000)).collect();
        let request = ExportTraceServiceRequest { resource_spans: vec![resource_spans("svc", spans)] };
        let (records, oversize) = records_for_request(request, 10_000);
        assert!(oversize.is_empty());
        assert!(records.len() >= 5, "50 KB of spans need at least 5 records of 10 KB, got {}", records.len());
        let mut seen = Vec::new();
        for record in &records {
            assert_eq!(record.key, "07".repeat(16));
            assert!(record.value.len() <= 10_000, "record of {} bytes", record.value.len());
            for resource in decode(record).resource_spans {
                for scope in resource.scope_spans {
                    seen.extend(scope.spans.into_iter().map(|s| s.span_id[0]));
                }
            }
        }
        assert_eq!(seen, (1..=50).collect::<Vec<u8>>(), "every span once, in order");
    }

    #[test]
    fn rejects_a_single_span_above_the_record_limit_and_keeps_the_rest() {
        let request = ExportTraceServiceRequest {
            resource_spans: vec![resource_spans("svc", vec![span(3, 1, 20_000), span(3, 2, 10)])],
        };
        let (records, oversize) = records_for_request(request, 5_000);
        assert_eq!(oversize.len(), 1);
        assert_eq!(oversize[0].span_id, "01".repeat(8));
        assert!(oversize[0].to_string().contains("collector.max_record_bytes"));
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].span_count, 1);
    }

    #[test]
    fn records_decode_to_exactly_the_spans_sent_with_their_shells() {
        let request = ExportTraceServiceRequest {
            resource_spans: vec![
                resource_spans("a", vec![span(1, 1, 5), span(2, 2, 5), span(1, 3, 5)]),
                resource_spans("b", vec![span(2, 4, 5), span(1, 5, 5)]),
            ],
        };
        let (records, _) = records_for_request(request.clone(), 1 << 20);
        let trace_1 = decode(&records[0]);
        let expected = TracesData {
            resource_spans: vec![
                resource_spans("a", vec![span(1, 1, 5), span(1, 3, 5)]),
                resource_spans("b", vec![span(1, 5, 5)]),
            ],
        };
        assert_eq!(trace_1, expected);
        assert_eq!(records[0].value, expected.encode_to_vec(), "byte-identical to prost's encoding");
    }

    #[test]
    fn refuses_unknown_encoding() {
        let err = decode_record(Some("json"), b"{}").unwrap_err();
        assert!(err.to_string().contains("not supported"));
        assert!(decode_record(None, b"\xff\xff").is_err());
    }
}
