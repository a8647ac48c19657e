//! Spans an OTLP collector refused inside an accepted request (`partial_success.rejected_spans`).

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message;

/// From a gRPC answer, or an HTTP protobuf body once decoded.
pub(super) fn rejected_spans(response: Option<ExportTraceServiceResponse>) -> u64 {
    response.and_then(|r| r.partial_success).map_or(0, |p| p.rejected_spans.max(0) as u64)
}

/// From an HTTP protobuf body; an unreadable one refused nothing.
pub(super) fn protobuf_rejected_spans(body: &[u8]) -> u64 {
    rejected_spans(ExportTraceServiceResponse::decode(body).ok())
}

/// From an HTTP JSON body, where the 64-bit count may be written as a string.
pub(super) fn json_rejected_spans(body: &[u8]) -> u64 {
    let value: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    match &value["partialSuccess"]["rejectedSpans"] {
        serde_json::Value::String(text) => text.parse().unwrap_or(0),
        other => other.as_u64().unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTracePartialSuccess;

    use super::*;

    #[test]
    fn json_partial_success_is_read() {
        assert_eq!(json_rejected_spans(br#"{"partialSuccess":{"rejectedSpans":"3"}}"#), 3);
        assert_eq!(json_rejected_spans(br#"{"partialSuccess":{"rejectedSpans":4}}"#), 4);
        assert_eq!(json_rejected_spans(b"{}"), 0);
    }

    #[test]
    fn protobuf_partial_success_is_read_and_an_empty_body_refused_nothing() {
        let response = ExportTraceServiceResponse {
            partial_success: Some(ExportTracePartialSuccess { rejected_spans: 7, error_message: "too old".into() }),
        };
        assert_eq!(protobuf_rejected_spans(&response.encode_to_vec()), 7);
        assert_eq!(protobuf_rejected_spans(b""), 0);
    }
}
