//! The web UI, embedded at build time (`build.rs` reads `ui/dist`), served as the query router's
//! fallback: whatever no API route matched.
//!
//! - `/api` and `/api/...` → Jaeger's JSON envelope with a 404, so the UI never shadows the API;
//! - a file of the build → its bytes; hashed files under `/assets/` are cached for a year, the
//!   rest must be revalidated (`no-cache`, with an ETag);
//! - a missing file under `/assets/` or with a static file's extension → 404, so a tab left open
//!   across a rebuild never runs `index.html` as a script;
//! - any other path (the UI's own routes: `/search`, `/trace/<id>`, ...) → `index.html`.
//!
//! Text files carry a gzip copy made at build time, sent to clients that accept gzip.

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use crate::envelope::error_envelope;

/// One embedded file.
pub struct Asset {
    /// URL path, e.g. `/assets/index-C8Qfi0j8.js`.
    pub path: &'static str,
    pub bytes: &'static [u8],
    /// The same bytes gzip-compressed, when that is smaller.
    pub gzip: Option<&'static [u8]>,
    /// Strong ETag of `bytes` (quoted).
    pub etag: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/ui_assets.rs"));

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";

/// Extensions of files a page loads as such: a missing one is a 404, never `index.html`.
const STATIC_EXTENSIONS: &[&str] = &[
    "js", "mjs", "css", "map", "json", "svg", "png", "jpg", "jpeg", "gif", "webp", "ico", "woff", "woff2", "ttf",
    "wasm", "txt",
];

/// The embedded file at `path`, if any.
pub fn find(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|asset| asset.path == path)
}

/// The router's fallback handler.
pub async fn fallback(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    respond(&method, uri.path(), &headers)
}

/// The answer for a request no API route matched.
pub fn respond(method: &Method, path: &str, headers: &HeaderMap) -> Response {
    if path == "/api" || path.starts_with("/api/") {
        return no_such_endpoint(method, path);
    }
    if method != Method::GET && method != Method::HEAD {
        let mut response =
            (StatusCode::METHOD_NOT_ALLOWED, "method not allowed: the UI is served to GET and HEAD only\n")
                .into_response();
        response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    let asset = if path == "/" { find("/index.html") } else { find(path) };
    if let Some(asset) = asset {
        let cache = if path.starts_with("/assets/") { IMMUTABLE } else { REVALIDATE };
        return serve(method, headers, asset, cache);
    }
    if path.starts_with("/assets/") || has_static_extension(path) {
        let mut response = (
            StatusCode::NOT_FOUND,
            format!("no such file: {path} (the UI may have been rebuilt since this page loaded: reload it)\n"),
        )
            .into_response();
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(REVALIDATE));
        return response;
    }
    match find("/index.html") {
        Some(index) => serve(method, headers, index, REVALIDATE),
        None => (StatusCode::NOT_FOUND, "the UI was not embedded in this build\n").into_response(),
    }
}

/// Jaeger's envelope with a 404, as Jaeger's query service answers an unknown API path.
fn no_such_endpoint(method: &Method, path: &str) -> Response {
    error_envelope(StatusCode::NOT_FOUND, format!("no such endpoint: {method} {path}"))
}

fn has_static_extension(path: &str) -> bool {
    let last = path.rsplit('/').next().unwrap_or("");
    last.rsplit_once('.').is_some_and(|(_, ext)| STATIC_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()))
}

fn serve(method: &Method, headers: &HeaderMap, asset: &Asset, cache: &'static str) -> Response {
    let gzip = asset.gzip.filter(|_| accepts_gzip(headers));
    let (bytes, etag) = match gzip {
        // Each representation has its own strong ETag.
        Some(compressed) => (compressed, format!("{}-gzip\"", asset.etag.trim_end_matches('"'))),
        None => (asset.bytes, asset.etag.to_string()),
    };
    let mut response_headers = HeaderMap::new();
    response_headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(asset.path)));
    response_headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response_headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if let Ok(value) = HeaderValue::from_str(&etag) {
        response_headers.insert(header::ETAG, value);
    }
    if asset.gzip.is_some() {
        // Caches must keep the compressed and plain answers apart.
        response_headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    }
    if gzip.is_some() {
        response_headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    if matches_etag(headers, &etag) {
        return (StatusCode::NOT_MODIFIED, response_headers).into_response();
    }
    response_headers.insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    let body = if method == Method::HEAD { Body::empty() } else { Body::from(bytes) };
    (StatusCode::OK, response_headers, body).into_response()
}

/// Whether `Accept-Encoding` lists gzip (or `*`) with a non-zero quality.
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers.get_all(header::ACCEPT_ENCODING).iter().filter_map(|value| value.to_str().ok()).any(|value| {
        value.split(',').any(|item| {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let refused = parts.any(|param| {
                param.trim().strip_prefix("q=").is_some_and(|q| q.trim().parse::<f32>().is_ok_and(|q| q <= 0.0))
            });
            matches!(coding.as_str(), "gzip" | "x-gzip" | "*") && !refused
        })
    })
}

fn matches_etag(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|value| value.split(',').map(str::trim).any(|tag| tag == "*" || tag.trim_start_matches("W/") == etag))
}

/// `Content-Type` by extension.
pub fn content_type(path: &str) -> &'static str {
    let extension = path.rsplit_once('.').map(|(_, ext)| ext.to_ascii_lowercase()).unwrap_or_default();
    match extension.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "txt" => "text/plain; charset=utf-8",
        "wasm" => "application/wasm",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(name: header::HeaderName, value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(name, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn gzip_is_accepted_unless_its_quality_is_zero() {
        assert!(accepts_gzip(&with(header::ACCEPT_ENCODING, "gzip, deflate, br")));
        assert!(accepts_gzip(&with(header::ACCEPT_ENCODING, "br;q=1.0, gzip;q=0.8")));
        assert!(accepts_gzip(&with(header::ACCEPT_ENCODING, "*")));
        assert!(!accepts_gzip(&with(header::ACCEPT_ENCODING, "gzip;q=0")));
        assert!(!accepts_gzip(&with(header::ACCEPT_ENCODING, "br, identity")));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[test]
    fn content_types_follow_the_extension() {
        assert_eq!(content_type("/assets/index-abc.js"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("/assets/index-abc.CSS"), "text/css; charset=utf-8");
        assert_eq!(content_type("/favicon.svg"), "image/svg+xml");
        assert_eq!(content_type("/favicon.ico"), "image/x-icon");
        assert_eq!(content_type("/assets/font-x.woff2"), "font/woff2");
        assert_eq!(content_type("/index.html"), "text/html; charset=utf-8");
        assert_eq!(content_type("/LICENSE"), "application/octet-stream");
    }

    #[test]
    fn static_extensions_are_recognised_on_the_last_segment_only() {
        assert!(has_static_extension("/favicon.ico"));
        assert!(has_static_extension("/robots.txt"));
        assert!(!has_static_extension("/trace/4bf92f3577b34da6"));
        assert!(!has_static_extension("/v1.2/search"));
        assert!(!has_static_extension("/search"));
    }

    #[test]
    fn etag_matches_exact_weak_and_wildcard_forms() {
        assert!(matches_etag(&with(header::IF_NONE_MATCH, "\"abc\""), "\"abc\""));
        assert!(matches_etag(&with(header::IF_NONE_MATCH, "W/\"abc\", \"def\""), "\"abc\""));
        assert!(matches_etag(&with(header::IF_NONE_MATCH, "*"), "\"abc\""));
        assert!(!matches_etag(&with(header::IF_NONE_MATCH, "\"abd\""), "\"abc\""));
    }
}
