//! Who sent a request: the authentication of a listener group (bearer tokens or basic auth) puts
//! a [`Principal`] in the request's extensions; tenancy reads the tenant it maps to from there.

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
