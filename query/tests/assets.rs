//! `skein query` serves the embedded UI on the API's address: through the real router, with the
//! assets `build.rs` embedded from `ui/dist`.

use std::io::Read;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::response::Response;
use skein_core::SkeinConfig;
use skein_query::assets::ASSETS;
use tower::ServiceExt;

fn app() -> axum::Router {
    let config = SkeinConfig::default();
    let client = skein_core::elasticsearch::client(&config.elasticsearch).expect("client builds without connecting");
    skein_query::app(&config, client)
}

async fn send(method: Method, uri: &str, headers: &[(header::HeaderName, &str)]) -> Response {
    let mut request = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        request = request.header(name, *value);
    }
    app().oneshot(request.body(Body::empty()).unwrap()).await.expect("the router answers")
}

async fn get(uri: &str) -> Response {
    send(Method::GET, uri, &[]).await
}

async fn body(response: Response) -> Vec<u8> {
    axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body").to_vec()
}

fn header(response: &Response, name: header::HeaderName) -> &str {
    response.headers().get(&name).map(|v| v.to_str().unwrap()).unwrap_or("")
}

/// A hashed file of the build with this extension, e.g. `/assets/index-C8Qfi0j8.js`.
fn hashed(extension: &str) -> &'static skein_query::assets::Asset {
    ASSETS
        .iter()
        .filter(|a| a.path.starts_with("/assets/") && a.path.ends_with(extension))
        .max_by_key(|a| a.bytes.len())
        .unwrap_or_else(|| panic!("ui/dist has no /assets/*{extension}: rebuild it with `make ui`"))
}

fn index_html() -> &'static [u8] {
    skein_query::assets::find("/index.html").expect("index.html is embedded").bytes
}

#[tokio::test]
async fn root_serves_index_html_that_is_always_revalidated() {
    let response = get("/").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, header::CONTENT_TYPE), "text/html; charset=utf-8");
    assert_eq!(header(&response, header::CACHE_CONTROL), "no-cache");
    assert!(!header(&response, header::ETAG).is_empty());
    assert_eq!(body(response).await, index_html());
}

