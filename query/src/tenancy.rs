//! Tenancy at the query address: every `/api/*` (and `/analytics/*`) request must name an
//! allowed tenant ([`require_tenant`]; handlers then read that tenant's indices through
//! [`crate::state::Shared`]), and `GET /api/tenancy` tells the UI whether to ask for one.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use skein_core::auth::Principal;
use skein_core::tenancy::Tenancy;

use crate::state::tenant_refusal;

/// The path that answers without a tenant: it is how a client learns one is needed.
pub const TENANCY_PATH: &str = "/api/tenancy";

/// Refuse API requests without an acceptable tenant before any handler runs (the UI's own
/// files are served to anyone: they hold no data).
pub async fn require_tenant(State(tenancy): State<Arc<Tenancy>>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let guarded = (path.starts_with("/api/") || path.starts_with("/analytics/")) && path != TENANCY_PATH;
    if guarded {
        if let Err(refusal) = tenancy.resolve(request.headers(), request.extensions().get::<Principal>()) {
            return tenant_refusal(path, &refusal);
        }
    }
    next.run(request).await
}

/// `GET /api/tenancy`: `{enabled, header, tenant}`, the tenant being the one the request's
/// credentials or headers name when it is allowed (`null` otherwise). The allow-list is not
/// listed: one tenant's users need not learn the others' names.
pub async fn tenancy_info(
    State(tenancy): State<Arc<Tenancy>>,
    principal: Option<Extension<Principal>>,
    headers: HeaderMap,
) -> Response {
    let tenant = tenancy.resolve(&headers, principal.as_deref()).ok().flatten();
    Json(serde_json::json!({
        "enabled": tenancy.enabled(),
        "header": tenancy.header(),
        "tenant": tenant.as_ref().map(|t| t.as_str()),
    }))
    .into_response()
}
