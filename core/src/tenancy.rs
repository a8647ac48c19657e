//! Which tenant a request is for: the tenant header (`tenancy.header`, or Jaeger's `x-tenant`)
//! or the tenant the request's credentials map to ([`Principal`]), checked against the
//! allow-list. One function for every HTTP and gRPC listener, so receivers and the query API
//! refuse the same requests with the same words.

use std::collections::BTreeSet;

use axum::http::{HeaderMap, StatusCode};
use skein_schemas::tenant::Tenant;

use crate::auth::Principal;
use crate::config::tenancy::{TenancyConfig, JAEGER_TENANT_HEADER};

/// Why a request has no acceptable tenant. The message never lists the allowed tenants: a
/// client of one tenant learns nothing about the others.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TenantRefusal {
    #[error("missing tenant header {header}: name the tenant the request is for (or send {JAEGER_TENANT_HEADER})")]
    Missing { header: String },
    #[error(
        "the headers {header} ('{named}') and {JAEGER_TENANT_HEADER} ('{other}') name different tenants: send one"
    )]
    Conflicting { header: String, named: String, other: String },
    #[error("tenant '{0}' is not allowed here")]
    Unknown(String),
    #[error("the credentials belong to tenant '{credentials}', but the request names tenant '{named}'")]
    NotYours { credentials: String, named: String },
}

impl TenantRefusal {
    /// 401 without a tenant (as without credentials), 400 for contradicting headers, 403 for a
    /// tenant this client may not use. gRPC: UNAUTHENTICATED, INVALID_ARGUMENT, PERMISSION_DENIED.
    pub fn status(&self) -> StatusCode {
        match self {
            TenantRefusal::Missing { .. } => StatusCode::UNAUTHORIZED,
            TenantRefusal::Conflicting { .. } => StatusCode::BAD_REQUEST,
            TenantRefusal::Unknown(_) | TenantRefusal::NotYours { .. } => StatusCode::FORBIDDEN,
        }
    }
}

/// The tenancy rules of a process, from `tenancy`.
#[derive(Debug, Clone, Default)]
pub struct Tenancy {
    enabled: bool,
    header: String,
    allowed: BTreeSet<Tenant>,
    udp_tenant: Option<Tenant>,
}