#[tokio::test]
async fn hashed_scripts_and_styles_have_their_type_and_a_year_long_immutable_cache() {
    for (extension, content_type) in [(".js", "text/javascript; charset=utf-8"), (".css", "text/css; charset=utf-8")] {
        let asset = hashed(extension);
        let response = get(asset.path).await;
        assert_eq!(response.status(), StatusCode::OK, "{}", asset.path);
        assert_eq!(header(&response, header::CONTENT_TYPE), content_type, "{}", asset.path);
        assert_eq!(header(&response, header::CACHE_CONTROL), "public, max-age=31536000, immutable");
        assert_eq!(header(&response, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
        assert_eq!(header(&response, header::CONTENT_LENGTH), asset.bytes.len().to_string());
        assert_eq!(body(response).await, asset.bytes, "{}", asset.path);
    }
}

#[tokio::test]
async fn every_embedded_file_is_served_as_built() {
    for asset in ASSETS {
        let response = get(asset.path).await;
        assert_eq!(response.status(), StatusCode::OK, "{}", asset.path);
        assert_eq!(body(response).await, asset.bytes, "{}", asset.path);
    }
    assert!(ASSETS.iter().all(|a| !a.path.contains("/.")), "hidden build stamps are not served");
}

#[tokio::test]
async fn deep_links_of_the_ui_fall_back_to_index_html() {
    for path in [
        "/search?service=frontend&lookback=1h&limit=20",
        "/trace/4bf92f3577b34da6a3ce929d0e0e4736",
        "/trace/4bf92f3577b34da6a3ce929d0e0e4736?uiFind=abc",
        "/dependencies",
        "/monitor",
        "/pipeline",
        "/compare/4bf92f3577b34da6/00f067aa0ba902b7",
    ] {
        let response = get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(header(&response, header::CONTENT_TYPE), "text/html; charset=utf-8", "{path}");
        assert_eq!(header(&response, header::CACHE_CONTROL), "no-cache", "{path}");
        assert_eq!(body(response).await, index_html(), "{path}");
    }
}

#[tokio::test]
async fn unknown_api_paths_answer_jaegers_json_404_and_never_the_ui() {
    for path in ["/api", "/api/nope", "/api/v3/nope", "/api/skein/nope", "/api/services/a/b/c"] {
        let response = get(path).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(header(&response, header::CONTENT_TYPE).starts_with("application/json"), "{path}");
        let json: serde_json::Value = serde_json::from_slice(&body(response).await).expect("JSON");
        assert_eq!(
            json,
            serde_json::json!({"data": null, "total": 0, "limit": 0, "offset": 0,
                "errors": [{"code": 404, "msg": format!("no such endpoint: GET {path}")}]}),
            "{path}"
        );
    }
}

#[tokio::test]
async fn api_routes_are_answered_by_the_api() {
    // A bad trace id is refused by the API itself before any storage call.
    let response = get("/api/traces/not-hex").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let json: serde_json::Value = serde_json::from_slice(&body(response).await).expect("JSON");
    assert!(json["errors"][0]["msg"].as_str().unwrap().contains("traceID"), "{json}");
}

#[tokio::test]
async fn a_missing_hashed_asset_is_a_404_not_index_html() {
    for path in ["/assets/index-00000000.js", "/assets/gone.css", "/assets/", "/favicon-missing.ico"] {
        let response = get(path).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(!header(&response, header::CONTENT_TYPE).starts_with("text/html"), "{path}");
        assert_ne!(body(response).await, index_html(), "{path}");
    }
}

#[tokio::test]
async fn gzip_is_sent_when_accepted_and_decodes_to_the_same_bytes() {
    let asset = hashed(".js");
    let response = send(Method::GET, asset.path, &[(header::ACCEPT_ENCODING, "gzip, deflate, br")]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, header::CONTENT_ENCODING), "gzip");
    assert_eq!(header(&response, header::VARY), "Accept-Encoding");
    assert_eq!(header(&response, header::CONTENT_TYPE), "text/javascript; charset=utf-8");
    let compressed = body(response).await;
    assert!(compressed.len() < asset.bytes.len() / 2, "{} of {} bytes", compressed.len(), asset.bytes.len());
    let mut plain = Vec::new();
    flate2::read::GzDecoder::new(compressed.as_slice()).read_to_end(&mut plain).expect("valid gzip");
    assert_eq!(plain, asset.bytes);

    let identity = send(Method::GET, asset.path, &[(header::ACCEPT_ENCODING, "gzip;q=0")]).await;
    assert_eq!(header(&identity, header::CONTENT_ENCODING), "");
    assert_eq!(header(&identity, header::VARY), "Accept-Encoding");
    assert_eq!(body(identity).await, asset.bytes);
}

#[tokio::test]
async fn a_known_etag_is_answered_304_without_a_body() {
    let first = get("/").await;
    let etag = header(&first, header::ETAG).to_string();
    let again = send(Method::GET, "/", &[(header::IF_NONE_MATCH, &etag)]).await;
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(header(&again, header::CACHE_CONTROL), "no-cache");
    assert!(body(again).await.is_empty());
    // The gzip form is another representation with its own tag.
    let gzip = send(Method::GET, "/", &[(header::ACCEPT_ENCODING, "gzip"), (header::IF_NONE_MATCH, &etag)]).await;
    if skein_query::assets::find("/index.html").unwrap().gzip.is_some() {
        assert_eq!(gzip.status(), StatusCode::OK);
        assert_ne!(header(&gzip, header::ETAG), etag);
    }
}

#[tokio::test]
async fn head_answers_the_headers_without_a_body() {
    let asset = hashed(".js");
    let response = send(Method::HEAD, asset.path, &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, header::CONTENT_LENGTH), asset.bytes.len().to_string());
    assert!(body(response).await.is_empty());
}

#[tokio::test]
async fn other_methods_on_ui_paths_are_refused() {
    for path in ["/", "/search", hashed(".js").path] {
        let response = send(Method::POST, path, &[]).await;
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "{path}");
        assert_eq!(header(&response, header::ALLOW), "GET, HEAD");
    }
}

#[tokio::test]
async fn extreme_time_parameters_are_refused_with_400_before_elasticsearch_is_asked() {
    // No Elasticsearch is running behind this router: a 400 shows the request never got that far,
    // and nothing panics on calendar arithmetic at the end of the year 9999 (or beyond chrono's).
    for uri in [
        "/api/dependencies?endTs=253402300800000&lookback=0",
        "/api/dependencies?endTs=8210298412799999&lookback=0", // chrono's last day: used to panic
        "/api/dependencies?endTs=9223372036854775807&lookback=9223372036854775807",
        "/api/dependencies?endTs=0&lookback=-1",
        "/api/traces?service=a&end=9223372036854775807",
        "/api/skein/graph?endTs=-9223372036854775808",
        "/api/metrics/calls?service=a&endTs=1&lookback=1&step=1&ratePer=9223372036854775807",
    ] {
        let response = get(uri).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{uri}");
        let text = String::from_utf8(body(response).await).unwrap();
        assert!(text.contains("out of range"), "{uri}: {text}");
    }
}
