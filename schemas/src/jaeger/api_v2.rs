//! Jaeger's protobuf contract `jaeger.api_v2` (model.proto, collector.proto, sampling.proto):
//! messages declared by hand from the published field numbers, for the gRPC `CollectorService`
//! and `SamplingManager` that clients and agents call on port 14250.

use super::model::{self, RefType, TagValue};

/// gRPC service and method paths.
pub const COLLECTOR_SERVICE: &str = "jaeger.api_v2.CollectorService";
pub const POST_SPANS_PATH: &str = "/jaeger.api_v2.CollectorService/PostSpans";
pub const SAMPLING_SERVICE: &str = "jaeger.api_v2.SamplingManager";
pub const GET_SAMPLING_STRATEGY_PATH: &str = "/jaeger.api_v2.SamplingManager/GetSamplingStrategy";

/// `google.protobuf.Timestamp`.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct Timestamp {
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

/// `google.protobuf.Duration` (same shape as a timestamp).
pub type Duration = Timestamp;

#[derive(Clone, PartialEq, prost::Message)]
pub struct KeyValue {
    #[prost(string, tag = "1")]
    pub key: String,
    /// STRING=0, BOOL=1, INT64=2, FLOAT64=3, BINARY=4.
    #[prost(int32, tag = "2")]
    pub v_type: i32,
    #[prost(string, tag = "3")]
    pub v_str: String,
    #[prost(bool, tag = "4")]
    pub v_bool: bool,
    #[prost(int64, tag = "5")]
    pub v_int64: i64,
    #[prost(double, tag = "6")]
    pub v_float64: f64,
    #[prost(bytes = "vec", tag = "7")]
    pub v_binary: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Log {
    #[prost(message, optional, tag = "1")]
    pub timestamp: Option<Timestamp>,
    #[prost(message, repeated, tag = "2")]
    pub fields: Vec<KeyValue>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SpanRef {
    #[prost(bytes = "vec", tag = "1")]
    pub trace_id: Vec<u8>,
    #[prost(bytes = "vec", tag = "2")]
    pub span_id: Vec<u8>,
    /// CHILD_OF=0, FOLLOWS_FROM=1.
    #[prost(int32, tag = "3")]
    pub ref_type: i32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Process {
    #[prost(string, tag = "1")]
    pub service_name: String,
    #[prost(message, repeated, tag = "2")]
    pub tags: Vec<KeyValue>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Span {
    #[prost(bytes = "vec", tag = "1")]
    pub trace_id: Vec<u8>,
    #[prost(bytes = "vec", tag = "2")]
    pub span_id: Vec<u8>,
    #[prost(string, tag = "3")]
    pub operation_name: String,
    #[prost(message, repeated, tag = "4")]
    pub references: Vec<SpanRef>,
    #[prost(uint32, tag = "5")]
    pub flags: u32,
    #[prost(message, optional, tag = "6")]
    pub start_time: Option<Timestamp>,
    #[prost(message, optional, tag = "7")]
    pub duration: Option<Duration>,
    #[prost(message, repeated, tag = "8")]
    pub tags: Vec<KeyValue>,
    #[prost(message, repeated, tag = "9")]
    pub logs: Vec<Log>,
    #[prost(message, optional, tag = "10")]
    pub process: Option<Process>,
    #[prost(string, tag = "11")]
    pub process_id: String,
    #[prost(string, repeated, tag = "12")]
    pub warnings: Vec<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Batch {
    #[prost(message, repeated, tag = "1")]
    pub spans: Vec<Span>,
    #[prost(message, optional, tag = "2")]
    pub process: Option<Process>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct PostSpansRequest {
    #[prost(message, optional, tag = "1")]
    pub batch: Option<Batch>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct PostSpansResponse {}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SamplingStrategyParameters {
    #[prost(string, tag = "1")]
    pub service_name: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ProbabilisticSamplingStrategy {
    #[prost(double, tag = "1")]
    pub sampling_rate: f64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct RateLimitingSamplingStrategy {
    #[prost(int32, tag = "1")]
    pub max_traces_per_second: i32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct OperationSamplingStrategy {
    #[prost(string, tag = "1")]
    pub operation: String,
    #[prost(message, optional, tag = "2")]
    pub probabilistic_sampling: Option<ProbabilisticSamplingStrategy>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct PerOperationSamplingStrategies {
    #[prost(double, tag = "1")]
    pub default_sampling_probability: f64,
    #[prost(double, tag = "2")]
    pub default_lower_bound_traces_per_second: f64,
    #[prost(message, repeated, tag = "3")]
    pub per_operation_strategies: Vec<OperationSamplingStrategy>,
    #[prost(double, tag = "4")]
    pub default_upper_bound_traces_per_second: f64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SamplingStrategyResponse {
    /// PROBABILISTIC=0, RATE_LIMITING=1.
    #[prost(int32, tag = "1")]
    pub strategy_type: i32,
    #[prost(message, optional, tag = "2")]
    pub probabilistic_sampling: Option<ProbabilisticSamplingStrategy>,
    #[prost(message, optional, tag = "3")]
    pub rate_limiting_sampling: Option<RateLimitingSamplingStrategy>,
    #[prost(message, optional, tag = "4")]
    pub operation_sampling: Option<PerOperationSamplingStrategies>,
}

/// Why an api_v2 batch cannot be read into the model.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    #[error("span {index}: trace_id must be 16 bytes (or 8 for a 64-bit id), got {len}")]
    TraceId { index: usize, len: usize },
    #[error("span {index}: span_id must be 8 bytes, got {len}")]
    SpanId { index: usize, len: usize },
    #[error("span {index}: reference {reference} has a {what} of {len} bytes")]
    Reference { index: usize, reference: usize, what: &'static str, len: usize },
    #[error("span {index}: unknown reference type {ref_type}")]
    RefType { index: usize, ref_type: i32 },
    #[error("tag '{key}' has unknown v_type {v_type}")]
    ValueType { key: String, v_type: i32 },
    #[error("span {index}: no process in the span nor in the batch (a service name is required)")]
    NoProcess { index: usize },
}

fn trace_id(bytes: &[u8]) -> Option<[u8; 16]> {
    match bytes.len() {
        16 => Some(bytes.try_into().expect("sixteen bytes")),
        8 => {
            let mut id = [0u8; 16];
            id[8..].copy_from_slice(bytes);
            Some(id)
        }
        0 => Some([0u8; 16]),
        _ => None,
    }
}

fn span_id(bytes: &[u8]) -> Option<[u8; 8]> {
    match bytes.len() {
        8 => Some(bytes.try_into().expect("eight bytes")),
        0 => Some([0u8; 8]),
        _ => None,
    }
}

fn timestamp_nanos(timestamp: Option<&Timestamp>) -> u64 {
    timestamp
        .map_or(0, |t| (t.seconds.max(0) as u64).saturating_mul(1_000_000_000).saturating_add(t.nanos.max(0) as u64))
}

fn nanos_timestamp(nanos: u64) -> Timestamp {
    Timestamp { seconds: (nanos / 1_000_000_000) as i64, nanos: (nanos % 1_000_000_000) as i32 }
}

fn tags(tags: Vec<KeyValue>) -> Result<Vec<model::Tag>, ModelError> {
    tags.into_iter()
        .map(|tag| {
            let value = match tag.v_type {
                0 => TagValue::String(tag.v_str),
                1 => TagValue::Bool(tag.v_bool),
                2 => TagValue::Int64(tag.v_int64),
                3 => TagValue::Float64(tag.v_float64),
                4 => TagValue::Binary(tag.v_binary),
                v_type => return Err(ModelError::ValueType { key: tag.key, v_type }),
            };
            Ok(model::Tag { key: tag.key, value })
        })
        .collect()
}

fn process(process: Process) -> Result<model::Process, ModelError> {
    Ok(model::Process { service_name: process.service_name, tags: tags(process.tags)? })
}

impl Batch {
    /// Into the shared model. Spans without a process of their own use the batch's.
    pub fn into_model(self) -> Result<model::Batch, ModelError> {
        let batch_process = self.process.map(process).transpose()?;
        let mut spans = Vec::with_capacity(self.spans.len());
        for (index, span) in self.spans.into_iter().enumerate() {
            let trace = trace_id(&span.trace_id).ok_or(ModelError::TraceId { index, len: span.trace_id.len() })?;
            let id = span_id(&span.span_id).ok_or(ModelError::SpanId { index, len: span.span_id.len() })?;
            let mut references = Vec::with_capacity(span.references.len());
            for (reference, r) in span.references.into_iter().enumerate() {
                let ref_type = match r.ref_type {
                    0 => RefType::ChildOf,
                    1 => RefType::FollowsFrom,
                    ref_type => return Err(ModelError::RefType { index, ref_type }),
                };
                references.push(model::SpanRef {
                    ref_type,
                    trace_id: trace_id(&r.trace_id).ok_or(ModelError::Reference {
                        index,
                        reference,
                        what: "trace_id",
                        len: r.trace_id.len(),
                    })?,
                    span_id: span_id(&r.span_id).ok_or(ModelError::Reference {
                        index,
                        reference,
                        what: "span_id",
                        len: r.span_id.len(),
                    })?,
                });
            }
            let own_process = span.process.map(process).transpose()?;
            if own_process.is_none() && batch_process.is_none() {
                return Err(ModelError::NoProcess { index });
            }
            spans.push(model::Span {
                trace_id: trace,
                span_id: id,
                parent_span_id: [0; 8],
                operation_name: span.operation_name,
                references,
                flags: span.flags,
                start_time_unix_nano: timestamp_nanos(span.start_time.as_ref()),
                duration_nanos: timestamp_nanos(span.duration.as_ref()),
                tags: tags(span.tags)?,
                logs: span
                    .logs
                    .into_iter()
                    .map(|log| {
                        Ok(model::Log {
                            timestamp_unix_nano: timestamp_nanos(log.timestamp.as_ref()),
                            fields: tags(log.fields)?,
                        })
                    })
                    .collect::<Result<_, ModelError>>()?,
                process: own_process,
            });
        }
        Ok(model::Batch { process: batch_process.unwrap_or_default(), spans })
    }

    /// From the shared model (what the agent forwards). A Thrift parent id becomes a CHILD_OF
    /// reference first in the list, as Jaeger's own Thrift→proto conversion does.
    pub fn from_model(batch: &model::Batch) -> Self {
        let spans = batch
            .spans
            .iter()
            .map(|span| {
                let mut references = Vec::with_capacity(span.references.len() + 1);
                let parent_listed = span.references.iter().any(|r| r.span_id == span.parent_span_id);
                if span.parent_span_id != [0; 8] && !parent_listed {
                    references.push(SpanRef {
                        trace_id: span.trace_id.to_vec(),
                        span_id: span.parent_span_id.to_vec(),
                        ref_type: 0,
                    });
                }
                references.extend(span.references.iter().map(|r| SpanRef {
                    trace_id: r.trace_id.to_vec(),
                    span_id: r.span_id.to_vec(),
                    ref_type: if r.ref_type == RefType::ChildOf { 0 } else { 1 },
                }));
                Span {
                    trace_id: span.trace_id.to_vec(),
                    span_id: span.span_id.to_vec(),
                    operation_name: span.operation_name.clone(),
                    references,
                    flags: span.flags,
                    start_time: Some(nanos_timestamp(span.start_time_unix_nano)),
                    duration: Some(nanos_timestamp(span.duration_nanos)),
                    tags: span.tags.iter().map(key_value).collect(),
                    logs: span
                        .logs
                        .iter()
                        .map(|log| Log {
                            timestamp: Some(nanos_timestamp(log.timestamp_unix_nano)),
                            fields: log.fields.iter().map(key_value).collect(),
                        })
                        .collect(),
                    process: span.process.as_ref().map(process_from_model),
                    process_id: String::new(),
                    warnings: Vec::new(),
                }
            })
            .collect();
        Batch { spans, process: Some(process_from_model(&batch.process)) }
    }
}

fn process_from_model(process: &model::Process) -> Process {
    Process { service_name: process.service_name.clone(), tags: process.tags.iter().map(key_value).collect() }
}

fn key_value(tag: &model::Tag) -> KeyValue {
    let mut kv = KeyValue { key: tag.key.clone(), ..Default::default() };
    match &tag.value {
        TagValue::String(v) => kv.v_str = v.clone(),
        TagValue::Bool(v) => {
            kv.v_type = 1;
            kv.v_bool = *v;
        }
        TagValue::Int64(v) => {
            kv.v_type = 2;
            kv.v_int64 = *v;
        }
        TagValue::Float64(v) => {
            kv.v_type = 3;
            kv.v_float64 = *v;
        }
        TagValue::Binary(v) => {
            kv.v_type = 4;
            kv.v_binary = v.clone();
        }
    }
    kv
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jaeger::thrift::tests::sample_batch;
    use prost::Message;

    #[test]
    fn model_round_trips_with_the_thrift_parent_as_first_child_of_reference() {
        let batch = sample_batch();
        let proto = Batch::from_model(&batch);
        assert_eq!(proto.spans[0].references.len(), 2);
        assert_eq!(proto.spans[0].references[0].ref_type, 0);
        let back = Batch::decode(prost::Message::encode_to_vec(&proto).as_slice()).unwrap().into_model().unwrap();
        let mut expected = batch.clone();
        let span = &mut expected.spans[0];
        span.references.insert(
            0,
            model::SpanRef { ref_type: RefType::ChildOf, trace_id: span.trace_id, span_id: span.parent_span_id },
        );
        span.parent_span_id = [0; 8];
        assert_eq!(back, expected);
    }

    #[test]
    fn bad_ids_and_value_types_are_named() {
        let mut proto = Batch::from_model(&sample_batch());
        proto.spans[0].span_id = vec![1, 2, 3];
        assert_eq!(proto.clone().into_model().unwrap_err().to_string(), "span 0: span_id must be 8 bytes, got 3");
        proto.spans[0].span_id = vec![1; 8];
        proto.spans[0].tags[0].v_type = 9;
        assert!(proto.clone().into_model().unwrap_err().to_string().contains("unknown v_type 9"));
        proto.spans[0].tags[0].v_type = 0;
        proto.process = None;
        assert_eq!(proto.into_model().unwrap_err(), ModelError::NoProcess { index: 0 });
    }
}
