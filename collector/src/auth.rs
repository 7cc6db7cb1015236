//! Bearer tokens: random secrets shown once, stored as SHA-256 hashes, each with a role
//! (`agent` may only post reports, `viewer` reads, `admin` does both and manages tokens) and,
//! for agents, an optional scope (a cluster and node-name globs).

use crate::store::{Store, StoreError, TokenRow};
use sha2::{Digest, Sha256};
use std::io::Read;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Agent,
    Viewer,
    Admin,
}

impl Role {
    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "agent" => Some(Role::Agent),
            "viewer" => Some(Role::Viewer),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Viewer => "viewer",
            Role::Admin => "admin",
        }
    }

    pub fn can_read(self) -> bool {
        matches!(self, Role::Viewer | Role::Admin)
    }

    pub fn can_post(self) -> bool {
        matches!(self, Role::Agent | Role::Admin)
    }
}

/// SHA-256 of a token, hex.
pub fn hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A new random token (`nct_` and 40 hex digits from the OS's random source).
pub fn generate() -> std::io::Result<String> {
    let mut bytes = [0u8; 20];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(format!(
        "nct_{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    ))
}

/// Creates a token and returns its secret (shown once).
pub fn create(
    store: &Store,
    role: Role,
    name: &str,
    scope_cluster: Option<&str>,
    scope_nodes: Option<&str>,
    now: i64,
) -> Result<String, CreateError> {
    let token = generate().map_err(CreateError::Random)?;
    store.add_token(
        &hash(&token),
        role.as_str(),
        name,
        scope_cluster,
        scope_nodes,
        now,
    )?;
    Ok(token)
}

#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("cannot read random bytes: {0}")]
    Random(std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// `*` and `?` glob matching for node-name scopes.
pub fn glob(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni, mut star) = (0usize, 0usize, None::<(usize, usize)>);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ni));
            pi += 1;
        } else if let Some((sp, sn)) = star {
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Whether an agent token may post for this node.
pub fn in_scope(token: &TokenRow, cluster: &str, node: &str) -> bool {
    let cluster_ok = token.scope_cluster.as_deref().is_none_or(|c| c == cluster);
    let node_ok = token
        .scope_nodes
        .as_deref()
        .is_none_or(|globs| globs.split(',').any(|g| glob(g.trim(), node)));
    cluster_ok && node_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_hashed_and_scoped() {
        let a = generate().expect("random");
        let b = generate().expect("random");
        assert_ne!(a, b);
        assert!(a.starts_with("nct_") && a.len() == 44);
        assert_eq!(hash("x").len(), 64);
        assert!(glob("web-*", "web-1") && !glob("web-*", "db-1") && glob("*", ""));
        let token = TokenRow {
            id: 1,
            role: "agent".into(),
            name: "t".into(),
            scope_cluster: Some("prod".into()),
            scope_nodes: Some("web-*, api-?".into()),
            revoked: false,
        };
        assert!(in_scope(&token, "prod", "web-3"));
        assert!(in_scope(&token, "prod", "api-1"));
        assert!(!in_scope(&token, "prod", "db-1"));
        assert!(!in_scope(&token, "staging", "web-3"));
    }
}
