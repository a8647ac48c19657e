//! The credential files: bearer tokens (`<token> [name [tenant]]`) and basic auth users
//! (`user:<bcrypt hash>[:tenant]`, as `htpasswd -B` writes them), `#` comments and blank lines
//! ignored. A file with one bad line is refused whole, so a typo never drops the other credentials.

use std::collections::HashMap;
use std::path::Path;

use skein_schemas::tenant::Tenant;
use subtle::ConstantTimeEq;

use super::Principal;

/// Why a credential file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error("cannot read {path}: {source} (check listeners.<group>.auth and the file's permissions)")]
    Read { path: String, source: std::io::Error },
    #[error("{path} line {line}: {reason}")]
    Line { path: String, line: usize, reason: String },
}

/// A bearer token and who it is.
#[derive(Debug, Clone)]
struct TokenEntry {
    token: Vec<u8>,
    principal: Principal,
}

/// The bearer tokens of a group.
#[derive(Debug, Clone, Default)]
pub struct Tokens(Vec<TokenEntry>);

/// A basic auth user: the bcrypt hash of the password, and the tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub hash: String,
    pub tenant: Option<Tenant>,
}

/// The basic auth users of a group, by name.
#[derive(Debug, Clone, Default)]
pub struct Users(pub HashMap<String, User>);

fn meaningful_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(index, line)| (index + 1, line.trim()))
        .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'))
}

fn tenant(name: &str) -> Result<Tenant, String> {
    Tenant::parse(name).map_err(|error| format!("tenant {name:?}: {error}"))
}

impl Tokens {
    pub fn parse(path: &str, text: &str) -> Result<Self, CredentialsError> {
        let mut entries = Vec::new();
        for (line, content) in meaningful_lines(text) {
            let refuse = |reason: String| CredentialsError::Line { path: path.to_string(), line, reason };
            let mut fields = content.split_whitespace();
            let token = fields.next().expect("a meaningful line has a field");
            let name = fields.next().map_or_else(|| format!("token-line-{line}"), str::to_string);
            let tenant = fields.next().map(tenant).transpose().map_err(refuse)?;
            if fields.next().is_some() {
                return Err(refuse("expected `<token> [name [tenant]]`, found more fields".into()));
            }
            // A short token can be guessed; 16 characters is what `openssl rand -hex 8` gives.
            if token.len() < 16 {
                return Err(refuse(format!(
                    "the token of {name} has {} characters; use at least 16 (openssl rand -hex 32)",
                    token.len()
                )));
            }
            if entries.iter().any(|e: &TokenEntry| e.token == token.as_bytes()) {
                return Err(refuse(format!("the token of {name} is listed twice")));
            }
            entries.push(TokenEntry { token: token.as_bytes().to_vec(), principal: Principal { name, tenant } });
        }
        Ok(Self(entries))
    }

