//! OTLP/HTTP: `POST /v1/traces` with protobuf or JSON bodies, optionally gzip-compressed. Answers
//! follow the OTLP/HTTP rules: the response uses the request's encoding, refusals carry a
//! `google.rpc.Status`, and retryable refusals carry `Retry-After`.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Extension;
use axum::Router;
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use prost::Message;
use skein_core::auth::Principal;
use skein_schemas::tenant::Tenant;

use crate::error::ExportError;
use crate::export::{ExportOutcome, Exporter};
use crate::receivers::answer::{http_status, retry_after_seconds};
use crate::receivers::body;

const PROTOBUF: &str = "application/x-protobuf";
const JSON: &str = "application/json";

/// The request body encodings OTLP/HTTP defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Protobuf,
    Json,
}

impl Encoding {
    fn transport(self) -> &'static str {
        match self {
            Encoding::Protobuf => "otlp_http_protobuf",
            Encoding::Json => "otlp_http_json",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Encoding::Protobuf => PROTOBUF,
            Encoding::Json => JSON,
        }
    }
}

#[derive(Clone)]
struct HttpState {
    exporter: Exporter,
    max_request_bytes: usize,
}

/// The OTLP/HTTP router.
pub fn router(exporter: Exporter, max_request_bytes: usize) -> Router {
    Router::new()
        .route("/v1/traces", post(export_traces))
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(HttpState { exporter, max_request_bytes })
}

/// A refusal before or after decoding, as OTLP/HTTP answers it.
struct Refusal {
    status: StatusCode,
    message: String,
    retry_after_seconds: Option<u64>,
    /// The body was refused before it was read whole: the connection closes after the answer.
    close_connection: bool,
}

impl Refusal {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self { status, message: message.into(), retry_after_seconds: None, close_connection: false }
    }

    fn into_response(self, encoding: Encoding) -> Response {
        let code = grpc_code(self.status);
        let (content_type, body) = match encoding {
            Encoding::Protobuf => {
                let status = tonic_types::Status { code, message: self.message, details: Vec::new() };
                (PROTOBUF, Body::from(status.encode_to_vec()))
            }
            Encoding::Json => {
                let status = serde_json::json!({ "code": code, "message": self.message });
                (JSON, Body::from(status.to_string()))
            }
        };
        let mut response = (self.status, [(header::CONTENT_TYPE, content_type)], body).into_response();
        if let Some(seconds) = self.retry_after_seconds {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.close_connection {
            body::close_connection(&mut response);
        }
        response
    }
}

impl From<ExportError> for Refusal {
    fn from(error: ExportError) -> Self {
        let status = http_status(&error);
        let retry_after_seconds = error.retry_after().map(retry_after_seconds);
        Refusal { status, message: error.to_string(), retry_after_seconds, close_connection: false }
    }
}

/// The gRPC code matching an HTTP status, for the `google.rpc.Status` body.
fn grpc_code(status: StatusCode) -> i32 {
    match status {
        StatusCode::BAD_REQUEST | StatusCode::UNSUPPORTED_MEDIA_TYPE => tonic::Code::InvalidArgument as i32,
        StatusCode::PAYLOAD_TOO_LARGE | StatusCode::TOO_MANY_REQUESTS => tonic::Code::ResourceExhausted as i32,
        StatusCode::UNAUTHORIZED => tonic::Code::Unauthenticated as i32,
        StatusCode::FORBIDDEN => tonic::Code::PermissionDenied as i32,
        StatusCode::SERVICE_UNAVAILABLE => tonic::Code::Unavailable as i32,
        _ => tonic::Code::Internal as i32,
    }
}

/// The body encoding named by `Content-Type`, ignoring parameters such as `charset`.
pub fn encoding_of(headers: &HeaderMap) -> Result<Encoding, String> {
    match body::media_type(headers).as_str() {
        "application/x-protobuf" | "application/protobuf" => Ok(Encoding::Protobuf),
        "application/json" => Ok(Encoding::Json),
        "" => Err(format!("missing Content-Type: send {PROTOBUF} or {JSON}")),
        other => Err(format!("unsupported Content-Type {other:?}: send {PROTOBUF} or {JSON}")),
    }
}