impl Tenancy {
    /// The rules of a validated `tenancy` section (invalid names are left out, as validation
    /// has refused them already).
    pub fn new(config: &TenancyConfig) -> Self {
        Self {
            enabled: config.enabled,
            header: config.header.to_ascii_lowercase(),
            allowed: config.tenants.iter().filter_map(|name| Tenant::parse(name).ok()).collect(),
            udp_tenant: config.udp_tenant.as_deref().and_then(|name| Tenant::parse(name).ok()),
        }
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// The configured header (lowercase).
    pub fn header(&self) -> &str {
        &self.header
    }

    /// The allow-list.
    pub fn tenants(&self) -> impl Iterator<Item = &Tenant> {
        self.allowed.iter()
    }

    /// The tenant of UDP spans (`None` when tenancy is off).
    pub fn udp_tenant(&self) -> Option<&Tenant> {
        self.udp_tenant.as_ref().filter(|_| self.enabled)
    }

    /// The tenant of a request (HTTP headers, or gRPC metadata as headers), and the
    /// [`Principal`] authentication put in its extensions. `Ok(None)` when tenancy is off:
    /// headers are then ignored.
    pub fn resolve(&self, headers: &HeaderMap, principal: Option<&Principal>) -> Result<Option<Tenant>, TenantRefusal> {
        if !self.enabled {
            return Ok(None);
        }
        let named = self.named_in(headers)?;
        let tenant_name = match (principal.and_then(|p| p.tenant.as_ref()), named) {
            (Some(credentials), Some(named)) if credentials.as_str() != named => {
                return Err(TenantRefusal::NotYours { credentials: credentials.to_string(), named });
            }
            (Some(credentials), _) => credentials.to_string(),
            (None, Some(named)) => named,
            (None, None) => return Err(TenantRefusal::Missing { header: self.header.clone() }),
        };
        // A name that is no tenant name is not in the allow-list either.
        match Tenant::parse(&tenant_name) {
            Ok(tenant) if self.allowed.contains(&tenant) => Ok(Some(tenant)),
            _ => Err(TenantRefusal::Unknown(printable(&tenant_name))),
        }
    }

    /// The tenant the headers name, if any; the configured header and `x-tenant` (each possibly
    /// repeated) must agree.
    fn named_in(&self, headers: &HeaderMap) -> Result<Option<String>, TenantRefusal> {
        let mut named: Option<(&str, String)> = None;
        let names = [self.header.as_str(), JAEGER_TENANT_HEADER];
        let names = if self.header == JAEGER_TENANT_HEADER { &names[..1] } else { &names[..] };
        for name in names {
            for value in headers.get_all(*name) {
                let value = String::from_utf8_lossy(value.as_bytes()).trim().to_string();
                match &named {
                    None => named = Some((name, value)),
                    Some((_, first)) if *first == value => {}
                    Some((first_name, first)) => {
                        let (header_value, other) =
                            if *first_name == self.header { (first.clone(), value) } else { (value, first.clone()) };
                        return Err(TenantRefusal::Conflicting {
                            header: self.header.clone(),
                            named: printable(&header_value),
                            other: printable(&other),
                        });
                    }
                }
            }
        }
        Ok(named.map(|(_, value)| value))
    }
}

/// A client's text as it may appear in a message: bounded, without control characters.
fn printable(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(80).collect()
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn tenancy() -> Tenancy {
        Tenancy::new(&TenancyConfig {
            enabled: true,
            tenants: vec!["acme".into(), "globex".into()],
            ..TenancyConfig::default()
        })
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn principal(tenant: Option<&str>) -> Principal {
        Principal { name: "ci".into(), tenant: tenant.map(|t| Tenant::parse(t).unwrap()) }
    }

    fn acme() -> Option<Tenant> {
        Some(Tenant::parse("acme").unwrap())
    }

    #[test]
    fn the_configured_header_or_x_tenant_names_an_allowed_tenant() {
        let t = tenancy();
        assert_eq!(t.resolve(&headers(&[("x-scope-orgid", "acme")]), None), Ok(acme()));
        assert_eq!(t.resolve(&headers(&[("x-tenant", "acme")]), None), Ok(acme()));
        assert_eq!(t.resolve(&headers(&[("x-scope-orgid", "acme"), ("x-tenant", "acme")]), None), Ok(acme()));
    }

    #[test]
    fn without_a_tenant_the_request_is_unauthenticated_naming_the_header() {
        let refusal = tenancy().resolve(&HeaderMap::new(), None).unwrap_err();
        assert_eq!(refusal.status(), StatusCode::UNAUTHORIZED);
        assert!(refusal.to_string().starts_with("missing tenant header x-scope-orgid"), "{refusal}");
        let refusal = tenancy().resolve(&HeaderMap::new(), Some(&principal(None))).unwrap_err();
        assert_eq!(refusal.status(), StatusCode::UNAUTHORIZED, "credentials without a tenant name none");
    }

    #[test]
    fn unknown_and_malformed_tenants_are_forbidden_without_listing_the_allowed_ones() {
        for name in ["initech", "Acme", "../acme", ""] {
            let refusal = tenancy().resolve(&headers(&[("x-scope-orgid", name)]), None).unwrap_err();
            assert_eq!(refusal.status(), StatusCode::FORBIDDEN, "{name}");
            assert!(!refusal.to_string().contains("globex"), "{refusal}");
        }
    }

    #[test]
    fn two_headers_naming_different_tenants_are_a_bad_request() {
        let t = tenancy();
        let refusal = t.resolve(&headers(&[("x-scope-orgid", "acme"), ("x-tenant", "globex")]), None).unwrap_err();
        assert_eq!(refusal.status(), StatusCode::BAD_REQUEST);
        assert!(refusal.to_string().contains("x-scope-orgid ('acme')"), "{refusal}");
        let repeated = t.resolve(&headers(&[("x-scope-orgid", "acme"), ("x-scope-orgid", "globex")]), None);
        assert_eq!(repeated.unwrap_err().status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn the_credentials_tenant_is_used_and_another_in_the_header_is_forbidden() {
        let t = tenancy();
        assert_eq!(t.resolve(&HeaderMap::new(), Some(&principal(Some("acme")))), Ok(acme()));
        assert_eq!(t.resolve(&headers(&[("x-tenant", "acme")]), Some(&principal(Some("acme")))), Ok(acme()));
        let refusal = t.resolve(&headers(&[("x-scope-orgid", "globex")]), Some(&principal(Some("acme")))).unwrap_err();
        assert_eq!(refusal, TenantRefusal::NotYours { credentials: "acme".into(), named: "globex".into() });
        assert_eq!(refusal.status(), StatusCode::FORBIDDEN);
        // A token mapped to a tenant that is not (or no longer) allowed gets nothing.
        let refusal = t.resolve(&HeaderMap::new(), Some(&principal(Some("initech")))).unwrap_err();
        assert_eq!(refusal.status(), StatusCode::FORBIDDEN);
    }

    #[test]
    fn tenancy_off_ignores_tenant_headers() {
        let off = Tenancy::new(&TenancyConfig::default());
        assert_eq!(off.resolve(&headers(&[("x-scope-orgid", "whatever")]), None), Ok(None));
        assert_eq!(off.resolve(&HeaderMap::new(), None), Ok(None));
        assert_eq!(off.udp_tenant(), None);
    }

    #[test]
    fn a_configured_header_replaces_x_scope_orgid() {
        let t = Tenancy::new(&TenancyConfig {
            enabled: true,
            header: "x-org".into(),
            tenants: vec!["acme".into()],
            ..TenancyConfig::default()
        });
        assert_eq!(t.resolve(&headers(&[("x-org", "acme")]), None), Ok(acme()));
        assert_eq!(t.resolve(&headers(&[("x-tenant", "acme")]), None), Ok(acme()));
        let refusal = t.resolve(&headers(&[("x-scope-orgid", "acme")]), None).unwrap_err();
        assert!(refusal.to_string().starts_with("missing tenant header x-org"), "{refusal}");
    }
}
