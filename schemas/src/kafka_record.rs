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

/// Header naming the encoding of the record value.
pub const ENCODING_HEADER: &str = "skein.encoding";
/// The only encoding written today: protobuf `opentelemetry.proto.trace.v1.TracesData`.
pub const ENCODING_OTLP_PROTO: &str = "otlp-traces-proto-v1";
/// Header with the number of spans in the record, as decimal text.
pub const SPAN_COUNT_HEADER: &str = "skein.span-count";

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

/// Group the spans of a request by trace and cut them into records of at most `max_record_bytes`.
/// Spans keep their order within a trace; traces appear in the order their first span did.
pub fn records_for_request(
    request: ExportTraceServiceRequest,
    max_record_bytes: usize,
) -> (Vec<TraceRecord>, Vec<OversizeSpan>) {
    let mut grouper = TraceGrouper::default();
    for resource_spans in request.resource_spans {
        grouper.add_resource_spans(resource_spans);
    }
    grouper.into_records(max_record_bytes)
}

/// Decode a record value, checking the encoding header when present.
pub fn decode_record(encoding: Option<&str>, value: &[u8]) -> Result<TracesData, RecordDecodeError> {
    match encoding {
        None | Some(ENCODING_OTLP_PROTO) => Ok(TracesData::decode(value)?),
        Some(other) => Err(RecordDecodeError::UnsupportedEncoding(other.to_string())),
    }
}

/// A resource or scope with its children taken out, remembered once per request.
struct Shell<T> {
    message: T,
    encoded_len: usize,
}

/// A trace id with its spans as (scope index, span).
type TraceSpans = (Vec<u8>, Vec<(usize, Span)>);

#[derive(Default)]
struct TraceGrouper {
    resources: Vec<Shell<ResourceSpans>>,
    /// Scopes as (resource index, scope shell).
    scopes: Vec<(usize, Shell<ScopeSpans>)>,
    /// Spans per trace as (scope index, span), in order of first appearance.
    traces: Vec<TraceSpans>,
    trace_index: HashMap<Vec<u8>, usize>,
}

impl TraceGrouper {
    fn add_resource_spans(&mut self, mut resource_spans: ResourceSpans) {
        let scope_spans = std::mem::take(&mut resource_spans.scope_spans);
        let resource_index = self.resources.len();
        let encoded_len = resource_spans.encoded_len();
        self.resources.push(Shell { message: resource_spans, encoded_len });
        for mut scope in scope_spans {
            let spans = std::mem::take(&mut scope.spans);
            let scope_index = self.scopes.len();
            let encoded_len = scope.encoded_len();
            self.scopes.push((resource_index, Shell { message: scope, encoded_len }));
            for span in spans {
                let slot = match self.trace_index.get(&span.trace_id) {
                    Some(slot) => *slot,
                    None => {
                        self.traces.push((span.trace_id.clone(), Vec::new()));
                        self.trace_index.insert(span.trace_id.clone(), self.traces.len() - 1);
                        self.traces.len() - 1
                    }
                };
                self.traces[slot].1.push((scope_index, span));
            }
        }
    }

    fn into_records(mut self, max_record_bytes: usize) -> (Vec<TraceRecord>, Vec<OversizeSpan>) {
        let traces = std::mem::take(&mut self.traces);
        let mut records = Vec::with_capacity(traces.len());
        let mut oversize = Vec::new();
        for (trace_id, spans) in traces {
            let key = trace_key(&trace_id);
            let mut chunk = Chunk::with_capacity(spans.len());
            let mut spans_left = spans.len();
            for (scope_index, span) in spans {
                spans_left -= 1;
                let resource_index = self.scopes[scope_index].0;
                let span_len = span.encoded_len();
                let alone = self.resources[resource_index].encoded_len
                    + self.scopes[scope_index].1.encoded_len
                    + span_len
                    + 3 * NESTING_OVERHEAD;
                if alone > max_record_bytes {
                    oversize.push(OversizeSpan {
                        trace_id: key.clone(),
                        span_id: hex::encode(&span.span_id),
                        encoded_bytes: alone,
                        max_record_bytes,
                    });
                    continue;
                }
                if chunk.size + chunk.growth(&self, scope_index, span_len) > max_record_bytes {
                    let full = std::mem::replace(&mut chunk, Chunk::with_capacity(spans_left + 1));
                    records.push(full.into_record(&self, key.clone()));
                }
                chunk.size += chunk.growth(&self, scope_index, span_len);
                if !chunk.scopes.contains(&scope_index) {
                    chunk.scopes.push(scope_index);
                }
                if !chunk.resources.contains(&resource_index) {
                    chunk.resources.push(resource_index);
                }
                chunk.spans.push((scope_index, span));
            }
            if !chunk.spans.is_empty() {
                records.push(chunk.into_record(&self, key));
            }
        }
        (records, oversize)
    }
}

/// Spans gathered for one record, with an upper bound of its encoded size.
struct Chunk {
    spans: Vec<(usize, Span)>,
    /// Distinct scopes and resources in the chunk: few, so a short list beats a hash set.
    scopes: Vec<usize>,
    resources: Vec<usize>,
    size: usize,
}

impl Chunk {
    fn with_capacity(spans: usize) -> Self {
        Self { spans: Vec::with_capacity(spans), scopes: Vec::new(), resources: Vec::new(), size: 0 }
    }

    /// How much adding `span` can grow the encoded record at most.
    fn growth(&self, grouper: &TraceGrouper, scope_index: usize, span_len: usize) -> usize {
        let resource_index = grouper.scopes[scope_index].0;
        let mut growth = span_len + NESTING_OVERHEAD;
        if !self.scopes.contains(&scope_index) {
            growth += grouper.scopes[scope_index].1.encoded_len + NESTING_OVERHEAD;
        }
        if !self.resources.contains(&resource_index) {
            growth += grouper.resources[resource_index].encoded_len + NESTING_OVERHEAD;
        }
        growth
    }

    fn into_record(self, grouper: &TraceGrouper, key: String) -> TraceRecord {
        let span_count = self.spans.len();
        let mut data = TracesData { resource_spans: Vec::new() };
        // Position of each resource and scope inside `data`, so spans rejoin their own shells.
        let mut resource_slots: HashMap<usize, usize> = HashMap::new();
        let mut scope_slots: HashMap<usize, (usize, usize)> = HashMap::new();
        for (scope_index, span) in self.spans {
            let (resource_index, scope_shell) = &grouper.scopes[scope_index];
            let resource_slot = *resource_slots.entry(*resource_index).or_insert_with(|| {
                data.resource_spans.push(grouper.resources[*resource_index].message.clone());
                data.resource_spans.len() - 1
            });
            let (r, s) = *scope_slots.entry(scope_index).or_insert_with(|| {
                let scopes = &mut data.resource_spans[resource_slot].scope_spans;
                scopes.push(scope_shell.message.clone());
                (resource_slot, scopes.len() - 1)
            });
            data.resource_spans[r].scope_spans[s].spans.push(span);
        }
        TraceRecord { key, value: data.encode_to_vec(), span_count }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
    use opentelemetry_proto::tonic::resource::v1::Resource;

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
    fn refuses_unknown_encoding() {
        let err = decode_record(Some("json"), b"{}").unwrap_err();
        assert!(err.to_string().contains("not supported"));
        assert!(decode_record(None, b"\xff\xff").is_err());
    }
}
