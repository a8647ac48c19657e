//! The tower layer that checks credentials before a router sees a request. It serves axum routers
//! and tonic servers alike (both are tower services over `http::Request`): a refused HTTP request
//! gets 401 with `WWW-Authenticate` and a message saying what to send (Jaeger's JSON envelope
//! under `/api/`, text elsewhere); a refused gRPC call gets status `UNAUTHENTICATED` (HTTP 200,
//! `grpc-status: 16`). An accepted request carries its [`Principal`] in its extensions.

use std::task::{Context, Poll};

use bytes::Bytes;
use futures::future::{Either, MapOk, Ready, TryFutureExt};
use http::{header, HeaderValue, Request, Response, StatusCode};
use http_body_util::{Either as EitherBody, Full};
use tower::{Layer, Service};

use super::authenticator::{Authenticator, Refusal};

/// gRPC's status code `UNAUTHENTICATED`.
const GRPC_UNAUTHENTICATED: &str = "16";

/// Checks requests with the group's [`Authenticator`]; lets everything through when the group has
/// no authentication, so a router has the same type either way.
#[derive(Clone)]
pub struct AuthLayer {
    authenticator: Option<Authenticator>,
    open_paths: &'static [&'static str],
}

impl AuthLayer {
    pub fn new(authenticator: Option<Authenticator>) -> Self {
        Self { authenticator, open_paths: &[] }
    }

    /// Paths served without credentials (the admin port's probes).
    pub fn with_open_paths(mut self, paths: &'static [&'static str]) -> Self {
        self.open_paths = paths;
        self
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService { inner, layer: self.clone() }
    }
}

/// The service [`AuthLayer`] wraps around a router.
#[derive(Clone)]
pub struct AuthService<S> {
    inner: S,
    layer: AuthLayer,
}

/// The layers of a tonic server with `Server::builder().layer(auth)`.
pub type GrpcAuthStack = tower::layer::util::Stack<AuthLayer, tower::layer::util::Identity>;

/// The answer body: the router's, or the refusal's.
pub type AuthBody<B> = EitherBody<B, Full<Bytes>>;

type Accepted<B> = fn(Response<B>) -> Response<AuthBody<B>>;

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for AuthService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<AuthBody<ResBody>>;
    type Error = S::Error;
    type Future = Either<MapOk<S::Future, Accepted<ResBody>>, Ready<Result<Self::Response, S::Error>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let accepted: Accepted<ResBody> = |response| response.map(EitherBody::Left);
        let Some(authenticator) = &self.layer.authenticator else {
            return Either::Left(self.inner.call(request).map_ok(accepted));
        };
        if self.layer.open_paths.contains(&request.uri().path()) {
            return Either::Left(self.inner.call(request).map_ok(accepted));
        }
        match authenticator.authenticate(request.headers()) {
            Ok(principal) => {
                request.extensions_mut().insert(principal);
                Either::Left(self.inner.call(request).map_ok(accepted))
            }
            Err(refusal) => Either::Right(futures::future::ready(Ok(refuse(authenticator, refusal, &request)))),
        }
    }
}

/// What to tell a refused client: what was wrong and what to send instead.
pub fn message(authenticator: &Authenticator, refusal: Refusal) -> String {
    let what = match refusal {
        Refusal::Missing => "authentication required",
        Refusal::Malformed => "the Authorization header cannot be read",
        Refusal::InvalidToken => "the bearer token is not valid",
        Refusal::InvalidPassword => "the user name or password is not valid",
    };
    let schemes: Vec<&str> = authenticator
        .challenges()
        .iter()
        .map(|challenge| {
            if challenge.starts_with("Bearer") {
                "`Authorization: Bearer <token>`"
            } else {
                "`Authorization: Basic <base64 of user:password>`"
            }
        })
        .collect();
    format!("{what}: send {} (listeners.{}.auth)", schemes.join(" or "), authenticator.group())
}

fn refuse<ReqBody, ResBody>(
    authenticator: &Authenticator,
    refusal: Refusal,
    request: &Request<ReqBody>,
) -> Response<AuthBody<ResBody>> {
    let message = message(authenticator, refusal);
    let grpc = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/grpc"));
    let mut response = if grpc {
        // A trailers-only answer: gRPC clients read the status from these headers.
        let mut response = Response::new(EitherBody::Right(Full::new(Bytes::new())));
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
        headers.insert("grpc-status", HeaderValue::from_static(GRPC_UNAUTHENTICATED));
        headers.insert("grpc-message", grpc_message(&message));
        response
    } else {
        let (content_type, body) = if request.uri().path().starts_with("/api/") {
            // Jaeger's envelope, which the UI and Grafana's data source read errors from.
            let body = serde_json::json!({"data": null, "total": 0, "limit": 0, "offset": 0,
                                          "errors": [{"code": 401, "msg": message}]});
            ("application/json", body.to_string())
        } else {
            ("text/plain; charset=utf-8", format!("{message}\n"))
        };
        let mut response = Response::new(EitherBody::Right(Full::new(Bytes::from(body))));
        *response.status_mut() = StatusCode::UNAUTHORIZED;
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        response
    };
    for challenge in authenticator.challenges() {
        response.headers_mut().append(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
    }
    response
}

/// `grpc-message`: percent-encoded outside printable ASCII, as the gRPC wire format says.
fn grpc_message(message: &str) -> HeaderValue {
    let mut encoded = String::with_capacity(message.len());
    for byte in message.bytes() {
        if (0x20..=0x7e).contains(&byte) && byte != b'%' {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    HeaderValue::from_str(&encoded).expect("printable ASCII is a header value")
}
