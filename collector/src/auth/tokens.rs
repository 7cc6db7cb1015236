//! Bearer tokens: random secrets shown once, stored as SHA-256 hashes, each with a role
//! (`agent` may only post reports, `viewer` reads, `admin` does both and manages tokens) and,
//! for agents, an optional scope (a cluster and node-name globs).

use crate::store::{Store, StoreError, TokenRow, TokenSpec};
use sha2::{Digest, Sha256};
use std::io::Read;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Agent,
    Viewer,
    Admin,
    /// Traded by an agent, once per node, for an agent token bound to that node.
    Enroll,
}

impl Role {
    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "agent" => Some(Role::Agent),
            "viewer" => Some(Role::Viewer),
            "admin" => Some(Role::Admin),
            "enroll" => Some(Role::Enroll),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Viewer => "viewer",
            Role::Admin => "admin",
            Role::Enroll => "enroll",
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

/// Creates a token after checking what it asks for; returns its id and its secret (shown
/// once, never stored).
pub fn create(store: &Store, spec: &TokenSpec, now: i64) -> Result<(i64, String), CreateError> {
    validate(spec, now).map_err(CreateError::Invalid)?;
    let spec = TokenSpec {
        max_nodes: spec.max_nodes.or_else(|| {
            (Role::parse(&spec.role) == Some(Role::Agent))
                .then(|| default_max_nodes(spec))
                .flatten()
        }),
        ..spec.clone()
    };
    let token = generate().map_err(CreateError::Random)?;
    let id = store.add_token(&hash(&token), &spec, now)?;
    Ok((id, token))
}

/// An agent token scoped to node names without a wildcard may create those nodes and no
/// more; any other token has no limit unless one is given.
fn default_max_nodes(spec: &TokenSpec) -> Option<i64> {
    let globs = spec.scope_nodes.as_deref()?;
    let names: Vec<&str> = globs.split(',').map(str::trim).collect();
    names
        .iter()
        .all(|n| !n.contains(['*', '?']))
        .then(|| i64::try_from(names.len()).unwrap_or(i64::MAX))
}

/// Why a token spec cannot be created, if it cannot.
fn validate(spec: &TokenSpec, now: i64) -> Result<(), String> {
    let role = Role::parse(&spec.role).ok_or_else(|| {
        format!(
            "unknown role {:?}: expected agent, viewer, admin or enroll",
            spec.role
        )
    })?;
    if spec.name.trim().is_empty()
        || spec.name.chars().count() > 100
        || spec.name.chars().any(char::is_control)
    {
        return Err("name must be 1 to 100 characters without control characters".into());
    }
    let scoped = matches!(role, Role::Agent | Role::Enroll);
    if !scoped && (spec.scope_cluster.is_some() || spec.scope_nodes.is_some()) {
        return Err(format!(
            "a {} token cannot be scoped: cluster and node scopes apply to agent and enroll tokens",
            role.as_str()
        ));
    }
    if role == Role::Enroll && spec.scope_cluster.is_none() {
        return Err(
            "an enroll token names the cluster its nodes join (--cluster): the node tokens it gives are bound to it"
                .into(),
        );
    }
    if let Some(uses) = spec.uses {
        if role != Role::Enroll {
            return Err(format!(
                "a {} token enrolls nothing: uses applies to enroll tokens",
                role.as_str()
            ));
        }
        if uses < 1 {
            return Err("uses must be at least 1".into());
        }
    }
    if spec.scope_cluster.as_deref().is_some_and(str::is_empty) {
        return Err("the cluster scope must not be empty".into());
    }
    if let Some(globs) = &spec.scope_nodes
        && globs.split(',').any(|g| g.trim().is_empty())
    {
        return Err(format!(
            "node globs {globs:?} contain an empty pattern (comma-separated, e.g. \"web-*,db-?\")"
        ));
    }
    if let Some(max) = spec.max_nodes {
        if role != Role::Agent {
            return Err(format!(
                "a {} token creates no nodes: max_nodes applies to agent tokens",
                role.as_str()
            ));
        }
        if max < 1 {
            return Err("max_nodes must be at least 1".into());
        }
    }
    if spec.expires_at.is_some_and(|at| at <= now) {
        return Err("the expiry must be in the future".into());
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("{0}")]
    Invalid(String),
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
            created_at: 0,
            expires_at: None,
            revoked: false,
            ..TokenRow::default()
        };
        assert!(in_scope(&token, "prod", "web-3"));
        assert!(in_scope(&token, "prod", "api-1"));
        assert!(!in_scope(&token, "prod", "db-1"));
        assert!(!in_scope(&token, "staging", "web-3"));
    }

    #[test]
    fn token_specs_are_checked_before_anything_is_stored() {
        let store = Store::in_memory().expect("store");
        let spec = |role: &str| TokenSpec {
            role: role.into(),
            name: "ci".into(),
            ..TokenSpec::default()
        };
        for (bad, message) in [
            (spec("root"), "unknown role \"root\""),
            (
                TokenSpec {
                    name: " ".into(),
                    ..spec("agent")
                },
                "name must be",
            ),
            (
                TokenSpec {
                    scope_cluster: Some("prod".into()),
                    ..spec("viewer")
                },
                "cannot be scoped",
            ),
            (
                TokenSpec {
                    scope_nodes: Some("web-*,".into()),
                    ..spec("agent")
                },
                "empty pattern",
            ),
            (
                TokenSpec {
                    expires_at: Some(100),
                    ..spec("agent")
                },
                "in the future",
            ),
        ] {
            let error = create(&store, &bad, 100).expect_err("refused").to_string();
            assert!(error.contains(message), "{message} in {error}");
        }
        assert!(!store.has_tokens().expect("tokens"), "nothing stored");
        let (id, secret) = create(
            &store,
            &TokenSpec {
                expires_at: Some(200),
                ..spec("agent")
            },
            100,
        )
        .expect("created");
        let row = store
            .find_token(&hash(&secret))
            .expect("find")
            .expect("row");
        assert_eq!((row.id, row.expires_at), (id, Some(200)));
        assert!(!row.expired(199) && row.expired(200));
    }
}
