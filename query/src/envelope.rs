//! Jaeger's JSON envelope `{data, total, limit, offset, errors}`, in which Jaeger's `/api`
//! answers everything: data, and errors with the HTTP status.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::Value;

/// Jaeger's envelope, fields in Jaeger's order.
#[derive(Serialize)]
pub struct Envelope<T> {
    pub data: T,
    pub total: usize,
    pub limit: usize,
    pub offset: usize,
    pub errors: Option<Vec<Value>>,
}

/// A success answer.
pub fn envelope<T: Serialize>(data: T, total: usize) -> Response {
    Json(Envelope { data, total, limit: 0, offset: 0, errors: None }).into_response()
}

/// An error answer: no data, one error with the status code and `message`.
pub fn error_envelope(status: StatusCode, message: String) -> Response {
    let body = Envelope {
        data: (),
        total: 0,
        limit: 0,
        offset: 0,
        errors: Some(vec![serde_json::json!({"code": status.as_u16(), "msg": message})]),
    };
    (status, Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(response: Response) -> Value {
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body");
        serde_json::from_slice(&bytes).expect("JSON")
    }

    #[tokio::test]
    async fn answers_carry_jaegers_envelope_and_errors_their_status() {
        let ok = envelope(["a"], 1);
        assert_eq!(ok.status(), StatusCode::OK);
        assert_eq!(
            body(ok).await,
            serde_json::json!({"data": ["a"], "total": 1, "limit": 0, "offset": 0, "errors": null})
        );
        let missing = error_envelope(StatusCode::NOT_FOUND, "no such thing".into());
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            body(missing).await,
            serde_json::json!({"data": null, "total": 0, "limit": 0, "offset": 0,
                               "errors": [{"code": 404, "msg": "no such thing"}]})
        );
    }
}