    /// Who `presented` is. Every token is compared, each in constant time, so neither the time
    /// nor which entry matched tells an attacker how much of a token was right.
    pub fn find(&self, presented: &[u8]) -> Option<&Principal> {
        let mut found = None;
        for entry in &self.0 {
            if bool::from(entry.token.as_slice().ct_eq(presented)) {
                found = Some(&entry.principal);
            }
        }
        found
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Users {
    pub fn parse(path: &str, text: &str) -> Result<Self, CredentialsError> {
        let mut users = HashMap::new();
        for (line, content) in meaningful_lines(text) {
            let refuse = |reason: String| CredentialsError::Line { path: path.to_string(), line, reason };
            let (user, rest) =
                content.split_once(':').ok_or_else(|| refuse("expected `user:<bcrypt hash>[:tenant]`".into()))?;
            // A bcrypt hash has no `:`; what follows one is the tenant.
            let (hash, tenant_name) = match rest.split_once(':') {
                Some((hash, tenant)) => (hash, Some(tenant)),
                None => (rest, None),
            };
            if user.is_empty() {
                return Err(refuse("the user name is empty".into()));
            }
            if !(hash.starts_with("$2a$") || hash.starts_with("$2b$") || hash.starts_with("$2y$")) || hash.len() != 60 {
                return Err(refuse(format!(
                    "the password of {user} is not a bcrypt hash ($2y$..., 60 characters); make one with `htpasswd -nbB {user} <password>`"
                )));
            }
            let tenant = tenant_name.map(tenant).transpose().map_err(refuse)?;
            if users.insert(user.to_string(), User { hash: hash.to_string(), tenant }).is_some() {
                return Err(refuse(format!("user {user} is listed twice")));
            }
        }
        Ok(Self(users))
    }
}

/// Read a file to text.
pub fn read(path: &Path) -> Result<String, CredentialsError> {
    std::fs::read_to_string(path).map_err(|source| CredentialsError::Read { path: path.display().to_string(), source })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "$2y$04$6m0bYZJ0pMNPAH0y.wNBAO0HcLlnfRiGmTA1vQZqmnXIeJFRTHyQe";

    #[test]
    fn token_lines_take_an_optional_name_and_tenant_and_comments_are_ignored() {
        let tokens = Tokens::parse(
            "t",
            "# exporters\n0123456789abcdef\n\n  fedcba9876543210 shop-exporter  \naaaaaaaaaaaaaaaa billing billing-team\n",
        )
        .unwrap();
        assert_eq!(tokens.len(), 3);
        assert_eq!(tokens.find(b"0123456789abcdef").unwrap(), &Principal { name: "token-line-2".into(), tenant: None });
        assert_eq!(tokens.find(b"fedcba9876543210").unwrap().name, "shop-exporter");
        let billing = tokens.find(b"aaaaaaaaaaaaaaaa").unwrap();
        assert_eq!(billing.tenant, Some(Tenant::parse("billing-team").unwrap()));
        assert!(tokens.find(b"0123456789abcdeX").is_none(), "one differing byte");
        assert!(tokens.find(b"0123456789abcde").is_none(), "a prefix");
        assert!(tokens.find(b"").is_none());
    }

    #[test]
    fn a_bad_token_line_names_the_line_and_what_to_do() {
        let error = Tokens::parse("tokens.txt", "0123456789abcdef a\nshort b\n").unwrap_err().to_string();
        assert_eq!(error, "tokens.txt line 2: the token of b has 5 characters; use at least 16 (openssl rand -hex 32)");
        let error = Tokens::parse("t", "0123456789abcdef a t extra\n").unwrap_err().to_string();
        assert!(error.contains("line 1: expected `<token> [name [tenant]]`"), "{error}");
        let error = Tokens::parse("t", "0123456789abcdef a\n0123456789abcdef b\n").unwrap_err().to_string();
        assert!(error.contains("line 2: the token of b is listed twice"), "{error}");
        let error = Tokens::parse("t", "0123456789abcdef a Not/A/Tenant\n").unwrap_err().to_string();
        assert!(error.contains("line 1: tenant \"Not/A/Tenant\""), "{error}");
    }

    #[test]
    fn user_lines_hold_a_bcrypt_hash_and_an_optional_tenant() {
        let users = Users::parse("u", &format!("# people\nalice:{HASH}\nbob:{HASH}:team-b\n")).unwrap();
        assert_eq!(users.0["alice"], User { hash: HASH.into(), tenant: None });
        assert_eq!(users.0["bob"].tenant, Some(Tenant::parse("team-b").unwrap()));
    }

    #[test]
    fn a_user_line_without_a_bcrypt_hash_is_refused_with_the_command_that_makes_one() {
        let error = Users::parse("u", "alice:secret\n").unwrap_err().to_string();
        assert_eq!(
            error,
            "u line 1: the password of alice is not a bcrypt hash ($2y$..., 60 characters); make one with `htpasswd -nbB alice <password>`"
        );
        assert!(Users::parse("u", "alice\n").unwrap_err().to_string().contains("expected `user:<bcrypt hash>"));
        assert!(Users::parse("u", &format!("a:{HASH}\na:{HASH}\n")).unwrap_err().to_string().contains("listed twice"));
    }
}
