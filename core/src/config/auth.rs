//! `listeners.<group>.auth`: the credentials a listener group accepts (see docs/auth.md).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Authentication of one listener group; on when a file is set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Bearer tokens, one per line: `<token>` or `<token> <name> [tenant]`; `#` starts a comment.
    pub bearer_tokens_file: Option<PathBuf>,
    /// Basic auth users, one per line: `user:<bcrypt hash>[:tenant]` (`htpasswd -B`).
    pub basic_users_file: Option<PathBuf>,
    /// How often the files are checked for a change, ms; `0`: read once at start.
    pub reload_interval_ms: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        // Rotating a token takes effect within seconds; a stat of two files that often costs nothing.
        Self { bearer_tokens_file: None, basic_users_file: None, reload_interval_ms: 5_000 }
    }
}

/// An `auth` option that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthConfigError {
    #[error("listeners.{group}.auth.{option} is empty: give the path of the file, or leave the option unset")]
    EmptyPath { group: &'static str, option: &'static str },
}

impl AuthConfig {
    /// True when requests of the group must carry credentials.
    pub fn enabled(&self) -> bool {
        self.bearer_tokens_file.is_some() || self.basic_users_file.is_some()
    }

    pub(super) fn validate(&self, group: &'static str) -> Result<(), AuthConfigError> {
        for (option, path) in
            [("bearer_tokens_file", &self.bearer_tokens_file), ("basic_users_file", &self.basic_users_file)]
        {
            if path.as_ref().is_some_and(|path| path.as_os_str().is_empty()) {
                return Err(AuthConfigError::EmptyPath { group, option });
            }
        }
        Ok(())
    }
}
