//! Tenants at skein's boundaries: the name a request carries (header `x-scope-orgid`, or the
//! tenant a bearer token maps to), the Kafka record header that carries it from the collector to
//! the ingester and analytics, the record key, and the index prefix a tenant's documents live under.

use crate::elasticsearch::IndexNames;

/// Kafka record header with the tenant of every span in the record (absent without tenancy).
pub const TENANT_HEADER: &str = "skein.tenant";

/// Longest tenant name: it becomes part of index names, which Elasticsearch caps at 255 bytes.
pub const MAX_TENANT_LEN: usize = 64;

/// A tenant name that is safe in an index name, a record key and a header: 1 to 64 of
/// `a-z 0-9 _ -`, starting with a letter or digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tenant(String);

/// Why a text is not a tenant name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TenantNameError {
    #[error("the tenant name is empty")]
    Empty,
    #[error("tenant name '{0}' is longer than {MAX_TENANT_LEN} characters")]
    TooLong(String),
    #[error("tenant name '{0}' may use only a-z, 0-9, '_' and '-', and must start with a letter or digit")]
    Characters(String),
}

impl Tenant {
    /// Check `name`; no case folding, as index names are lowercase and `Acme` must not silently be `acme`.
    pub fn parse(name: &str) -> Result<Self, TenantNameError> {
        if name.is_empty() {
            return Err(TenantNameError::Empty);
        }
        if name.len() > MAX_TENANT_LEN {
            return Err(TenantNameError::TooLong(name.chars().take(MAX_TENANT_LEN).collect()));
        }
        let allowed = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_' || c == b'-';
        let bytes = name.as_bytes();
        if !bytes[0].is_ascii_alphanumeric() || !bytes.iter().all(|&c| allowed(c)) {
            return Err(TenantNameError::Characters(name.to_string()));
        }
        Ok(Self(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The record key of a span of this tenant: `<tenant>/<trace id hex>`, so that the same trace
    /// id sent by two tenants is two keys (and may land on two partitions).
    pub fn record_key(&self, trace_key: &str) -> String {
        format!("{}/{trace_key}", self.0)
    }

    /// The index prefix of this tenant under the configured `elasticsearch.index_prefix`:
    /// `<prefix>-<tenant>`, or `<tenant>` without a prefix. Jaeger's own query service pointed at
    /// this prefix reads this tenant's spans.
    pub fn index_prefix(&self, base_prefix: &str) -> String {
        let base = base_prefix.trim_end_matches('-');
        if base.is_empty() {
            self.0.clone()
        } else {
            format!("{base}-{}", self.0)
        }
    }
}

impl std::fmt::Display for Tenant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Tenant {
    type Err = TenantNameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Tenant::parse(s)
    }
}

impl IndexNames {
    /// The names of `tenant`'s indices: those of the prefix [`Tenant::index_prefix`], in the same mode.
    pub fn for_tenant(&self, tenant: &Tenant) -> IndexNames {
        IndexNames::new(&tenant.index_prefix(self.prefix())).with_aliases(self.uses_aliases())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_safe_in_an_index_are_tenants_and_others_are_refused_with_the_reason() {
        for good in ["acme", "team-7", "a", "0x_ops", &"t".repeat(64)] {
            assert_eq!(Tenant::parse(good).unwrap().as_str(), good);
        }
        assert_eq!(Tenant::parse(""), Err(TenantNameError::Empty));
        assert!(matches!(Tenant::parse(&"t".repeat(65)), Err(TenantNameError::TooLong(_))));
        for bad in ["Acme", "-acme", "_x", "a/b", "a b", "ä", "a*", "a,b", "../x"] {
            assert!(matches!(Tenant::parse(bad), Err(TenantNameError::Characters(_))), "{bad}");
        }
    }

    #[test]
    fn a_tenant_prefix_nests_under_the_configured_prefix_and_names_disjoint_indices() {
        let acme = Tenant::parse("acme").unwrap();
        assert_eq!(acme.index_prefix(""), "acme");
        assert_eq!(acme.index_prefix("skein"), "skein-acme");
        assert_eq!(acme.index_prefix("skein-"), "skein-acme");
        let micros = 1_700_000_000_000_000;
        let base = IndexNames::new("skein");
        assert_eq!(base.for_tenant(&acme).span_index(micros), "skein-acme-jaeger-span-2023-11-14");
        assert_eq!(IndexNames::new("").for_tenant(&acme).span_index(micros), "acme-jaeger-span-2023-11-14");
        let aliased = IndexNames::new("p").with_aliases(true).for_tenant(&acme);
        assert!(aliased.uses_aliases());
        // One tenant's pattern never matches another's, nor the untenanted indices.
        let a_b = Tenant::parse("acme-b").unwrap();
        let pattern = base.for_tenant(&acme).span_pattern();
        let other = base.for_tenant(&a_b).span_index(micros);
        assert!(!glob_matches(&pattern, &other), "{pattern} matches {other}");
        assert!(!glob_matches(&base.span_pattern(), &base.for_tenant(&acme).span_index(micros)));
    }

    #[test]
    fn the_same_trace_of_two_tenants_is_two_record_keys() {
        let a = Tenant::parse("a").unwrap();
        let b = Tenant::parse("b").unwrap();
        assert_eq!(a.record_key("00ff"), "a/00ff");
        assert_ne!(a.record_key("00ff"), b.record_key("00ff"));
    }

    /// `*` as Elasticsearch expands it in an index pattern.
    fn glob_matches(pattern: &str, name: &str) -> bool {
        match pattern.split_once('*') {
            None => pattern == name,
            Some((head, tail)) => name.starts_with(head) && name[head.len()..].ends_with(tail),
        }
    }
}
