//! Every HTTP endpoint of the query address, wired to its handler: Jaeger's API (`/api/...`,
//! `/api/v3/...`), skein's own (`/api/skein/...`, and Jaeger UI's deep dependency graph at
//! `/analytics/v1/dependencies`), and the embedded UI for whatever they do not match. Handlers
//! live in their modules; nothing imports from here.

use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use skein_core::tenancy::Tenancy;
use skein_core::SkeinConfig;

use crate::pipeline::{self, Pipeline};
use crate::state::QueryState;
use crate::tenancy::{self, TENANCY_PATH};
use crate::{api, assets, graph, metrics, v3};

/// The router of the query address. Builds no connection: requests use `client`.
pub fn app(config: &SkeinConfig, client: elasticsearch::Elasticsearch) -> Router {
    let tenancy = Arc::new(Tenancy::new(&config.tenancy));
    let tenancy_info = Router::new().route(TENANCY_PATH, get(tenancy::tenancy_info)).with_state(tenancy.clone());
    let pipeline = Router::new()
        .route("/api/skein/pipeline", get(pipeline::pipeline_report))
        .with_state(Arc::new(Pipeline::new(config, client.clone())));
    Router::new()
        .route("/api/services", get(api::services))
        .route("/api/services/{service}/operations", get(api::service_operations))
        .route("/api/operations", get(api::operations))
        .route("/api/traces", get(api::search))
        .route("/api/traces/{trace_id}", get(api::trace_by_id))
        .route("/api/dependencies", get(api::dependencies))
        .route("/api/metrics/{metric}", get(metrics::metrics))
        .route("/api/v3/services", get(v3::services))
        .route("/api/v3/operations", get(v3::operations))
        .route("/api/v3/traces", get(v3::find_traces))
        .route("/api/v3/traces/{trace_id}", get(v3::get_trace))
        .route("/api/skein/graph", get(graph::service_graph))
        .route("/api/skein/graph/operations", get(graph::operation_graph))
        .route("/analytics/v1/dependencies", get(graph::deep_dependencies))
        .with_state(Arc::new(QueryState::new(config, client)))
        .merge(pipeline)
        .merge(tenancy_info)
        .fallback(assets::fallback)
        .layer(axum::middleware::from_fn_with_state(tenancy, tenancy::require_tenant))
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use serde_json::Value;
    use tower::ServiceExt;

    use super::*;

    /// The router, with an Elasticsearch nothing listens on: parameters are checked before any
    /// read, and a read would fail loudly.
    async fn get(uri: &str) -> (StatusCode, Value) {
        let mut config = skein_core::SkeinConfig::default();
        config.elasticsearch.url = "http://127.0.0.1:1".into();
        let client = skein_core::elasticsearch::client(&config.elasticsearch).expect("client builds");
        let request = Request::builder().uri(uri).body(Body::empty()).unwrap();
        let response = app(&config, client).oneshot(request).await.expect("the router answers");
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body");
        (status, serde_json::from_slice(&body).expect("a JSON answer"))
    }

    #[tokio::test]
    async fn bad_parameters_get_400_naming_the_parameter_on_every_graph_endpoint() {
        for (uri, named) in [
            ("/api/skein/graph?lookback=1h", "'lookback'"),
            ("/api/skein/graph?endTs=yesterday", "'endTs'"),
            ("/api/skein/graph/operations?endTs=1", "'service'"),
            ("/api/skein/graph/operations?service=a&lookback=-5", "'lookback'"),
            ("/analytics/v1/dependencies?operation=x", "'service'"),
            ("/analytics/v1/dependencies?service=a&start=20&end=10", "'start'"),
            ("/analytics/v1/dependencies?service=a&end=x", "'end'"),
        ] {
            let (status, body) = get(uri).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
            let message = body["errors"][0]["msg"].as_str().unwrap_or_default();
            assert!(message.contains(named), "{uri}: {message}");
        }
    }

    #[tokio::test]
    async fn the_graph_routes_are_api_routes_not_the_ui_fallback() {
        // Elasticsearch is unreachable: a route that reads answers 500 with Jaeger's envelope.
        for uri in [
            "/api/skein/graph",
            "/api/skein/graph/operations?service=a",
            "/analytics/v1/dependencies?service=a&start=0&end=0",
        ] {
            let (status, body) = get(uri).await;
            assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{uri}: {body}");
            assert!(body["errors"][0]["msg"].as_str().unwrap_or_default().contains("Elasticsearch"), "{body}");
        }
    }

    #[tokio::test]
    async fn every_jaeger_route_reaches_its_handler_and_answers_in_its_apis_error_shape() {
        // Elasticsearch is unreachable: each handler that reads answers 500 its own way.
        for uri in [
            "/api/services",
            "/api/services/web/operations",
            "/api/operations?service=web",
            "/api/traces?service=web",
            "/api/traces/0af7651916cd43dd",
            "/api/dependencies",
            "/api/metrics/calls?service=web",
        ] {
            let (status, body) = get(uri).await;
            assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{uri}: {body}");
            assert!(body["errors"][0]["msg"].as_str().unwrap_or_default().contains("Elasticsearch"), "{uri}: {body}");
        }
        for uri in [
            "/api/v3/services",
            "/api/v3/operations?service=web",
            "/api/v3/traces/0af7651916cd43dd",
            "/api/v3/traces?query.serviceName=web&query.startTimeMin=2024-01-01T00:00:00Z&query.startTimeMax=2024-01-01T01:00:00Z",
        ] {
            let (status, body) = get(uri).await;
            assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{uri}: {body}");
            assert_eq!(body["error"]["httpCode"], 500, "{uri}: {body}");
        }
    }

    /// The router with tenancy on (tenants `acme` and `globex`), asked with `headers`.
    async fn get_as(uri: &str, headers: &[(&str, &str)]) -> (StatusCode, Value) {
        let mut config = skein_core::SkeinConfig::default();
        config.elasticsearch.url = "http://127.0.0.1:1".into();
        config.tenancy.enabled = true;
        config.tenancy.tenants = vec!["acme".into(), "globex".into()];
        let client = skein_core::elasticsearch::client(&config.elasticsearch).expect("client builds");
        let mut request = Request::builder().uri(uri);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = app(&config, client).oneshot(request.body(Body::empty()).unwrap()).await.expect("answers");
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body");
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    #[tokio::test]
    async fn with_tenancy_every_api_route_refuses_a_request_without_an_allowed_tenant() {
        for uri in [
            "/api/services",
            "/api/traces/0af7651916cd43dd",
            "/api/dependencies",
            "/api/metrics/calls?service=web",
            "/api/skein/graph",
            "/api/skein/pipeline",
            "/analytics/v1/dependencies?service=a&start=0&end=0",
        ] {
            let (status, body) = get_as(uri, &[]).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{uri}: {body}");
            let message = body["errors"][0]["msg"].as_str().unwrap_or_default();
            assert!(message.starts_with("missing tenant header x-scope-orgid"), "{uri}: {message}");
            let (status, _) = get_as(uri, &[("x-scope-orgid", "initech")]).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{uri}");
        }
        let (status, body) = get_as("/api/v3/services", &[]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["error"]["httpCode"], 401, "v3's own error shape: {body}");
        let (status, _) = get_as("/api/services", &[("x-scope-orgid", "acme"), ("x-tenant", "globex")]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }

    #[tokio::test]
    async fn with_tenancy_an_allowed_tenant_reaches_the_handler_and_the_ui_needs_none() {
        // Elasticsearch is unreachable: a handler that ran answers 500.
        let (status, body) = get_as("/api/services", &[("x-scope-orgid", "acme")]).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
        let (status, _) = get_as("/api/services", &[("x-tenant", "globex")]).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        let (status, body) = get_as("/api/tenancy", &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, serde_json::json!({"enabled": true, "header": "x-scope-orgid", "tenant": null}));
        let (_, body) = get_as("/api/tenancy", &[("x-scope-orgid", "acme")]).await;
        assert_eq!(body["tenant"], "acme");
        let (status, _) = get_as("/search", &[]).await;
        assert_eq!(status, StatusCode::OK, "the UI's page itself holds no data");
    }

    #[tokio::test]
    async fn an_unknown_api_path_is_jaegers_404_not_the_ui() {
        let (status, body) = get("/api/nothing-here").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["errors"][0]["msg"], "no such endpoint: GET /api/nothing-here");
    }
}
