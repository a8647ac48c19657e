//! What the records of a spans topic are (`kafka.encoding`): skein's own records, or what Jaeger
//! and the OpenTelemetry Collector write to Kafka, so that skein's ingester and analytics can take
//! over a topic those already fill. Every encoding decodes to OTLP `TracesData`, the form the rest
//! of skein reads; the Jaeger ones through the same api_v2 → OTLP conversion the collector's Jaeger
//! gRPC receiver uses.
//!
//! | encoding | record value | key | written by |
//! |---|---|---|---|
//! | `skein` | `TracesData` protobuf of one trace, header `skein.encoding` | trace id | skein's collector |
//! | `jaeger_proto` | one `jaeger.api_v2.Span` protobuf, its process inside | trace id | Jaeger v1's collector, Jaeger 2's and the OTel Collector's `kafka` exporter |
//! | `jaeger_json` | the same span in protobuf's JSON mapping | trace id | the same, `encoding: jaeger_json` |
//! | `otlp_proto` | an `ExportTraceServiceRequest` (= `TracesData`) protobuf batch | none, or the trace id with `partition_traces_by_id` | Jaeger 2's and the OTel Collector's `kafka` exporter |
//! | `otlp_json` | the same batch in OTLP/JSON | as `otlp_proto` | the same, `encoding: otlp_json` |

use std::borrow::Cow;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::TracesData;
use prost::Message;
use serde::{Deserialize, Serialize};

use crate::jaeger::api_v2;
use crate::jaeger::jsonpb::{self, JsonSpanError};
use crate::jaeger::to_otlp::{batch_to_otlp, Origin};
use crate::kafka_record::{decode_record, RecordDecodeError};

/// How the records of the spans topic are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordEncoding {
    /// skein's own records (see [`crate::kafka_record`]).
    #[default]
    Skein,
    /// One `jaeger.api_v2.Span` protobuf per record.
    JaegerProto,
    /// One `jaeger.api_v2.Span` per record in protobuf's JSON mapping.
    JaegerJson,
    /// OTLP `TracesData` / `ExportTraceServiceRequest` protobuf, a batch per record.
    OtlpProto,
    /// The same batch as OTLP/JSON.
    OtlpJson,
}

/// Why a record does not decode in the configured encoding (the dead-letter reason).
#[derive(Debug, thiserror::Error)]
pub enum EncodingError {
    #[error(transparent)]
    Skein(#[from] RecordDecodeError),
    #[error("record is not a jaeger.api_v2.Span protobuf (kafka.encoding is jaeger_proto): {0}")]
    JaegerProto(prost::DecodeError),
    #[error("record is not a Jaeger JSON span (kafka.encoding is jaeger_json): {0}")]
    JaegerJson(#[from] JsonSpanError),
    #[error("record holds an invalid Jaeger span (kafka.encoding is {encoding}): {source}")]
    JaegerModel { encoding: &'static str, source: api_v2::ModelError },
    #[error("record is not an OTLP TracesData protobuf (kafka.encoding is otlp_proto): {0}")]
    OtlpProto(prost::DecodeError),
    #[error("record is not an OTLP/JSON TracesData document (kafka.encoding is otlp_json): {0}")]
    OtlpJson(serde_json::Error),
}

impl RecordEncoding {
    /// The configuration name.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordEncoding::Skein => "skein",
            RecordEncoding::JaegerProto => "jaeger_proto",
            RecordEncoding::JaegerJson => "jaeger_json",
            RecordEncoding::OtlpProto => "otlp_proto",
            RecordEncoding::OtlpJson => "otlp_json",
        }
    }

    /// Decode a record value. `header` is the record's `skein.encoding` header, read only for
    /// skein's own records (the foreign writers set none).
    pub fn decode(self, header: Option<&str>, value: &[u8]) -> Result<TracesData, EncodingError> {
        match self {
            RecordEncoding::Skein => Ok(decode_record(header, value)?),
            RecordEncoding::OtlpProto => TracesData::decode(value).map_err(EncodingError::OtlpProto),
            RecordEncoding::OtlpJson => serde_json::from_slice::<ExportTraceServiceRequest>(value)
                .map(|request| TracesData { resource_spans: request.resource_spans })
                .map_err(EncodingError::OtlpJson),
            RecordEncoding::JaegerProto => {
                let span = api_v2::Span::decode(value).map_err(EncodingError::JaegerProto)?;
                jaeger_span(self, span)
            }
            RecordEncoding::JaegerJson => jaeger_span(self, jsonpb::decode_span(value)?),
        }
    }

    /// A record value as `TracesData` protobuf bytes, the form analytics reads spans from without
    /// decoding them: borrowed when the record already is one (`skein`, `otlp_proto`), else
    /// decoded and encoded again.
    pub fn traces_data_bytes<'a>(self, header: Option<&str>, value: &'a [u8]) -> Result<Cow<'a, [u8]>, EncodingError> {
        match self {
            // Read lazily by the caller's wire parser, which reports malformed bytes itself.
            RecordEncoding::Skein if header_is_skein(header) => Ok(Cow::Borrowed(value)),
            RecordEncoding::OtlpProto => Ok(Cow::Borrowed(value)),
            _ => Ok(Cow::Owned(self.decode(header, value)?.encode_to_vec())),
        }
    }
}

