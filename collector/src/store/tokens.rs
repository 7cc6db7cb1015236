//! Tokens and dashboard sessions: only hashes of secrets are stored; enrollment trades an
//! enrollment token for a node-bound agent token in one transaction.

use super::{Store, StoreError, lock_key};
use crate::db::{DbError, Dialect, Row, Value};
use crate::values;

/// What an enrollment gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enrolled {
    /// A new node token, with this id.
    Token { id: i64 },
    /// The node has a live node token (this one): an admin revokes it to enroll it again.
    AlreadyEnrolled { token_id: i64 },
    /// The enrollment token has no use left.
    UsedUp,
}

impl Store {
    /// Stores a token hash with its role, scope and expiry; returns its id.
    pub fn add_token(&self, hash: &str, spec: &TokenSpec, now: i64) -> Result<i64, StoreError> {
        Ok(self
            .lock()?
            .query_one(
                "INSERT INTO tokens (hash, role, name, scope_cluster, scope_nodes, created_at, expires_at, max_nodes, uses_left)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) RETURNING id",
                &values![
                    hash,
                    &spec.role,
                    &spec.name,
                    &spec.scope_cluster,
                    &spec.scope_nodes,
                    now,
                    spec.expires_at,
                    spec.max_nodes,
                    spec.uses
                ],
            )?
            .get(0)?)
    }

    /// The token with this hash, live or not.
    pub fn find_token(&self, hash: &str) -> Result<Option<TokenRow>, StoreError> {
        self.token_where("hash = ?1", Value::from(hash))
    }

    /// The token with this id, live or not.
    pub fn token_by_id(&self, id: i64) -> Result<Option<TokenRow>, StoreError> {
        self.token_where("id = ?1", Value::from(id))
    }

    fn token_where(
        &self,
        condition: &str,
        value: Value<'_>,
    ) -> Result<Option<TokenRow>, StoreError> {
        let row = self.read()?.query_opt(
            &format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE {condition}"),
            &[value],
        )?;
        Ok(row.as_ref().map(TokenRow::from_row).transpose()?)
    }

    /// Every token (without hashes).
    pub fn tokens(&self) -> Result<Vec<TokenRow>, StoreError> {
        let rows = self.read()?.query(
            &format!("SELECT {TOKEN_COLUMNS} FROM tokens ORDER BY id"),
            &[],
        )?;
        Ok(rows
            .iter()
            .map(TokenRow::from_row)
            .collect::<Result<_, _>>()?)
    }

    /// Revokes a token; false when there is no such live token.
    pub fn revoke_token(&self, id: i64, now: i64) -> Result<bool, StoreError> {
        Ok(self.lock()?.execute(
            "UPDATE tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
            &values![id, now],
        )? == 1)
    }

    /// Trades one use of the enrollment token `enroller` for a token bound to `cluster/node`
    /// (stored by its `hash`), in one transaction: a node that has a live node token already
    /// is not enrolled again, and an enrollment token with no use left enrolls nothing.
    pub fn enroll(
        &self,
        enroller: i64,
        cluster: &str,
        node: &str,
        hash: &str,
        now: i64,
    ) -> Result<Enrolled, StoreError> {
        self.lock()?.transaction(|tx| {
            if tx.dialect() == Dialect::Postgres {
                tx.execute(
                    "SELECT pg_advisory_xact_lock(?1)",
                    &values![lock_key(&format!("enroll/{cluster}/{node}"))],
                )?;
            }
            if let Some(row) = tx.query_opt(
                "SELECT id FROM tokens WHERE scope_cluster = ?1 AND enrolled_node = ?2 AND revoked_at IS NULL",
                &values![cluster, node],
            )? {
                return Ok(Enrolled::AlreadyEnrolled {
                    token_id: row.get(0)?,
                });
            }
            let used = tx.execute(
                "UPDATE tokens SET uses_left = uses_left - 1 WHERE id = ?1 AND uses_left > 0",
                &values![enroller],
            )?;
            let unlimited = tx
                .query_opt(
                    "SELECT 1 FROM tokens WHERE id = ?1 AND uses_left IS NULL",
                    &values![enroller],
                )?
                .is_some();
            if used == 0 && !unlimited {
                return Ok(Enrolled::UsedUp);
            }
            let id: i64 = tx
                .query_one(
                    "INSERT INTO tokens (hash, role, name, scope_cluster, scope_nodes, created_at, max_nodes, enrolled_node)
                     VALUES (?1, 'agent', ?2, ?3, ?4, ?5, 1, ?4) RETURNING id",
                    &values![
                        hash,
                        format!("node {node} (enrolled with token {enroller})"),
                        cluster,
                        node,
                        now
                    ],
                )?
                .get(0)?;
            Ok::<_, StoreError>(Enrolled::Token { id })
        })
    }

