//! How every receiver answers: the HTTP status and `Retry-After` of an export failure, the
//! plain-text refusal of the Jaeger and Zipkin ports and their 202, and the gRPC status OTLP
//! prescribes. OTLP/HTTP wraps the same status and delay in its own body.

use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::error::{ExportError, PublishError};
use crate::export::ExportOutcome;

/// Header (HTTP) and trailing-free response metadata (gRPC) with the number of spans refused in
/// a request that was otherwise accepted, on the ports whose protocol has no field for it.
pub const REJECTED_SPANS_HEADER: &str = "skein-rejected-spans";

/// The HTTP status every HTTP receiver answers an export failure with.
pub fn http_status(error: &ExportError) -> StatusCode {
    match error {
        ExportError::InvalidRequest(_) => StatusCode::BAD_REQUEST,
        ExportError::Tenant(refusal) => refusal.status(),
        ExportError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        ExportError::TooManySpans { .. } | ExportError::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        ExportError::Publish(PublishError::Overloaded { .. }) => StatusCode::TOO_MANY_REQUESTS,
        ExportError::Publish(PublishError::Unavailable { .. }) => StatusCode::SERVICE_UNAVAILABLE,
        ExportError::Publish(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// `Retry-After` in whole seconds, rounded up (a client retrying sooner would be refused
/// again), at least 1 (0 would invite an immediate retry).
pub fn retry_after_seconds(delay: Duration) -> u64 {
    (delay.as_secs() + u64::from(delay.subsec_nanos() > 0)).max(1)
}

/// A plain-text refusal, as Jaeger's collector and Zipkin answer; retryable ones carry
/// `Retry-After`.
pub fn refusal(status: StatusCode, message: String, retry_after: Option<Duration>) -> Response {
    let mut response = (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], message + "\n").into_response();
    if let Some(delay) = retry_after {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_seconds(delay)));
    }
    response
}

/// The 202 of the Jaeger Thrift and Zipkin ports once Kafka has the spans. Empty when every span
/// was accepted, as Jaeger's and Zipkin's servers answer; otherwise a plain-text line naming the
/// first refused spans, and their number in [`REJECTED_SPANS_HEADER`]. Their clients read nothing
/// of a success (refusals show in the collector's metrics and log); a person with curl does.
pub fn accepted(outcome: &ExportOutcome) -> Response {
    if outcome.rejected_spans == 0 {
        return StatusCode::ACCEPTED.into_response();
    }
    let mut response = refusal(StatusCode::ACCEPTED, outcome.error_message.clone(), None);
    response.headers_mut().insert(REJECTED_SPANS_HEADER, HeaderValue::from(outcome.rejected_spans));
    response
}

/// The plain-text answer to an export failure.
pub fn export_refusal(error: ExportError) -> Response {
    refusal(http_status(&error), error.to_string(), error.retry_after())
}

/// The gRPC status OTLP prescribes for an export failure; retryable ones carry `RetryInfo`.
pub fn grpc_status(error: ExportError) -> Status {
    let message = error.to_string();
    match (&error, error.retry_after()) {
        (ExportError::Tenant(refusal), _) => match refusal.status() {
            StatusCode::UNAUTHORIZED => Status::unauthenticated(message),
            StatusCode::BAD_REQUEST => Status::invalid_argument(message),
            _ => Status::permission_denied(message),
        },
        (ExportError::Publish(PublishError::Overloaded { .. }) | ExportError::RateLimited { .. }, Some(delay)) => {
            Status::with_error_details(Code::ResourceExhausted, message, ErrorDetails::with_retry_info(Some(delay)))
        }
        (_, Some(delay)) => {
            Status::with_error_details(Code::Unavailable, message, ErrorDetails::with_retry_info(Some(delay)))
        }
        (ExportError::InvalidRequest(_) | ExportError::TooManySpans { .. }, None) => Status::invalid_argument(message),
        (ExportError::BodyTooLarge { .. }, None) => Status::resource_exhausted(message),
        (_, None) => Status::internal(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn overloaded() -> ExportError {
        ExportError::Publish(PublishError::Overloaded { retry_after: Duration::from_millis(200) })
    }

    #[test]
    fn a_partial_acceptance_is_202_naming_the_refused_spans_and_a_full_one_is_empty() {
        let outcome = ExportOutcome { rejected_spans: 2, error_message: "2 of 3 spans rejected: x".into() };
        let response = accepted(&outcome);
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        assert_eq!(response.headers()[REJECTED_SPANS_HEADER], "2");
        assert_eq!(response.headers()[header::CONTENT_TYPE], "text/plain; charset=utf-8");
        let response = accepted(&ExportOutcome::default());
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        assert!(response.headers().get(REJECTED_SPANS_HEADER).is_none());
        assert!(response.headers().get(header::CONTENT_TYPE).is_none());
    }

    #[test]
    fn overload_is_429_with_a_retry_after_of_at_least_a_second() {
        let response = export_refusal(overloaded());
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
    }

    #[test]
    fn a_rate_limited_tenant_gets_429_or_resource_exhausted_with_the_delay() {
        let limited = || ExportError::RateLimited {
            tenant: "acme".into(),
            spans_per_second: 10,
            retry_after: Duration::from_millis(2_500),
        };
        let response = export_refusal(limited());
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "3", "rounded up");
        let status = grpc_status(limited());
        assert_eq!(status.code(), Code::ResourceExhausted);
        assert!(status.message().contains("acme"), "{}", status.message());
        assert_eq!(status.get_details_retry_info().and_then(|i| i.retry_delay), Some(Duration::from_millis(2_500)));
    }

    #[test]
    fn tenant_refusals_are_unauthenticated_or_permission_denied() {
        use skein_core::tenancy::TenantRefusal;
        let missing = || ExportError::Tenant(TenantRefusal::Missing { header: "x-scope-orgid".into() });
        assert_eq!(export_refusal(missing()).status(), StatusCode::UNAUTHORIZED);
        assert_eq!(grpc_status(missing()).code(), Code::Unauthenticated);
        let unknown = || ExportError::Tenant(TenantRefusal::Unknown("initech".into()));
        assert_eq!(export_refusal(unknown()).status(), StatusCode::FORBIDDEN);
        assert_eq!(grpc_status(unknown()).code(), Code::PermissionDenied);
    }

    #[test]
    fn an_invalid_request_is_400_without_retry_after() {
        let response = export_refusal(ExportError::InvalidRequest("no spans".into()));
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert!(response.headers().get(header::RETRY_AFTER).is_none());
    }

    #[test]
    fn grpc_codes_follow_otlp_and_retryable_ones_say_when() {
        let status = grpc_status(overloaded());
        assert_eq!(status.code(), Code::ResourceExhausted);
        assert_eq!(status.get_details_retry_info().and_then(|info| info.retry_delay), Some(Duration::from_millis(200)));
        let unavailable = ExportError::Publish(PublishError::Unavailable {
            reason: "broker down".into(),
            retry_after: Duration::from_secs(2),
        });
        assert_eq!(grpc_status(unavailable).code(), Code::Unavailable);
        assert_eq!(grpc_status(ExportError::InvalidRequest("bad".into())).code(), Code::InvalidArgument);
        let too_large = ExportError::Publish(PublishError::RecordTooLarge { reason: "10 MB".into() });
        assert_eq!(grpc_status(too_large).code(), Code::Internal);
    }
}
