//! A listener group's authenticator: the credentials in force (swapped whole when a file changes),
//! the check of a request's `Authorization` header, and a cache of successful bcrypt checks so a
//! client sending basic auth on every export pays bcrypt once, not per request.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use base64::Engine;
use http::HeaderMap;
use subtle::ConstantTimeEq;
use tokio_util::sync::CancellationToken;

use super::credentials::{read, CredentialsError, Tokens, Users};
use super::Principal;
use crate::config::AuthConfig;

/// Counter: requests refused, by `group` and `reason` (`missing`, `malformed`, `invalid_token`,
/// `invalid_password`).
pub const REFUSED: &str = "skein_auth_refused_total";
/// Counter: credential file changes that could not be used (the old credentials stay), by `group`.
pub const RELOAD_FAILURES: &str = "skein_auth_reload_failures_total";
/// Counter: credential files loaded after a change, by `group`.
pub const RELOADS: &str = "skein_auth_reloads_total";

/// Successful basic auth checks remembered; beyond this one is forgotten for each new one, so a
/// flood of made-up users cannot grow memory (a wrong password is never cached).
const CACHE_ENTRIES: usize = 1024;

pub fn describe() {
    metrics::describe_counter!(REFUSED, "requests refused for missing or invalid credentials, by group and reason");
    metrics::describe_counter!(
        RELOAD_FAILURES,
        "credential file changes that could not be used (the previous credentials stay in force), by group"
    );
    metrics::describe_counter!(RELOADS, "credential files read after a change, by group");
}

/// Why a request is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No `Authorization` header (or a scheme this group does not take).
    Missing,
    /// An `Authorization` header that cannot be read.
    Malformed,
    InvalidToken,
    InvalidPassword,
}

impl Refusal {
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::Missing => "missing",
            Refusal::Malformed => "malformed",
            Refusal::InvalidToken => "invalid_token",
            Refusal::InvalidPassword => "invalid_password",
        }
    }
}

/// The credentials in force.
#[derive(Default)]
struct Credentials {
    tokens: Option<Tokens>,
    users: Option<Users>,
}

/// A remembered successful check: the password that matched this user's hash.
struct Verified {
    hash: String,
    password: Vec<u8>,
}

struct Inner {
    group: &'static str,
    config: AuthConfig,
    credentials: RwLock<Arc<Credentials>>,
    verified: Mutex<HashMap<String, Verified>>,
}

/// Checks requests of one listener group; cheap to clone.
#[derive(Clone)]
pub struct Authenticator(Arc<Inner>);

/// What changed on disk since the last look: the files' modification times and lengths.
type Stamp = Vec<Option<(SystemTime, u64)>>;

impl Authenticator {
    /// The authenticator of `group` when its `auth` has a file, reading the files now (an
    /// unreadable or bad file is an error: the role does not start without its credentials).
    pub fn from_config(group: &'static str, config: &AuthConfig) -> Result<Option<Self>, CredentialsError> {
        if !config.enabled() {
            return Ok(None);
        }
        describe();
        let credentials = load(config)?;
        Ok(Some(Self(Arc::new(Inner {
            group,
            config: config.clone(),
            credentials: RwLock::new(Arc::new(credentials)),
            verified: Mutex::new(HashMap::new()),
        }))))
    }

    /// [`Authenticator::from_config`], and keep the credentials up to date with the files until
    /// `shutdown` (every `reload_interval_ms`).
    pub fn watching(
        group: &'static str,
        config: &AuthConfig,
        shutdown: &CancellationToken,
    ) -> Result<Option<Self>, CredentialsError> {
        let authenticator = Self::from_config(group, config)?;
        if let Some(authenticator) = &authenticator {
            if config.reload_interval_ms > 0 {
                // The files as read now, so a change before the task first runs is not missed.
                let seen = authenticator.stamp();
                let interval = Duration::from_millis(config.reload_interval_ms);
                tokio::spawn(authenticator.clone().watch(seen, interval, shutdown.clone()));
            }
        }
        Ok(authenticator)
    }

