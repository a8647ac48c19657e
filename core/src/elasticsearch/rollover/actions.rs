//! The requests behind `skein indices rollover init | rollover | lookback` and the write-alias
//! check the writing roles run at start.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use elasticsearch::http::response::Response;
use elasticsearch::indices::{
    IndicesCreateParts, IndicesExistsParts, IndicesGetAliasParts, IndicesGetParts, IndicesRolloverParts,
};
use elasticsearch::Elasticsearch;
use serde_json::{json, Map, Value};
use skein_schemas::elasticsearch::{IndexNames, RolledFamily};
use tokio_util::sync::CancellationToken;

use super::lookback::{cutoff, indices_leaving_read_alias, IndexInfo, LookbackUnit};
use super::RolloverError;
use crate::config::ElasticsearchConfig;
use crate::retry::Backoff;

/// Alias-mode maintenance of one index prefix.
pub struct IndexRollover {
    client: Elasticsearch,
    config: ElasticsearchConfig,
    names: IndexNames,
}

/// What `init` did for one family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitReport {
    pub family: RolledFamily,
    /// The index the write alias points at.
    pub write_index: String,
    /// True when `init` created that index now.
    pub created_index: bool,
    /// Aliases `init` added now (none when the family was already set up).
    pub added_aliases: Vec<String>,
}

/// What `rollover` did for one family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolloverReport {
    pub family: RolledFamily,
    pub old_index: String,
    pub new_index: String,
    /// False when no condition held: the write alias stayed where it was.
    pub rolled_over: bool,
}

/// What `lookback` did for one family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookbackReport {
    pub family: RolledFamily,
    /// Indices taken out of the read alias (still stored; `skein indices clean` or a delete
    /// removes them).
    pub removed: Vec<String>,
}

impl IndexRollover {
    /// Maintenance of the aliases of `config.index_prefix`.
    pub fn new(client: Elasticsearch, config: &ElasticsearchConfig) -> Self {
        let names = IndexNames::new(&config.index_prefix).with_aliases(true);
        Self { client, config: config.clone(), names }
    }

    /// The names this maintenance works on.
    pub fn names(&self) -> &IndexNames {
        &self.names
    }

    /// Install the span, service and analytics templates, then per family create
    /// `<family>-000001` and the write and read aliases when they are missing. Running it again
    /// changes nothing.
    pub async fn init(&self) -> Result<Vec<InitReport>, RolloverError> {
        let (shards, replicas) = (self.config.shards, self.config.replicas);
        let mut templates = self.names.templates(shards, replicas);
        templates.extend(self.names.analytics_templates(shards, replicas));
        crate::elasticsearch::install_templates(&self.client, &self.config, &templates).await?;
        let mut reports = Vec::new();
        for family in RolledFamily::ALL {
            reports.push(self.init_family(family).await?);
        }
        Ok(reports)
    }

    async fn init_family(&self, family: RolledFamily) -> Result<InitReport, RolloverError> {
        let (write, read) = (self.names.write_alias(family), self.names.read_alias(family));
        let write_indices = self.alias_indices(&write).await?;
        let read_indices = self.alias_indices(&read).await?;
        for (alias, indices) in [(&write, &write_indices), (&read, &read_indices)] {
            if indices.is_none() && self.exists(alias).await? {
                return Err(RolloverError::NotAnAlias { name: alias.clone() });
            }
        }
        let mut created_index = false;
        let mut actions = Vec::new();
        let write_index = match write_indices.as_deref().and_then(|indices| indices.first()) {
            Some(index) => index.clone(),
            None => {
                let first = self.names.first_rolled_index(family);
                if !self.exists(&first).await? {
                    created_index = self.create_index(&first).await?;
                }
                actions.push(json!({"add": {"index": first, "alias": write}}));
                first
            }
        };
        if read_indices.is_none() {
            actions.push(json!({"add": {"index": write_index, "alias": read}}));
        }
        let added_aliases = actions.iter().filter_map(|a| a["add"]["alias"].as_str().map(str::to_string)).collect();
        if !actions.is_empty() {
            self.update_aliases(&format!("add the aliases of {write_index}"), actions).await?;
        }
        Ok(InitReport { family, write_index, created_index, added_aliases })
    }

