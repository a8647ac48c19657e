//! Sampling over HTTP as Jaeger's agent and collector answer it: `GET /sampling?service=NAME` and
//! `/api/sampling?service=NAME` with enum names, `/` with the numeric `strategyType` the oldest
//! clients read.

use axum::extract::{RawQuery, State};
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use skein_schemas::jaeger::sampling::{response_json, EnumStyle};

use super::StrategySource;

/// A router answering sampling requests on every path (as Jaeger's port 5778 does).
pub fn router<S: StrategySource>(source: S) -> Router {
    Router::new().fallback(any(sampling::<S>)).with_state(source)
}

/// The one route to add on another HTTP port (the collector's Thrift port, as in Jaeger).
pub fn api_route<S: StrategySource>(source: S) -> Router {
    Router::new().route("/api/sampling", any(sampling::<S>)).with_state(source)
}

/// The `service` parameter when given exactly once.
pub fn service_parameter(query: Option<&str>) -> Option<String> {
    let mut values = form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .filter(|(key, _)| key == "service")
        .map(|(_, value)| value.into_owned());
    let first = values.next()?;
    values.next().is_none().then_some(first)
}

async fn sampling<S: StrategySource>(State(source): State<S>, uri: Uri, RawQuery(query): RawQuery) -> Response {
    let Some(service) = service_parameter(query.as_deref()) else {
        metrics::counter!("skein_sampling_requests_total", "outcome" => "bad_request").increment(1);
        return (StatusCode::BAD_REQUEST, "'service' parameter must be provided once\n").into_response();
    };
    let style = if uri.path() == "/" { EnumStyle::Numbers } else { EnumStyle::Names };
    match source.strategy(service).await {
        Ok(response) => {
            metrics::counter!("skein_sampling_requests_total", "outcome" => "ok").increment(1);
            (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], response_json(&response, style))
                .into_response()
        }
        Err(error) => {
            metrics::counter!("skein_sampling_requests_total", "outcome" => "error").increment(1);
            (StatusCode::INTERNAL_SERVER_ERROR, format!("collector error: {error}\n")).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_must_be_given_exactly_once() {
        assert_eq!(service_parameter(Some("service=a%20b")), Some("a b".into()));
        assert_eq!(service_parameter(Some("service=")), Some(String::new()));
        assert_eq!(service_parameter(Some("service=a&service=b")), None);
        assert_eq!(service_parameter(Some("other=1")), None);
        assert_eq!(service_parameter(None), None);
    }
}