    pub fn group(&self) -> &'static str {
        self.0.group
    }

    /// The schemes this group takes, as `WWW-Authenticate` values.
    pub fn challenges(&self) -> Vec<&'static str> {
        let mut challenges = Vec::new();
        if self.0.config.bearer_tokens_file.is_some() {
            challenges.push("Bearer realm=\"skein\"");
        }
        if self.0.config.basic_users_file.is_some() {
            challenges.push("Basic realm=\"skein\"");
        }
        challenges
    }

    /// Who sent a request with these headers; a refusal is counted.
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<Principal, Refusal> {
        let checked = self.check(headers);
        if let Err(refusal) = checked {
            metrics::counter!(REFUSED, "group" => self.0.group, "reason" => refusal.reason()).increment(1);
        }
        checked
    }

    fn check(&self, headers: &HeaderMap) -> Result<Principal, Refusal> {
        let credentials = self.0.credentials.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
        let mut values = headers.get_all(http::header::AUTHORIZATION).iter();
        let Some(value) = values.next() else { return Err(Refusal::Missing) };
        if values.next().is_some() {
            return Err(Refusal::Malformed);
        }
        let value = value.to_str().map_err(|_| Refusal::Malformed)?.trim();
        let (scheme, rest) = value.split_once(' ').ok_or(Refusal::Malformed)?;
        let rest = rest.trim();
        if scheme.eq_ignore_ascii_case("bearer") {
            let tokens = credentials.tokens.as_ref().ok_or(Refusal::Missing)?;
            return tokens.find(rest.as_bytes()).cloned().ok_or(Refusal::InvalidToken);
        }
        if scheme.eq_ignore_ascii_case("basic") {
            let users = credentials.users.as_ref().ok_or(Refusal::Missing)?;
            let decoded = base64::engine::general_purpose::STANDARD.decode(rest).map_err(|_| Refusal::Malformed)?;
            let decoded = String::from_utf8(decoded).map_err(|_| Refusal::Malformed)?;
            let (name, password) = decoded.split_once(':').ok_or(Refusal::Malformed)?;
            let Some(user) = users.0.get(name) else {
                // Spend the time a known user costs, so timing does not tell which users exist.
                let _ = bcrypt::verify(password, dummy_hash());
                return Err(Refusal::InvalidPassword);
            };
            if !self.verify_cached(name, &user.hash, password.as_bytes()) {
                return Err(Refusal::InvalidPassword);
            }
            return Ok(Principal { name: name.to_string(), tenant: user.tenant.clone() });
        }
        Err(Refusal::Missing)
    }

    /// Whether `password` matches `hash`: from the cache when this user's last success used the
    /// same hash and password, else with bcrypt (and remembered when it matches).
    fn verify_cached(&self, name: &str, hash: &str, password: &[u8]) -> bool {
        {
            let verified = self.0.verified.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if let Some(entry) = verified.get(name) {
                if entry.hash == hash && bool::from(entry.password.as_slice().ct_eq(password)) {
                    return true;
                }
            }
        }
        if !bcrypt::verify(password, hash).unwrap_or(false) {
            return false;
        }
        let mut verified = self.0.verified.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if verified.len() >= CACHE_ENTRIES && !verified.contains_key(name) {
            if let Some(evicted) = verified.keys().next().cloned() {
                verified.remove(&evicted);
            }
        }
        verified.insert(name.to_string(), Verified { hash: hash.to_string(), password: password.to_vec() });
        true
    }

    /// Remembered successful checks (for tests and the cache's bound).
    pub fn cached_users(&self) -> usize {
        self.0.verified.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).len()
    }

    fn files(&self) -> Vec<PathBuf> {
        let config = &self.0.config;
        config.bearer_tokens_file.iter().chain(config.basic_users_file.iter()).cloned().collect()
    }

    fn stamp(&self) -> Stamp {
        self.files()
            .iter()
            .map(|path| std::fs::metadata(path).ok().and_then(|m| Some((m.modified().ok()?, m.len()))))
            .collect()
    }

    /// Read the files again now; a file that cannot be used leaves the credentials as they were.
    pub fn reload(&self) -> Result<(), CredentialsError> {
        let group = self.0.group;
        match load(&self.0.config) {
            Ok(credentials) => {
                *self.0.credentials.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(credentials);
                // A removed user or a changed hash must not pass from the cache.
                self.0.verified.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clear();
                metrics::counter!(RELOADS, "group" => group).increment(1);
                tracing::info!(group, "credentials reloaded");
                Ok(())
            }
            Err(error) => {
                metrics::counter!(RELOAD_FAILURES, "group" => group).increment(1);
                tracing::warn!(group, %error, "credential file changed but cannot be used; the previous credentials stay in force");
                Err(error)
            }
        }
    }

    async fn watch(self, mut seen: Stamp, interval: Duration, shutdown: CancellationToken) {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(interval) => {}
            }
            let now = self.stamp();
            if now != seen {
                seen = now;
                let _ = self.reload();
            }
        }
    }
}

/// A bcrypt hash of a random password, at `htpasswd -B`'s cost, made once.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        let password: [u8; 16] = rand::random();
        bcrypt::hash(password, 5).expect("bcrypt hashes at cost 5")
    })
}

fn load(config: &AuthConfig) -> Result<Credentials, CredentialsError> {
    let tokens = match &config.bearer_tokens_file {
        Some(path) => Some(Tokens::parse(&path.display().to_string(), &read(path)?)?),
        None => None,
    };
    let users = match &config.basic_users_file {
        Some(path) => Some(Users::parse(&path.display().to_string(), &read(path)?)?),
        None => None,
    };
    Ok(Credentials { tokens, users })
}