    /// Roll every family's write alias over to a new index when `conditions` hold (Elasticsearch
    /// decides), and add the index now written to the read alias.
    pub async fn rollover(&self, conditions: &Map<String, Value>) -> Result<Vec<RolloverReport>, RolloverError> {
        self.require_write_aliases(&RolledFamily::ALL).await?;
        let mut reports = Vec::new();
        for family in RolledFamily::ALL {
            let write = self.names.write_alias(family);
            let what = format!("roll {write} over");
            let sent = self
                .client
                .indices()
                .rollover(IndicesRolloverParts::Alias(&write))
                // No conditions: roll over now (an empty `conditions` object is not sent).
                .body(if conditions.is_empty() { json!({}) } else { json!({ "conditions": conditions }) })
                .send()
                .await;
            let answer = self.answer(&what, sent).await?;
            let text = |field: &str| answer[field].as_str().unwrap_or_default().to_string();
            let report = RolloverReport {
                family,
                old_index: text("old_index"),
                new_index: text("new_index"),
                rolled_over: answer["rolled_over"].as_bool().unwrap_or(false),
            };
            // Whether or not it rolled now, the index being written must be readable (a previous
            // run may have stopped between the two steps).
            let read = self.names.read_alias(family);
            let written = self.alias_indices(&write).await?.unwrap_or_default();
            let actions: Vec<Value> =
                written.iter().map(|index| json!({"add": {"index": index, "alias": read}})).collect();
            if !actions.is_empty() {
                self.update_aliases(&format!("add {} to {read}", written.join(", ")), actions).await?;
            }
            reports.push(report);
        }
        Ok(reports)
    }

    /// Take every family's indices created before the cut-off (`count` `unit`s back, see
    /// [`cutoff`]) out of its read alias, except the index the write alias points at.
    pub async fn lookback(
        &self,
        unit: LookbackUnit,
        count: u32,
        now: DateTime<Utc>,
    ) -> Result<Vec<LookbackReport>, RolloverError> {
        self.require_write_aliases(&RolledFamily::ALL).await?;
        let indices = self.indices().await?;
        let cutoff_ms = cutoff(now, unit, count).timestamp_millis();
        let mut reports = Vec::new();
        for family in RolledFamily::ALL {
            let (read, write) = (self.names.read_alias(family), self.names.write_alias(family));
            let removed = indices_leaving_read_alias(&indices, &read, &write, cutoff_ms);
            if !removed.is_empty() {
                let actions = removed.iter().map(|index| json!({"remove": {"index": index, "alias": read}})).collect();
                self.update_aliases(&format!("take {} out of {read}", removed.join(", ")), actions).await?;
            }
            reports.push(LookbackReport { family, removed });
        }
        Ok(reports)
    }

    /// Fail with [`RolloverError::AliasesMissing`] naming every missing write alias of
    /// `families` (or [`RolloverError::NotAnAlias`] when an index took an alias's name).
    pub async fn require_write_aliases(&self, families: &[RolledFamily]) -> Result<(), RolloverError> {
        let mut missing = Vec::new();
        for family in families {
            let write = self.names.write_alias(*family);
            if self.alias_indices(&write).await?.is_none() {
                if self.exists(&write).await? {
                    return Err(RolloverError::NotAnAlias { name: write });
                }
                missing.push(write);
            }
        }
        if missing.is_empty() {
            Ok(())
        } else {
            Err(RolloverError::AliasesMissing { aliases: missing.join(", ") })
        }
    }

    /// The indices `alias` points at; `None` when no alias has that name.
    async fn alias_indices(&self, alias: &str) -> Result<Option<Vec<String>>, RolloverError> {
        let what = format!("look alias {alias} up");
        let sent = self.client.indices().get_alias(IndicesGetAliasParts::Name(&[alias])).send().await;
        let response = sent.map_err(|error| self.unreachable(error))?;
        if response.status_code().as_u16() == 404 {
            return Ok(None);
        }
        let body = self.answer(&what, Ok(response)).await?;
        Ok(Some(body.as_object().map(|indices| indices.keys().cloned().collect()).unwrap_or_default()))
    }

    /// True when an index or alias is called `name`.
    async fn exists(&self, name: &str) -> Result<bool, RolloverError> {
        let sent = self.client.indices().exists(IndicesExistsParts::Index(&[name])).send().await;
        let status = sent.map_err(|error| self.unreachable(error))?.status_code().as_u16();
        match status {
            200 => Ok(true),
            404 => Ok(false),
            status => {
                Err(RolloverError::Refused { what: format!("say whether {name} exists"), status, body: String::new() })
            }
        }
    }

    /// Create `index` (settings and mappings from its template); false when it was there already.
    async fn create_index(&self, index: &str) -> Result<bool, RolloverError> {
        let what = format!("create index {index}");
        let sent = self.client.indices().create(IndicesCreateParts::Index(index)).send().await;
        let response = sent.map_err(|error| self.unreachable(error))?;
        if response.status_code().as_u16() == 400 {
            let body: Value = response.json().await.unwrap_or(Value::Null);
            // Another init created it between our check and now.
            if body["error"]["type"] == "resource_already_exists_exception" {
                return Ok(false);
            }
            return Err(RolloverError::Refused { what, status: 400, body: body.to_string() });
        }
        self.answer(&what, Ok(response)).await?;
        Ok(true)
    }

