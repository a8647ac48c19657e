//! Zipkin on port 9411: `POST /api/v2/spans` with a JSON list or a proto3 `ListOfSpans`
//! (`Content-Type: application/x-protobuf`), gzip allowed. 202 when Kafka has the spans.
//!
//! A span that cannot be read or is invalid is dropped and the others go on: 202 once they are
//! in Kafka, with a line naming the dropped ones (and their number in `skein-rejected-spans`); 400
//! when none is left. Zipkin reporters (zipkin-reporter, OpenTelemetry's Zipkin exporters) log a
//! non-2xx answer and drop the whole batch without retrying, so refusing a request for one bad
//! span would lose every good one with it; a bad span would be refused again on any retry.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Router};
use skein_core::auth::Principal;
use skein_schemas::zipkin::{json, proto, to_otlp::spans_to_otlp, RefusedSpan, SpanFault};

use crate::export::Exporter;
use crate::receivers::answer::{accepted, export_refusal, refusal};
use crate::receivers::body;
use crate::validate::{RejectReason, Rejections};

#[derive(Clone)]
struct ZipkinState {
    exporter: Exporter,
    max_request_bytes: usize,
}

/// `POST /api/v2/spans`; `/api/v1/spans` answers with what to send instead.
pub fn router(exporter: Exporter, max_request_bytes: usize) -> Router {
    Router::new()
        .route("/api/v2/spans", post(post_spans))
        .route("/api/v1/spans", post(v1_spans))
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(ZipkinState { exporter, max_request_bytes })
}

async fn v1_spans() -> Response {
    crate::telemetry::request("zipkin_v1", "unsupported");
    refusal(
        StatusCode::BAD_REQUEST,
        "Zipkin v1 spans are not accepted: send Zipkin v2 (JSON or proto3) to /api/v2/spans, as every current Zipkin reporter can".into(),
        None,
    )
}

async fn post_spans(
    State(state): State<ZipkinState>,
    principal: Option<Extension<Principal>>,
    headers: HeaderMap,
    request: Body,
) -> Response {
    let tenant = match state.exporter.tenant("zipkin", &headers, principal.as_deref()) {
        Ok(tenant) => tenant,
        Err(error) => return export_refusal(error),
    };
    let (transport, proto) = match body::media_type(&headers).as_str() {
        "application/x-protobuf" | "application/protobuf" => ("zipkin_proto", true),
        "application/json" | "" => ("zipkin_json", false),
        other => {
            crate::telemetry::request("zipkin", "unsupported_media_type");
            return refusal(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("unsupported Content-Type {other:?}: send application/json or application/x-protobuf"),
                None,
            );
        }
    };
    let (bytes, reservation) =
        match body::read_for_export(&state.exporter, transport, &headers, request, state.max_request_bytes).await {
            Ok(body::ReadBody { bytes, reservation }) => (bytes, reservation),
            Err(refused) => return refused.into_plain_response(),
        };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return StatusCode::ACCEPTED.into_response();
    }
    let mut refused = Rejections::default();
    let mut refuse = |span: RefusedSpan| note_refused(&mut refused, span);
    let decoded = if proto {
        proto::decode_readable_spans(&bytes, &mut refuse)
    } else {
        json::decode_readable_spans(&bytes, &mut refuse)
    };
    let spans = match decoded {
        Ok(spans) => spans,
        Err(error) => {
            crate::telemetry::request(transport, "malformed");
            return refusal(StatusCode::BAD_REQUEST, format!("Expected a Zipkin v2 list of spans: {error}"), None);
        }
    };
    if spans.is_empty() && refused.is_empty() {
        return StatusCode::ACCEPTED.into_response();
    }
    match state.exporter.export_otlp(transport, tenant.as_ref(), spans_to_otlp(spans), refused, &reservation).await {
        Ok(outcome) => accepted(&outcome),
        Err(error) => export_refusal(error),
    }
}

/// Count a span the decoder could not read, under the reason validation would give it.
fn note_refused(refused: &mut Rejections, span: RefusedSpan) {
    let reason = match span.fault {
        SpanFault::TraceId => RejectReason::InvalidTraceId,
        SpanFault::SpanId => RejectReason::InvalidSpanId,
        SpanFault::Other => RejectReason::MalformedSpan,
    };
    let RefusedSpan { index, service, message, .. } = span;
    refused.add(reason, || service.unwrap_or_default(), || format!("span {index}: {message}"));
}
