//! Who sent a request: the authentication of a listener group (bearer tokens or basic auth) puts
//! a [`Principal`] in the request's extensions; tenancy reads the tenant it maps to from there.
//!
//! [`credentials`] reads the files, [`Authenticator`] holds what is in force (reloaded when the
//! files change) and checks a request's `Authorization` header, [`AuthLayer`] answers refused
//! requests (HTTP 401 or gRPC `UNAUTHENTICATED`) in front of an axum router or a tonic server.

mod authenticator;
pub mod credentials;
mod layer;
#[cfg(test)]
mod tests;

pub use authenticator::{Authenticator, Refusal, REFUSED, RELOADS, RELOAD_FAILURES};
pub use credentials::CredentialsError;
pub use layer::{AuthBody, AuthLayer, AuthService, GrpcAuthStack};

use skein_schemas::tenant::Tenant;

/// The authenticated sender of a request, as an `http::Request` extension (tonic's `Request`
/// extensions are the same map).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The user of basic auth, or the name given to a bearer token in its file.
    pub name: String,
    /// The tenant the credentials map to: the request is this tenant's, and a tenant header
    /// naming another is refused.
    pub tenant: Option<Tenant>,
}
