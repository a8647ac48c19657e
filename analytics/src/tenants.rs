//! The tenants of the records analytics reads. A record's tenant is its `skein.tenant` header
//! (none without it); a tenant's documents go to its own indices, whose templates (and, in alias
//! mode, whose dependencies write alias) must be there before the first of them is written.
//!
//! Templates are installed per tenant, when a tenant is first seen (once per process), rather than
//! as one wider pattern (`<prefix>-*-skein-metrics-*`): with the empty prefix a wider pattern
//! would match every other prefix's indices on a shared cluster, and Elasticsearch refuses a
//! template whose patterns overlap another's at the same priority.

use std::collections::BTreeSet;

use elasticsearch::Elasticsearch;
use rdkafka::message::{BorrowedMessage, Headers, Message};
use rustc_hash::FxHashMap;
use serde_json::Value;
use skein_core::config::ElasticsearchConfig;
use skein_core::elasticsearch::rollover::wait_for_write_aliases;
use skein_core::elasticsearch::{install_templates, ElasticsearchSetupError};
use skein_core::retry::Backoff;
use skein_schemas::elasticsearch::{IndexNames, RolledFamily};
use skein_schemas::tenant::{Tenant, TenantNameError, TENANT_HEADER};
use tokio_util::sync::CancellationToken;

use crate::error::AnalyticsError;
use crate::names::Names;
use crate::partition::NO_TENANT;

/// Why a record's tenant header names no tenant: the record is skipped and counted as undecodable.
#[derive(Debug, thiserror::Error)]
pub enum TenantHeaderError {
    #[error("the {TENANT_HEADER} header is not UTF-8")]
    NotUtf8,
    #[error("the {TENANT_HEADER} header names no tenant: {0}")]
    Name(#[from] TenantNameError),
}

/// The analytics templates of `tenant`'s indices: dependencies and metrics (the checkpoint index
/// stays the configured one: checkpoints are per partition, whatever tenants it carries).
pub fn tenant_templates(base: &IndexNames, tenant: &Tenant, shards: u32, replicas: u32) -> Vec<(String, Value)> {
    let names = base.for_tenant(tenant);
    let state = names.analytics_state_index();
    names.analytics_templates(shards, replicas).into_iter().filter(|(name, _)| *name != state).collect()
}

/// Tenants seen, interned, and which of them have their indices prepared.
pub struct Tenants {
    /// Valid tenant names seen → their interned id: a record of a known tenant costs one lookup.
    known: FxHashMap<Box<str>, u32>,
    prepared: BTreeSet<Tenant>,
    unprepared: BTreeSet<Tenant>,
    client: Elasticsearch,
    config: ElasticsearchConfig,
    backoff: Backoff,
}

impl Tenants {
    pub fn new(client: Elasticsearch, config: ElasticsearchConfig, backoff: Backoff) -> Self {
        Self {
            known: FxHashMap::default(),
            prepared: BTreeSet::new(),
            unprepared: BTreeSet::new(),
            client,
            config,
            backoff,
        }
    }

    /// The interned tenant of a record: [`NO_TENANT`] without the header.
    pub fn of_record(&mut self, message: &BorrowedMessage<'_>, names: &mut Names) -> Result<u32, TenantHeaderError> {
        let Some(headers) = message.headers() else { return Ok(NO_TENANT) };
        match headers.iter().find(|h| h.key == TENANT_HEADER) {
            None => Ok(NO_TENANT),
            Some(header) => self.intern(header.value.unwrap_or_default(), names),
        }
    }

    /// The interned id of a tenant header's value, validated the first time it is seen.
    pub fn intern(&mut self, value: &[u8], names: &mut Names) -> Result<u32, TenantHeaderError> {
        let name = std::str::from_utf8(value).map_err(|_| TenantHeaderError::NotUtf8)?;
        if let Some(id) = self.known.get(name) {
            return Ok(*id);
        }
        let tenant = Tenant::parse(name)?;
        let id = names.id(name);
        self.known.insert(name.into(), id);
        self.saw(tenant);
        Ok(id)
    }

    /// A tenant whose documents are about to be written (seen in a record, or in the totals of a
    /// checkpoint): its indices are prepared before the next write.
    pub fn saw(&mut self, tenant: Tenant) {
        if !self.prepared.contains(&tenant) {
            self.unprepared.insert(tenant);
        }
    }

