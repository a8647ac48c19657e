//! `tenancy`: which tenants may send and read, the header that names them, and their rate limits.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use skein_schemas::tenant::{Tenant, TenantNameError};

/// Jaeger's tenant header, accepted beside the configured one.
pub const JAEGER_TENANT_HEADER: &str = "x-tenant";

/// Multi-tenancy: every request names its tenant (a header, or the tenant its credentials map
/// to), spans are written under the tenant's index prefix and read back only by that tenant.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TenancyConfig {
    /// Require a tenant on every receiver and `/api/*` request; off, tenant headers are ignored.
    pub enabled: bool,
    /// The header naming the tenant (`x-scope-orgid`, as Tempo and Grafana send it); Jaeger's
    /// `x-tenant` is accepted too.
    pub header: String,
    /// The tenants allowed (names of `a-z 0-9 _ -`); must not be empty when tenancy is on.
    pub tenants: Vec<String>,
    /// The tenant of spans arriving on the collector's Jaeger UDP ports, which carry no headers;
    /// required when tenancy is on and a UDP port listens.
    pub udp_tenant: Option<String>,
    /// Spans per second each tenant may send (a token bucket holding one second of spans); a
    /// request that would exceed it is refused whole with 429. `0`: no limit.
    pub rate_limit_spans_per_second: u64,
    /// Per-tenant spans per second, in place of `rate_limit_spans_per_second` (`0`: no limit).
    pub rate_limits: BTreeMap<String, u64>,
}

impl Default for TenancyConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            header: "x-scope-orgid".into(),
            tenants: Vec::new(),
            udp_tenant: None,
            rate_limit_spans_per_second: 0,
            rate_limits: BTreeMap::new(),
        }
    }
}

/// A `tenancy` option that cannot work.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TenancyConfigError {
    #[error("tenancy.enabled is true but tenancy.tenants is empty: list the tenants that may send and read spans")]
    NoTenants,
    #[error("tenancy.tenants: {0}")]
    BadTenant(TenantNameError),
    #[error("tenancy.header '{0}' is not a lowercase HTTP header name such as x-scope-orgid")]
    BadHeader(String),
    #[error("tenancy.{option} names '{tenant}', which is not in tenancy.tenants: add it there or remove it here")]
    NotAllowed { option: &'static str, tenant: String },
}

impl TenancyConfig {
    /// Rules within `tenancy` that serde cannot express.
    pub fn validate(&self) -> Result<(), TenancyConfigError> {
        let header_ok = !self.header.is_empty()
            && self.header.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'_');
        if !header_ok {
            return Err(TenancyConfigError::BadHeader(self.header.clone()));
        }
        let tenants = self.allowed().map_err(TenancyConfigError::BadTenant)?;
        if self.enabled && tenants.is_empty() {
            return Err(TenancyConfigError::NoTenants);
        }
        let allowed = |name: &str| tenants.iter().any(|t| t.as_str() == name);
        if let Some(udp) = &self.udp_tenant {
            if !allowed(udp) {
                return Err(TenancyConfigError::NotAllowed { option: "udp_tenant", tenant: udp.clone() });
            }
        }
        if let Some(name) = self.rate_limits.keys().find(|name| !allowed(name)) {
            return Err(TenancyConfigError::NotAllowed { option: "rate_limits", tenant: name.clone() });
        }
        Ok(())
    }

    /// The allow-list as tenants (checked names).
    pub fn allowed(&self) -> Result<Vec<Tenant>, TenantNameError> {
        self.tenants.iter().map(|name| Tenant::parse(name)).collect()
    }

    /// `elasticsearch` as it is, then once per allowed tenant with the tenant's index prefix
    /// (`<prefix>-<tenant>`): what index maintenance (retention, rollover) goes through so
    /// every tenant's indices are kept as the untenanted ones are.
    pub fn every_prefix(&self, elasticsearch: &super::ElasticsearchConfig) -> Vec<super::ElasticsearchConfig> {
        let mut all = vec![elasticsearch.clone()];
        for tenant in self.allowed().unwrap_or_default() {
            let mut es = elasticsearch.clone();
            es.index_prefix = tenant.index_prefix(&elasticsearch.index_prefix);
            all.push(es);
        }
        all
    }

    /// The spans per second `tenant` may send; `None`: unlimited.
    pub fn rate_limit(&self, tenant: &Tenant) -> Option<u64> {
        let rate = self.rate_limits.get(tenant.as_str()).copied().unwrap_or(self.rate_limit_spans_per_second);
        (rate > 0).then_some(rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on(tenants: &[&str]) -> TenancyConfig {
        TenancyConfig { enabled: true, tenants: tenants.iter().map(|t| t.to_string()).collect(), ..Default::default() }
    }

    #[test]
    fn tenancy_on_needs_a_non_empty_allow_list_of_valid_names() {
        TenancyConfig::default().validate().expect("off without tenants is fine");
        assert_eq!(on(&[]).validate(), Err(TenancyConfigError::NoTenants));
        assert!(matches!(on(&["acme", "Bad"]).validate(), Err(TenancyConfigError::BadTenant(_))));
        on(&["acme", "team-7"]).validate().expect("valid allow-list");
    }

    #[test]
    fn udp_tenant_and_rate_limits_must_name_allowed_tenants() {
        let mut config = on(&["acme"]);
        config.udp_tenant = Some("other".into());
        assert_eq!(
            config.validate(),
            Err(TenancyConfigError::NotAllowed { option: "udp_tenant", tenant: "other".into() })
        );
        config.udp_tenant = Some("acme".into());
        config.rate_limits.insert("ghost".into(), 5);
        assert!(config.validate().unwrap_err().to_string().contains("tenancy.rate_limits names 'ghost'"));
    }

    #[test]
    fn a_tenants_own_rate_limit_replaces_the_default_and_zero_is_unlimited() {
        let mut config = on(&["a", "b", "c"]);
        config.rate_limit_spans_per_second = 100;
        config.rate_limits.insert("b".into(), 5);
        config.rate_limits.insert("c".into(), 0);
        let t = |n: &str| Tenant::parse(n).unwrap();
        assert_eq!(config.rate_limit(&t("a")), Some(100));
        assert_eq!(config.rate_limit(&t("b")), Some(5));
        assert_eq!(config.rate_limit(&t("c")), None);
    }

    #[test]
    fn index_maintenance_goes_through_the_prefix_and_every_tenants() {
        let es = super::super::ElasticsearchConfig { index_prefix: "skein".into(), ..Default::default() };
        let prefixes: Vec<String> =
            on(&["acme", "globex"]).every_prefix(&es).into_iter().map(|es| es.index_prefix).collect();
        assert_eq!(prefixes, ["skein", "skein-acme", "skein-globex"]);
        assert_eq!(TenancyConfig::default().every_prefix(&es).len(), 1);
    }

    #[test]
    fn a_header_that_is_no_header_name_is_refused() {
        for bad in ["", "X-Scope-OrgID", "x scope"] {
            let config = TenancyConfig { header: bad.into(), ..Default::default() };
            assert_eq!(config.validate(), Err(TenancyConfigError::BadHeader(bad.into())));
        }
    }
}
