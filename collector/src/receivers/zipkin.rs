//! Zipkin on port 9411: `POST /api/v2/spans` with a JSON list or a proto3 `ListOfSpans`
//! (`Content-Type: application/x-protobuf`), gzip allowed. 202 when Kafka has the spans.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use skein_schemas::zipkin::{json, proto, to_otlp::spans_to_otlp};

use crate::export::Exporter;
use crate::receivers::answer::{export_refusal, refusal};
use crate::receivers::body;

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

async fn post_spans(State(state): State<ZipkinState>, headers: HeaderMap, request: Body) -> Response {
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
    let bytes = match body::read(&headers, request, state.max_request_bytes).await {
        Ok(bytes) => bytes,
        Err((status, message)) => return refusal(status, message, None),
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return StatusCode::ACCEPTED.into_response();
    }
    let reservation = match state.exporter.reserve(transport, bytes.len()) {
        Ok(reservation) => reservation,
        Err(error) => return export_refusal(error),
    };
    let decoded = if proto { proto::decode_spans(&bytes) } else { json::decode_spans(&bytes) };
    let spans = match decoded {
        Ok(spans) => spans,
        Err(error) => {
            crate::telemetry::request(transport, "malformed");
            return refusal(StatusCode::BAD_REQUEST, format!("Expected a Zipkin v2 list of spans: {error}"), None);
        }
    };
    if spans.is_empty() {
        return StatusCode::ACCEPTED.into_response();
    }
    match state.exporter.export_otlp(transport, spans_to_otlp(spans), &reservation).await {
        Ok(_) => StatusCode::ACCEPTED.into_response(),
        Err(error) => export_refusal(error),
    }
}