async fn export_traces(
    State(state): State<HttpState>,
    principal: Option<Extension<Principal>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let encoding = match encoding_of(&headers) {
        Ok(encoding) => encoding,
        Err(message) => return Refusal::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, message).into_response(Encoding::Json),
    };
    let tenant = match state.exporter.tenant(encoding.transport(), &headers, principal.as_deref()) {
        Ok(tenant) => tenant,
        Err(error) => return Refusal::from(error).into_response(encoding),
    };
    match handle(&state, encoding, tenant.as_ref(), &headers, body).await {
        Ok(outcome) => success(encoding, &outcome),
        Err(refusal) => refusal.into_response(encoding),
    }
}

async fn handle(
    state: &HttpState,
    encoding: Encoding,
    tenant: Option<&Tenant>,
    headers: &HeaderMap,
    body: Body,
) -> Result<ExportOutcome, Refusal> {
    let transport = encoding.transport();
    let body::ReadBody { bytes: body, reservation } =
        body::read_for_export(&state.exporter, transport, headers, body, state.max_request_bytes).await.map_err(
            |refusal| Refusal {
                status: refusal.status,
                message: refusal.message,
                retry_after_seconds: refusal.retry_after.map(retry_after_seconds),
                close_connection: true,
            },
        )?;
    let encoded = match encoding {
        // Protobuf goes on as received: the exporter reads its framing and copies span bytes.
        Encoding::Protobuf => body,
        Encoding::Json => Bytes::from(
            decode_json(&body)
                .map_err(|message| {
                    crate::telemetry::request(transport, "malformed");
                    Refusal::new(StatusCode::BAD_REQUEST, message)
                })?
                .encode_to_vec(),
        ),
    };
    state.exporter.export(transport, tenant, &encoded, &reservation).await.map_err(Refusal::from)
}

fn decode_json(body: &[u8]) -> Result<ExportTraceServiceRequest, String> {
    serde_json::from_slice(body)
        .map_err(|error| format!("body is not a valid OTLP ExportTraceServiceRequest JSON document: {error}"))
}

fn success(encoding: Encoding, outcome: &ExportOutcome) -> Response {
    let body = match encoding {
        Encoding::Protobuf => {
            Body::from(ExportTraceServiceResponse { partial_success: outcome.partial_success() }.encode_to_vec())
        }
        // ProtoJSON: int64 as a string, an absent partial_success as an empty object.
        Encoding::Json => Body::from(match outcome.partial_success() {
            None => "{}".to_string(),
            Some(partial) => serde_json::json!({
                "partialSuccess": {
                    "rejectedSpans": partial.rejected_spans.to_string(),
                    "errorMessage": partial.error_message,
                }
            })
            .to_string(),
        }),
    };
    (StatusCode::OK, [(header::CONTENT_TYPE, encoding.content_type())], body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::receivers::body::headers;

    #[test]
    fn content_type_parameters_are_ignored() {
        assert_eq!(encoding_of(&headers(&[("content-type", "application/json; charset=utf-8")])), Ok(Encoding::Json));
        assert_eq!(encoding_of(&headers(&[("content-type", "application/x-protobuf")])), Ok(Encoding::Protobuf));
        assert!(encoding_of(&headers(&[("content-type", "text/plain")])).unwrap_err().contains("text/plain"));
        assert!(encoding_of(&headers(&[])).unwrap_err().contains("missing"));
    }

    #[test]
    fn otlp_json_with_hex_ids_and_string_int64_decodes() {
        let body =
            br#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},
            "scopeSpans":[{"scope":{"name":"lib"},"spans":[{"traceId":"5b8efff798038103d269b633813fc60c",
            "spanId":"eee19b7ec3c1b174","name":"GET /","kind":2,"startTimeUnixNano":"1544712660000000000",
            "endTimeUnixNano":"1544712661000000000","attributes":[{"key":"n","value":{"intValue":"42"}}],
            "status":{"code":2,"message":"boom"},"unknownField":true}]}]}]}"#;
        let request = decode_json(body).expect("valid OTLP JSON decodes");
        let span = &request.resource_spans[0].scope_spans[0].spans[0];
        assert_eq!(hex::encode(&span.trace_id), "5b8efff798038103d269b633813fc60c");
        assert_eq!(span.kind, 2);
        assert_eq!(span.start_time_unix_nano, 1_544_712_660_000_000_000);
        assert_eq!(span.status.as_ref().unwrap().code, 2);
    }

    #[test]
    fn malformed_json_names_the_problem() {
        assert!(decode_json(b"{\"resourceSpans\": 5}").unwrap_err().contains("JSON"));
    }
}
