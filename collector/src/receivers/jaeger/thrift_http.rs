//! Jaeger Thrift over HTTP on port 14268: `POST /api/traces` with a binary-protocol `Batch`, as
//! Jaeger clients configured with a collector endpoint send it. 202 when Kafka has the spans; when
//! validation refused some, 202 still (the others are in Kafka) with a line naming them, and they
//! are counted and logged; 400 when it refused them all.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use axum::{Extension, Router};
use skein_core::auth::Principal;
use skein_schemas::jaeger::thrift::decode_batch;
use skein_schemas::jaeger::to_otlp::{batch_to_otlp, Origin};
use skein_schemas::thrift::Protocol;

use crate::export::Exporter;
use crate::receivers::answer::{accepted, export_refusal, refusal};
use crate::receivers::body;
use crate::validate::Rejections;

const TRANSPORT: &str = "jaeger_thrift_http";

#[derive(Clone)]
struct ThriftState {
    exporter: Exporter,
    max_request_bytes: usize,
}

/// `POST /api/traces`.
pub fn router(exporter: Exporter, max_request_bytes: usize) -> Router {
    Router::new()
        .route("/api/traces", post(post_traces))
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(ThriftState { exporter, max_request_bytes })
}

async fn post_traces(
    State(state): State<ThriftState>,
    principal: Option<Extension<Principal>>,
    headers: HeaderMap,
    request: Body,
) -> Response {
    let tenant = match state.exporter.tenant(TRANSPORT, &headers, principal.as_deref()) {
        Ok(tenant) => tenant,
        Err(error) => return export_refusal(error),
    };
    let media_type = body::media_type(&headers);
    if media_type != "application/x-thrift" && media_type != "application/vnd.apache.thrift.binary" {
        crate::telemetry::request(TRANSPORT, "unsupported_media_type");
        return refusal(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("Unsupported content type: {media_type:?}; send a binary Thrift Batch as application/x-thrift"),
            None,
        );
    }
    let (bytes, reservation) =
        match body::read_for_export(&state.exporter, TRANSPORT, &headers, request, state.max_request_bytes).await {
            Ok(body::ReadBody { bytes, reservation }) => (bytes, reservation),
            Err(refused) => return refused.into_plain_response(),
        };
    let batch = match decode_batch(&bytes, Protocol::Binary) {
        Ok(batch) => batch,
        Err(error) => {
            crate::telemetry::request(TRANSPORT, "malformed");
            return refusal(
                StatusCode::BAD_REQUEST,
                format!("Unable to process request body: not a binary Thrift jaeger.Batch: {error}"),
                None,
            );
        }
    };
    let otlp = batch_to_otlp(batch, Origin::Thrift);
    match state.exporter.export_otlp(TRANSPORT, tenant.as_ref(), otlp, Rejections::default(), &reservation).await {
        Ok(outcome) => accepted(&outcome),
        Err(error) => export_refusal(error),
    }
}
