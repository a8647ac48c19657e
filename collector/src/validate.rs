//! Span validation: what the collector refuses before anything reaches Kafka.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use skein_schemas::otlp_wire::{WireRequest, WireSpan};

/// Why a span was refused; the label of `skein_collector_spans_rejected_total{reason}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectReason {
    InvalidTraceId,
    InvalidSpanId,
    EndBeforeStart,
    SpanTooLarge,
}

impl RejectReason {
    pub fn as_label(self) -> &'static str {
        match self {
            RejectReason::InvalidTraceId => "invalid_trace_id",
            RejectReason::InvalidSpanId => "invalid_span_id",
            RejectReason::EndBeforeStart => "end_before_start",
            RejectReason::SpanTooLarge => "span_too_large",
        }
    }
}

/// One refused span, with a message a user can act on.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    pub reason: RejectReason,
    pub message: String,
}

/// Remove invalid spans from `request` (keeping the rest in order) and describe them.
pub fn retain_valid_spans(request: &mut WireRequest<'_>) -> Vec<Rejection> {
    let mut rejections = Vec::new();
    request.retain_spans(|span| match check_span(span) {
        Ok(()) => true,
        Err(rejection) => {
            rejections.push(rejection);
            false
        }
    });
    rejections
}

/// [`retain_valid_spans`] for a request held as structs (what the Jaeger and Zipkin receivers
/// convert to); resources and scopes left without spans are dropped.
pub fn retain_valid_otlp(request: &mut ExportTraceServiceRequest) -> Vec<Rejection> {
    let mut rejections = Vec::new();
    for resource_spans in &mut request.resource_spans {
        for scope_spans in &mut resource_spans.scope_spans {
            scope_spans.spans.retain(|span| {
                let fields = SpanFields {
                    trace_id: &span.trace_id,
                    span_id: &span.span_id,
                    name: &span.name,
                    start: span.start_time_unix_nano,
                    end: span.end_time_unix_nano,
                };
                match check(&fields) {
                    Ok(()) => true,
                    Err(rejection) => {
                        rejections.push(rejection);
                        false
                    }
                }
            });
        }
        resource_spans.scope_spans.retain(|scope_spans| !scope_spans.spans.is_empty());
    }
    request.resource_spans.retain(|resource_spans| !resource_spans.scope_spans.is_empty());
    rejections
}

/// What validation looks at, whichever form the span is in.
struct SpanFields<'a> {
    trace_id: &'a [u8],
    span_id: &'a [u8],
    name: &'a str,
    start: u64,
    end: u64,
}

fn check_span(span: &WireSpan<'_>) -> Result<(), Rejection> {
    check(&SpanFields {
        trace_id: span.trace_id,
        span_id: span.span_id,
        name: span.name,
        start: span.start_time_unix_nano,
        end: span.end_time_unix_nano,
    })
}

fn check(span: &SpanFields<'_>) -> Result<(), Rejection> {
    if span.trace_id.len() != 16 || span.trace_id.iter().all(|b| *b == 0) {
        return Err(Rejection {
            reason: RejectReason::InvalidTraceId,
            message: format!(
                "span {:?} has trace id {:?}: a trace id must be 16 bytes and not all zero",
                span.name,
                hex::encode(span.trace_id)
            ),
        });
    }
    if span.span_id.len() != 8 || span.span_id.iter().all(|b| *b == 0) {
        return Err(Rejection {
            reason: RejectReason::InvalidSpanId,
            message: format!(
                "span {:?} of trace {} has span id {:?}: a span id must be 8 bytes and not all zero",
                span.name,
                hex::encode(span.trace_id),
                hex::encode(span.span_id)
            ),
        });
    }
    if span.end < span.start {
        return Err(Rejection {
            reason: RejectReason::EndBeforeStart,
            message: format!(
                "span {} of trace {} ends ({} ns) before it starts ({} ns)",
                hex::encode(span.span_id),
                hex::encode(span.trace_id),
                span.end,
                span.start
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
    use prost::Message;

    fn request(spans: Vec<Span>) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans { spans, ..Default::default() }],
                ..Default::default()
            }],
        }
    }

    fn good(id: u8) -> Span {
        Span {
            trace_id: vec![1; 16],
            span_id: vec![id; 8],
            start_time_unix_nano: 10,
            end_time_unix_nano: 20,
            ..Default::default()
        }
    }

    #[test]
    fn keeps_valid_spans_and_explains_each_refusal() {
        let zero_trace = Span { trace_id: vec![0; 16], ..good(2) };
        let short_span = Span { span_id: vec![1; 4], ..good(3) };
        let backwards = Span { start_time_unix_nano: 30, ..good(4) };
        let encoded = request(vec![good(1), zero_trace, short_span, backwards, good(5)]).encode_to_vec();
        let mut req = WireRequest::parse(&encoded).unwrap();
        let rejections = retain_valid_spans(&mut req);
        let reasons: Vec<_> = rejections.iter().map(|r| r.reason).collect();
        assert_eq!(
            reasons,
            vec![RejectReason::InvalidTraceId, RejectReason::InvalidSpanId, RejectReason::EndBeforeStart]
        );
        assert!(rejections[0].message.contains("16 bytes"));
        assert!(rejections[2].message.contains("before it starts"));
        assert_eq!(req.span_count(), 2);
    }

    #[test]
    fn struct_requests_are_validated_alike() {
        let mut request = request(vec![
            good(1),
            Span { trace_id: vec![0; 16], ..good(2) },
            Span { start_time_unix_nano: 30, ..good(4) },
        ]);
        let rejections = retain_valid_otlp(&mut request);
        let reasons: Vec<_> = rejections.iter().map(|r| r.reason).collect();
        assert_eq!(reasons, vec![RejectReason::InvalidTraceId, RejectReason::EndBeforeStart]);
        assert_eq!(request.resource_spans[0].scope_spans[0].spans.len(), 1);
        let mut empty = super::tests::request(vec![Span { span_id: vec![0; 8], ..good(1) }]);
        retain_valid_otlp(&mut empty);
        assert!(empty.resource_spans.is_empty());
    }

    #[test]
    fn drops_empty_resource_and_scope_shells() {
        let encoded = request(vec![Span { span_id: vec![0; 8], ..good(1) }]).encode_to_vec();
        let mut req = WireRequest::parse(&encoded).unwrap();
        assert_eq!(retain_valid_spans(&mut req).len(), 1);
        assert!(req.resources.is_empty());
    }
}