    async fn update_aliases(&self, what: &str, actions: Vec<Value>) -> Result<(), RolloverError> {
        let sent = self.client.indices().update_aliases().body(json!({ "actions": actions })).send().await;
        self.answer(what, sent).await.map(|_| ())
    }

    /// Every index of the prefix with its aliases and creation time (Jaeger's `GetJaegerIndices`).
    async fn indices(&self) -> Result<Vec<IndexInfo>, RolloverError> {
        let pattern = format!("{}jaeger-*", self.names.prefix());
        let sent = self
            .client
            .indices()
            .get(IndicesGetParts::Index(&[pattern.as_str()]))
            .flat_settings(true)
            .filter_path(&["*.aliases", "*.settings"])
            .send()
            .await;
        let body = self.answer(&format!("list the indices {pattern}"), sent).await?;
        Ok(read_indices(&body))
    }

    /// The JSON of a 2xx answer, or why there is none.
    async fn answer(&self, what: &str, sent: Result<Response, elasticsearch::Error>) -> Result<Value, RolloverError> {
        let response = sent.map_err(|error| self.unreachable(error))?;
        let status = response.status_code().as_u16();
        let text = response.text().await.map_err(|error| self.unreachable(error))?;
        if !(200..300).contains(&status) {
            return Err(RolloverError::Refused { what: what.to_string(), status, body: text });
        }
        if text.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text)
            .map_err(|error| RolloverError::Unreadable { what: what.to_string(), reason: error.to_string() })
    }

    fn unreachable(&self, error: elasticsearch::Error) -> RolloverError {
        RolloverError::Unreachable { url: self.config.url.clone(), reason: error.to_string() }
    }
}

/// `GET <pattern>?flat_settings=true` read as [`IndexInfo`]s; an index without a readable
/// creation date counts as created now, so that lookback leaves it alone.
fn read_indices(body: &Value) -> Vec<IndexInfo> {
    let Some(indices) = body.as_object() else { return Vec::new() };
    indices
        .iter()
        .map(|(name, index)| {
            let created = &index["settings"]["index.creation_date"];
            let created_ms =
                created.as_str().and_then(|text| text.parse().ok()).or_else(|| created.as_i64()).unwrap_or(i64::MAX);
            let aliases: BTreeSet<String> =
                index["aliases"].as_object().map(|a| a.keys().cloned().collect()).unwrap_or_default();
            IndexInfo { name: name.clone(), created_ms, aliases }
        })
        .collect()
}

/// Wait until the write aliases of `families` exist, retrying while Elasticsearch cannot be
/// asked; an error when they are missing (or an index has an alias's name), which an operator
/// must fix. `Ok(false)` when shutdown came first.
pub async fn wait_for_write_aliases(
    client: &Elasticsearch,
    config: &ElasticsearchConfig,
    families: &[RolledFamily],
    backoff: Backoff,
    shutdown: &CancellationToken,
) -> Result<bool, RolloverError> {
    let rollover = IndexRollover::new(client.clone(), config);
    let mut attempt = 0;
    loop {
        match rollover.require_write_aliases(families).await {
            Ok(()) => return Ok(true),
            Err(error) if error.is_retryable() => {
                tracing::warn!(%error, "cannot check the write aliases yet; retrying")
            }
            Err(error) => return Err(error),
        }
        if !backoff.wait(attempt.min(6), shutdown).await {
            return Ok(false);
        }
        attempt += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_listing_reads_aliases_and_creation_dates() {
        // Elasticsearch's answer to GET p-jaeger-*?flat_settings=true&filter_path=*.aliases,*.settings
        let body = json!({
            "p-jaeger-span-000001": {
                "aliases": {"p-jaeger-span-read": {}},
                "settings": {"index.creation_date": "1700000000000", "index.number_of_shards": "1"}
            },
            "p-jaeger-span-000002": {
                "aliases": {"p-jaeger-span-read": {}, "p-jaeger-span-write": {}},
                "settings": {"index.creation_date": "1700086400000"}
            },
            "p-jaeger-span-2023-11-14": {"settings": {}}
        });
        let mut indices = read_indices(&body);
        indices.sort_by(|a, b| a.name.cmp(&b.name));
        assert_eq!(indices[0].created_ms, 1_700_000_000_000);
        assert!(indices[0].aliases.contains("p-jaeger-span-read"));
        assert_eq!(indices[1].aliases.len(), 2);
        assert_eq!(indices[2].created_ms, i64::MAX, "no date: treated as new, never taken out");
        assert!(indices[2].aliases.is_empty());
    }
}