/// A skein record's header that says its value is `TracesData` protobuf (or no header).
fn header_is_skein(header: Option<&str>) -> bool {
    matches!(header, None | Some(crate::kafka_record::ENCODING_OTLP_PROTO))
}

/// One Jaeger span (process inside) → OTLP, the way the collector's Jaeger gRPC receiver
/// converts a batch.
fn jaeger_span(encoding: RecordEncoding, span: api_v2::Span) -> Result<TracesData, EncodingError> {
    let batch = api_v2::Batch { spans: vec![span], process: None }
        .into_model()
        .map_err(|source| EncodingError::JaegerModel { encoding: encoding.as_str(), source })?;
    Ok(TracesData { resource_spans: batch_to_otlp(batch, Origin::Proto).resource_spans })
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};

    use super::*;
    use crate::jaeger::{span_documents, TraceIdFormat};

    fn jaeger_span_proto() -> api_v2::Span {
        api_v2::Span {
            trace_id: vec![0xab; 16],
            span_id: vec![1; 8],
            operation_name: "GET /".into(),
            references: vec![api_v2::SpanRef { trace_id: vec![0xab; 16], span_id: vec![2; 8], ref_type: 0 }],
            start_time: Some(api_v2::Timestamp { seconds: 1_700_000_000, nanos: 5_000 }),
            duration: Some(api_v2::Duration { seconds: 0, nanos: 2_000_000 }),
            tags: vec![api_v2::KeyValue { key: "span.kind".into(), v_str: "server".into(), ..Default::default() }],
            process: Some(api_v2::Process {
                service_name: "cart".into(),
                tags: vec![api_v2::KeyValue { key: "hostname".into(), v_str: "node-1".into(), ..Default::default() }],
            }),
            ..Default::default()
        }
    }

    fn otlp() -> TracesData {
        let span = |trace: u8, id: u8| Span {
            trace_id: vec![trace; 16],
            span_id: vec![id; 8],
            name: format!("op-{id}"),
            start_time_unix_nano: 1_700_000_000_000_000_000,
            end_time_unix_nano: 1_700_000_000_001_000_000,
            ..Default::default()
        };
        TracesData {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![KeyValue {
                        key: "service.name".into(),
                        value: Some(AnyValue { value: Some(any_value::Value::StringValue("svc".into())) }),
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans { spans: vec![span(1, 1), span(2, 2)], ..Default::default() }],
                schema_url: String::new(),
            }],
        }
    }

    #[test]
    fn jaeger_proto_record_reads_its_process_as_the_resource() {
        let data = RecordEncoding::JaegerProto.decode(None, &jaeger_span_proto().encode_to_vec()).expect("decodes");
        let docs = span_documents(&data, TraceIdFormat::Full);
        assert_eq!(docs.len(), 1);
        let doc: serde_json::Value = serde_json::from_slice(&docs[0].body).unwrap();
        assert_eq!(doc["traceID"], "ab".repeat(16));
        assert_eq!(doc["spanID"], "01".repeat(8));
        assert_eq!(doc["process"]["serviceName"], "cart");
        assert_eq!(doc["references"][0]["spanID"], "02".repeat(8));
        assert_eq!(doc["tag"]["span@kind"], "server");
        assert_eq!(doc["startTime"], 1_700_000_000_000_005u64);
    }

    #[test]
    fn jaeger_json_and_jaeger_proto_of_one_span_give_one_document() {
        let json = r#"{"traceId":"q6urq6urq6urq6urq6urqw==","spanId":"AQEBAQEBAQE=","operationName":"GET /",
            "references":[{"traceId":"q6urq6urq6urq6urq6urqw==","spanId":"AgICAgICAgI="}],
            "startTime":"2023-11-14T22:13:20.000005Z","duration":"0.002s",
            "tags":[{"key":"span.kind","vStr":"server"}],
            "process":{"serviceName":"cart","tags":[{"key":"hostname","vStr":"node-1"}]}}"#;
        let from_json = RecordEncoding::JaegerJson.decode(None, json.as_bytes()).expect("json decodes");
        let from_proto = RecordEncoding::JaegerProto.decode(None, &jaeger_span_proto().encode_to_vec()).unwrap();
        assert_eq!(from_json, from_proto);
    }

    #[test]
    fn otlp_batches_decode_whole_with_every_trace() {
        let data = otlp();
        let proto = RecordEncoding::OtlpProto.decode(None, &data.encode_to_vec()).expect("protobuf decodes");
        assert_eq!(proto, data);
        let json = serde_json::to_vec(&ExportTraceServiceRequest { resource_spans: data.resource_spans.clone() })
            .expect("serializes");
        assert_eq!(RecordEncoding::OtlpJson.decode(None, &json).expect("json decodes"), data);
    }

    #[test]
    fn analytics_bytes_are_traces_data_in_every_encoding() {
        let skein = otlp().encode_to_vec();
        assert!(matches!(RecordEncoding::Skein.traces_data_bytes(None, &skein), Ok(Cow::Borrowed(_))));
        assert!(matches!(RecordEncoding::OtlpProto.traces_data_bytes(None, &skein), Ok(Cow::Borrowed(_))));
        let jaeger = jaeger_span_proto().encode_to_vec();
        let bytes = RecordEncoding::JaegerProto.traces_data_bytes(None, &jaeger).expect("converts");
        let expected = RecordEncoding::JaegerProto.decode(None, &jaeger).unwrap();
        assert_eq!(TracesData::decode(bytes.as_ref()).unwrap(), expected);
        assert!(RecordEncoding::Skein.traces_data_bytes(Some("zstd-json"), &skein).is_err());
    }

    #[test]
    fn a_record_of_another_encoding_is_refused_with_the_setting_named() {
        let json = serde_json::to_vec(&ExportTraceServiceRequest { resource_spans: otlp().resource_spans }).unwrap();
        for encoding in [RecordEncoding::JaegerProto, RecordEncoding::OtlpProto, RecordEncoding::JaegerJson] {
            let error = encoding.decode(None, b"\x0a\xff\xff\xff").unwrap_err();
            assert!(error.to_string().contains(encoding.as_str()), "{encoding:?}: {error}");
        }
        let error = RecordEncoding::JaegerProto.decode(None, &json).unwrap_err();
        assert!(error.to_string().contains("jaeger_proto"), "{error}");
        let error = RecordEncoding::OtlpJson.decode(None, &otlp().encode_to_vec()).unwrap_err();
        assert!(error.to_string().contains("otlp_json"), "{error}");
        // A Jaeger span without a process has no service: refused, not indexed as nobody's.
        let mut orphan = jaeger_span_proto();
        orphan.process = None;
        let error = RecordEncoding::JaegerProto.decode(None, &orphan.encode_to_vec()).unwrap_err();
        assert!(error.to_string().contains("process"), "{error}");
    }

    #[test]
    fn encodings_are_named_as_in_the_configuration() {
        for encoding in [
            RecordEncoding::Skein,
            RecordEncoding::JaegerProto,
            RecordEncoding::JaegerJson,
            RecordEncoding::OtlpProto,
            RecordEncoding::OtlpJson,
        ] {
            let named: RecordEncoding = serde_json::from_value(serde_json::json!(encoding.as_str())).unwrap();
            assert_eq!(named, encoding);
        }
    }
}
