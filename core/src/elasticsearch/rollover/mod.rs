//! Jaeger's alias mode (`elasticsearch.use_aliases`) and its index maintenance, as Jaeger's
//! `es-rollover` tool does it: `init` installs the templates, creates `<prefix>jaeger-<family>-000001`
//! and points `<family>-write` and `<family>-read` at it; `rollover` asks Elasticsearch's
//! `_rollover` to move the write alias to a new index when the conditions hold and adds the new
//! index to the read alias; `lookback` takes old indices out of the read alias (never the one
//! being written). Families: spans, services and dependencies (Jaeger's set without sampling,
//! which skein does not write). The roles that write refuse to start without their write aliases
//! ([`wait_for_write_aliases`]), and every write to a write alias requires the alias, so no index
//! named like an alias is ever created.

mod actions;
mod conditions;
mod lookback;

pub use actions::{wait_for_write_aliases, IndexRollover, InitReport, LookbackReport, RolloverReport};
pub use conditions::{parse_conditions, DEFAULT_CONDITIONS};
pub use lookback::{cutoff, indices_leaving_read_alias, IndexInfo, LookbackUnit};

use super::ElasticsearchSetupError;

/// Why an alias-mode action did not complete.
#[derive(Debug, thiserror::Error)]
pub enum RolloverError {
    #[error("cannot reach Elasticsearch at {url}: {reason} (is it running? run `make up` locally)")]
    Unreachable { url: String, reason: String },
    #[error("Elasticsearch refused to {what}: HTTP {status}: {body}")]
    Refused { what: String, status: u16, body: String },
    #[error("cannot read Elasticsearch's answer to {what}: {reason}")]
    Unreadable { what: String, reason: String },
    #[error(
        "aliases missing: {aliases}: run `skein indices rollover init` (with the same elasticsearch.index_prefix) \
         before starting skein with elasticsearch.use_aliases"
    )]
    AliasesMissing { aliases: String },
    #[error(
        "{name} is an index, not an alias (something wrote to it before `skein indices rollover init` ran): move \
         its documents into another index with _reindex and delete it, then run `skein indices rollover init`"
    )]
    NotAnAlias { name: String },
    #[error("--conditions {text} is not valid: {reason} (write a JSON object such as '{{\"max_age\": \"1d\"}}')")]
    Conditions { text: String, reason: String },
    #[error(transparent)]
    Templates(#[from] ElasticsearchSetupError),
}

impl RolloverError {
    /// True when trying again later may succeed (the cluster was unreachable or overloaded);
    /// false when someone has to act first.
    pub fn is_retryable(&self) -> bool {
        match self {
            RolloverError::Unreachable { .. } => true,
            RolloverError::Refused { status, .. } => *status == 429 || *status >= 500,
            RolloverError::Templates(ElasticsearchSetupError::Unreachable { .. }) => true,
            _ => false,
        }
    }
}
