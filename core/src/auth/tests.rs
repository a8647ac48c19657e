//! The authenticator and the layer's answers, through a real axum router.

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::routing::get;
use axum::Router;
use base64::Engine;
use http::{header, Request, StatusCode};
use tower::ServiceExt;

use super::*;
use crate::config::AuthConfig;

const TOKEN: &str = "0123456789abcdef0123456789abcdef";

struct Files {
    dir: PathBuf,
}

impl Files {
    fn new() -> Self {
        let dir =
            std::env::temp_dir().join(format!("skein-auth-test-{}-{}", std::process::id(), rand::random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        Self { dir }
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn config(tokens: Option<&Path>, users: Option<&Path>) -> AuthConfig {
    AuthConfig {
        bearer_tokens_file: tokens.map(Path::to_path_buf),
        basic_users_file: users.map(Path::to_path_buf),
        reload_interval_ms: 0,
    }
}

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
}

fn app(authenticator: Option<Authenticator>) -> Router {
    Router::new()
        .route(
            "/whoami",
            get(|request: Request<Body>| async move {
                let principal = request.extensions().get::<Principal>().cloned();
                format!("{principal:?}")
            }),
        )
        .route("/healthz", get(|| async { "ok" }))
        .route("/api/services", get(|| async { "services" }))
        .layer(AuthLayer::new(authenticator).with_open_paths(&["/healthz"]))
}

async fn send(app: &Router, path: &str, headers: &[(&str, &str)]) -> (StatusCode, http::HeaderMap, String) {
    let mut request = Request::get(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = app.clone().oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
    let (parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    (parts.status, parts.headers, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn a_request_without_credentials_gets_401_with_the_challenge_and_what_to_send() {
    let files = Files::new();
    let tokens = files.write("tokens", &format!("{TOKEN} exporter\n"));
    let app = app(Authenticator::from_config("receivers", &config(Some(&tokens), None)).unwrap());
    let (status, headers, body) = send(&app, "/whoami", &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(headers[header::WWW_AUTHENTICATE], "Bearer realm=\"skein\"");
    assert_eq!(body, "authentication required: send `Authorization: Bearer <token>` (listeners.receivers.auth)\n");
    let (status, _, body) =
        send(&app, "/whoami", &[("authorization", "Bearer 0123456789abcdef0123456789abcdeX")]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.starts_with("the bearer token is not valid: send"), "{body}");
}

#[tokio::test]
async fn a_valid_token_reaches_the_router_with_its_principal() {
    let files = Files::new();
    let tokens = files.write("tokens", &format!("# ci\n{TOKEN} exporter team-a\n"));
    let app = app(Authenticator::from_config("receivers", &config(Some(&tokens), None)).unwrap());
    let (status, _, body) = send(&app, "/whoami", &[("authorization", &format!("bearer {TOKEN}"))]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, r#"Some(Principal { name: "exporter", tenant: Some(Tenant("team-a")) })"#);
}

#[tokio::test]
async fn probes_stay_open_and_api_refusals_are_jaegers_envelope() {
    let files = Files::new();
    let tokens = files.write("tokens", &format!("{TOKEN}\n"));
    let app = app(Authenticator::from_config("query", &config(Some(&tokens), None)).unwrap());
    assert_eq!(send(&app, "/healthz", &[]).await.0, StatusCode::OK);
    let (status, headers, body) = send(&app, "/api/services", &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["errors"][0]["code"], 401);
    assert!(body["errors"][0]["msg"].as_str().unwrap().contains("listeners.query.auth"), "{body}");
}

#[tokio::test]
async fn without_authentication_every_request_passes_without_a_principal() {
    let app = app(Authenticator::from_config("query", &AuthConfig::default()).unwrap());
    assert_eq!(send(&app, "/whoami", &[]).await, (StatusCode::OK, send(&app, "/whoami", &[]).await.1, "None".into()));
}

#[tokio::test]
async fn a_grpc_call_is_refused_with_unauthenticated_in_a_trailers_only_answer() {
    let files = Files::new();
    let tokens = files.write("tokens", &format!("{TOKEN}\n"));
    let app = app(Authenticator::from_config("receivers", &config(Some(&tokens), None)).unwrap());
    let (status, headers, body) = send(&app, "/whoami", &[("content-type", "application/grpc")]).await;
    assert_eq!(status, StatusCode::OK, "gRPC carries its status in headers");
    assert_eq!(headers["grpc-status"], "16");
    assert_eq!(headers[header::CONTENT_TYPE], "application/grpc");
    assert!(headers["grpc-message"].to_str().unwrap().starts_with("authentication required: send"));
    assert!(body.is_empty());
}

#[tokio::test]
async fn basic_auth_checks_bcrypt_once_then_answers_from_the_cache_and_refuses_wrong_passwords() {
    let files = Files::new();
    let hash = bcrypt::hash("s3cret", 4).unwrap();
    let users = files.write("users", &format!("alice:{hash}:team-a\nbob:{hash}\n"));
    let authenticator = Authenticator::from_config("query", &config(None, Some(&users))).unwrap().unwrap();
    let app = app(Some(authenticator.clone()));
    let (status, headers, _) = send(&app, "/whoami", &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(headers[header::WWW_AUTHENTICATE], "Basic realm=\"skein\"");
    let (status, _, body) = send(&app, "/whoami", &[("authorization", &basic("alice", "s3cret"))]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains(r#"name: "alice", tenant: Some(Tenant("team-a"))"#), "{body}");
    assert_eq!(authenticator.cached_users(), 1);
    for (user, password) in [("alice", "s3creT"), ("alice", ""), ("carol", "s3cret")] {
        let (status, _, body) = send(&app, "/whoami", &[("authorization", &basic(user, password))]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{user}:{password}");
        assert!(body.starts_with("the user name or password is not valid"), "{body}");
    }
    assert_eq!(authenticator.cached_users(), 1, "failures are not cached");
    assert_eq!(send(&app, "/whoami", &[("authorization", &basic("alice", "s3cret"))]).await.0, StatusCode::OK);
    // A token where only basic auth is configured, and a header that is no credential at all.
    assert_eq!(
        send(&app, "/whoami", &[("authorization", &format!("Bearer {TOKEN}"))]).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, _, body) = send(&app, "/whoami", &[("authorization", "Basic !!!")]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.starts_with("the Authorization header cannot be read"), "{body}");
}

#[tokio::test]
async fn a_rewritten_file_replaces_the_credentials_and_a_broken_one_keeps_them() {
    let files = Files::new();
    let hash = bcrypt::hash("old", 4).unwrap();
    let tokens = files.write("tokens", &format!("{TOKEN} first\n"));
    let users = files.write("users", &format!("alice:{hash}\n"));
    let authenticator = Authenticator::from_config("admin", &config(Some(&tokens), Some(&users))).unwrap().unwrap();
    let app = app(Some(authenticator.clone()));
    let bearer = |token: &str| format!("Bearer {token}");
    assert_eq!(send(&app, "/whoami", &[("authorization", &basic("alice", "old"))]).await.0, StatusCode::OK);

    let rotated = "fedcba9876543210fedcba9876543210";
    files.write("tokens", &format!("{rotated} second\n"));
    files.write("users", &format!("alice:{}\n", bcrypt::hash("new", 4).unwrap()));
    authenticator.reload().unwrap();
    assert_eq!(send(&app, "/whoami", &[("authorization", &bearer(TOKEN))]).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(send(&app, "/whoami", &[("authorization", &bearer(rotated))]).await.0, StatusCode::OK);
    assert_eq!(
        send(&app, "/whoami", &[("authorization", &basic("alice", "old"))]).await.0,
        StatusCode::UNAUTHORIZED,
        "a cached password does not outlive its hash"
    );
    assert_eq!(send(&app, "/whoami", &[("authorization", &basic("alice", "new"))]).await.0, StatusCode::OK);

    files.write("tokens", "short\n");
    let error = authenticator.reload().unwrap_err();
    assert!(error.to_string().contains("line 1"), "{error}");
    assert_eq!(
        send(&app, "/whoami", &[("authorization", &bearer(rotated))]).await.0,
        StatusCode::OK,
        "old credentials stay"
    );
}

#[tokio::test]
async fn the_watcher_picks_up_a_rewritten_file() {
    let files = Files::new();
    let tokens = files.write("tokens", &format!("{TOKEN}\n"));
    let shutdown = tokio_util::sync::CancellationToken::new();
    let config = AuthConfig { reload_interval_ms: 20, ..config(Some(&tokens), None) };
    let app = app(Authenticator::watching("receivers", &config, &shutdown).unwrap());
    let rotated = "fedcba9876543210fedcba9876543210";
    // Another length, so the change shows even where modification times are coarse.
    files.write("tokens", &format!("{rotated} rotated\n"));
    let mut status = StatusCode::UNAUTHORIZED;
    for _ in 0..500 {
        status = send(&app, "/whoami", &[("authorization", &format!("Bearer {rotated}"))]).await.0;
        if status == StatusCode::OK {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(status, StatusCode::OK, "the rotated token is accepted without a restart");
    shutdown.cancel();
}

#[test]
fn an_unreadable_file_at_start_is_an_error_naming_it() {
    let missing = Path::new("/nonexistent/skein-tokens");
    let error = Authenticator::from_config("receivers", &config(Some(missing), None)).err().unwrap();
    assert!(error.to_string().starts_with("cannot read /nonexistent/skein-tokens:"), "{error}");
}

#[test]
fn the_cache_of_verified_passwords_is_bounded() {
    let files = Files::new();
    let hash = bcrypt::hash("pw", 4).unwrap();
    let lines: String = (0..1100).map(|i| format!("user{i}:{hash}\n")).collect();
    let users = files.write("users", &lines);
    let authenticator = Authenticator::from_config("query", &config(None, Some(&users))).unwrap().unwrap();
    for i in 0..1100 {
        let mut headers = http::HeaderMap::new();
        headers.insert(header::AUTHORIZATION, basic(&format!("user{i}"), "pw").parse().unwrap());
        assert!(authenticator.authenticate(&headers).is_ok());
    }
    assert_eq!(authenticator.cached_users(), 1024);
}