    /// Whether any token exists (an empty installation has none).
    pub fn has_tokens(&self) -> Result<bool, StoreError> {
        Ok(self
            .read()?
            .query_one("SELECT EXISTS (SELECT 1 FROM tokens)", &[])?
            .get(0)?)
    }

    /// Records a dashboard session (by the hash of its id) for a token until `expires_at`,
    /// and forgets sessions that have expired.
    pub fn add_session(
        &self,
        hash: &str,
        token_id: i64,
        expires_at: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        self.lock()?.transaction(|tx| {
            tx.execute("DELETE FROM sessions WHERE expires_at <= ?1", &values![now])?;
            tx.execute(
                "INSERT INTO sessions (hash, token_id, expires_at) VALUES (?1, ?2, ?3)",
                &values![hash, token_id, expires_at],
            )?;
            Ok::<_, StoreError>(())
        })
    }

    /// Ends a session.
    pub fn delete_session(&self, hash: &str) -> Result<(), StoreError> {
        self.lock()?
            .execute("DELETE FROM sessions WHERE hash = ?1", &values![hash])?;
        Ok(())
    }

    /// The token behind a live session.
    pub fn session_token(&self, hash: &str, now: i64) -> Result<Option<i64>, StoreError> {
        let row = self.read()?.query_opt(
            "SELECT token_id FROM sessions WHERE hash = ?1 AND expires_at > ?2",
            &values![hash, now],
        )?;
        Ok(row.map(|r| r.get(0)).transpose()?)
    }
}

/// A token as stored (never its secret).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct TokenRow {
    pub id: i64,
    pub role: String,
    pub name: String,
    pub scope_cluster: Option<String>,
    pub scope_nodes: Option<String>,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked: bool,
    /// Agent tokens: how many distinct nodes they may create (none: no limit).
    pub max_nodes: Option<i64>,
    /// Enrollment tokens: how many more nodes they may enroll (none: no limit).
    pub uses_left: Option<i64>,
    /// Node tokens: the node they were enrolled for.
    pub enrolled_node: Option<String>,
}

const TOKEN_COLUMNS: &str = "id, role, name, scope_cluster, scope_nodes, created_at, expires_at, revoked_at, max_nodes, uses_left, enrolled_node";

impl TokenRow {
    fn from_row(r: &Row) -> Result<TokenRow, DbError> {
        Ok(TokenRow {
            id: r.get(0)?,
            role: r.get(1)?,
            name: r.get(2)?,
            scope_cluster: r.get(3)?,
            scope_nodes: r.get(4)?,
            created_at: r.get(5)?,
            expires_at: r.get(6)?,
            revoked: r.get::<Option<i64>>(7)?.is_some(),
            max_nodes: r.get(8)?,
            uses_left: r.get(9)?,
            enrolled_node: r.get(10)?,
        })
    }

    /// Whether the token has expired at `now`.
    pub fn expired(&self, now: i64) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }

    /// `live`, `expired` or `revoked`, as listings show it.
    pub fn state(&self, now: i64) -> &'static str {
        if self.revoked {
            "revoked"
        } else if self.expired(now) {
            "expired"
        } else {
            "live"
        }
    }
}

/// What a new token may do, for whom, and until when.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenSpec {
    pub role: String,
    pub name: String,
    /// Agent tokens: the only cluster they may post for.
    pub scope_cluster: Option<String>,
    /// Agent tokens: comma-separated node-name globs they may post for.
    pub scope_nodes: Option<String>,
    /// Unix time after which the token is refused.
    pub expires_at: Option<i64>,
    /// Agent tokens: how many distinct nodes they may create.
    pub max_nodes: Option<i64>,
    /// Enrollment tokens: how many nodes they may enroll.
    pub uses: Option<i64>,
}