    /// Install the templates of every tenant seen since the last call (unless
    /// `elasticsearch.create_templates` is off) and, in alias mode, require its dependencies write
    /// alias. False when shutdown came first. A template Elasticsearch refuses for good is logged
    /// and left out: the documents are still written (Elasticsearch then maps them itself).
    pub async fn prepare(&mut self, shutdown: &CancellationToken) -> Result<bool, AnalyticsError> {
        while let Some(tenant) = self.unprepared.first().cloned() {
            if self.config.create_templates && !self.install(&tenant, shutdown).await {
                return Ok(false);
            }
            if self.config.use_aliases {
                let mut config = self.config.clone();
                config.index_prefix = tenant.index_prefix(&self.config.index_prefix);
                let families = [RolledFamily::Dependencies];
                match wait_for_write_aliases(&self.client, &config, &families, self.backoff, shutdown).await {
                    Ok(true) => {}
                    Ok(false) => return Ok(false),
                    Err(source) => {
                        return Err(AnalyticsError::TenantAliases {
                            tenant: tenant.to_string(),
                            prefix: config.index_prefix,
                            source,
                        })
                    }
                }
            }
            tracing::info!(%tenant, "analytics writes this tenant's documents under its own index prefix");
            self.unprepared.remove(&tenant);
            self.prepared.insert(tenant);
        }
        Ok(true)
    }

    /// Install one tenant's templates, retrying while Elasticsearch is unreachable; false when
    /// shutdown came first.
    async fn install(&self, tenant: &Tenant, shutdown: &CancellationToken) -> bool {
        let base = self.config.index_names();
        let templates = tenant_templates(&base, tenant, self.config.shards, self.config.replicas);
        let mut attempt = 0;
        loop {
            match install_templates(&self.client, &self.config, &templates).await {
                Ok(()) => return true,
                Err(error @ ElasticsearchSetupError::Template { .. }) => {
                    tracing::error!(%tenant, %error, "cannot install the tenant's analytics index templates; its documents are written without them");
                    return true;
                }
                Err(error) => {
                    tracing::warn!(%tenant, %error, "cannot install the tenant's analytics index templates yet; retrying")
                }
            }
            if !self.backoff.wait(attempt.min(6), shutdown).await {
                return false;
            }
            attempt += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_template_covers_exactly_the_tenant_indices_analytics_writes() {
        let base = IndexNames::new("skein");
        let acme = Tenant::parse("acme").unwrap();
        let templates = tenant_templates(&base, &acme, 1, 0);
        let patterns: Vec<&str> =
            templates.iter().map(|(_, body)| body["index_patterns"][0].as_str().unwrap()).collect();
        assert_eq!(patterns, vec!["skein-acme-jaeger-dependencies-*", "skein-acme-skein-metrics-*"]);
        let names: Vec<&str> = templates.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, vec!["skein-acme-jaeger-dependencies", "skein-acme-skein-metrics"]);
        let day = 1_700_000_000_000;
        let written = [base.for_tenant(&acme).metrics_index(day), base.for_tenant(&acme).dependencies_index(day)];
        for index in &written {
            assert!(patterns.iter().any(|p| index.starts_with(p.trim_end_matches('*'))), "{index} has no template");
        }
        // The configured (untenanted) templates do not cover them: without the tenant's own,
        // Elasticsearch would map its documents by guessing.
        for (_, body) in base.analytics_templates(1, 0) {
            let pattern = body["index_patterns"][0].as_str().unwrap().trim_end_matches('*').to_string();
            assert!(written.iter().all(|index| !index.starts_with(&pattern)), "{pattern}");
        }
    }

    #[test]
    fn header_values_that_name_no_tenant_are_refused_and_not_interned() {
        let client = Elasticsearch::default();
        let backoff =
            Backoff { initial: std::time::Duration::from_millis(1), max: std::time::Duration::from_millis(1) };
        let mut tenants = Tenants::new(client, ElasticsearchConfig::default(), backoff);
        let mut names = Names::default();
        let acme = tenants.intern(b"acme", &mut names).unwrap();
        assert_eq!(names.name(acme), "acme");
        assert_eq!(tenants.intern(b"acme", &mut names).unwrap(), acme);
        assert!(matches!(tenants.intern(b"Acme", &mut names), Err(TenantHeaderError::Name(_))));
        assert!(matches!(tenants.intern(b"", &mut names), Err(TenantHeaderError::Name(_))));
        assert!(matches!(tenants.intern(&[0xff, 0x61], &mut names), Err(TenantHeaderError::NotUtf8)));
        assert_eq!(names.id("Acme"), acme + 1, "a refused name is not interned");
        assert_eq!(tenants.unprepared.iter().map(Tenant::as_str).collect::<Vec<_>>(), vec!["acme"]);
    }
}
