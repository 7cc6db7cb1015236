//! Durable storage of reports, per-node state and fleet aggregates.
//!
//! One code path over two databases ([`crate::db`]): an embedded SQLite file (the default,
//! nothing to install) and PostgreSQL, which several collector replicas can share when one
//! machine is not enough.
//!
//! A report is acknowledged only after its transaction is on disk: SQLite runs in WAL mode with
//! `synchronous=FULL`, PostgreSQL commits synchronously (its default). Ingest keeps, in the same
//! transaction, the node's latest state, the latest status of each of its checks, its score
//! history, and the fleet aggregates (failing nodes per check, the score distribution, the daily
//! fleet trend), so that reads never scan every node.
//!
//! Replicas on PostgreSQL write concurrently, so a batch first takes a transaction-scoped
//! advisory lock on each of its nodes, in key order (two replicas never interleave one node's
//! read-modify-write of its previous statuses), and adds its aggregate changes last, in one
//! fixed order of tables and keys (two batches never wait on each other's rows in a cycle).
//! Migrations are versioned per dialect and run at open under a lock, so replicas starting
//! together migrate once.
//!
//! By concern: [`schema`] (migrations), [`ingest`] (the writes of a report batch), [`fleet`]
//! (the queries behind the API and the dashboard), [`changes`] (what changed between a node's
//! reports, found at ingest) and [`drift`] (where a node differs from its peers, counted at
//! ingest), [`tokens`] (tokens and sessions) and [`retention`] (pruning). This module holds the store itself: opening, connections, locks.

mod changes;
mod deliveries;
mod drift;
mod fleet;
mod ingest;
mod retention;
mod schema;
mod tokens;

pub use changes::{ChangeFilter, ChangeRow, Direction, kind as change_kind};
pub use deliveries::{CLAIM_MAX, DELIVERY_STATES, DeliveryRow};
pub use drift::{ABSENT, DriftFilter, DriftRow, DriftValue};
pub use fleet::{CheckRow, FailingNode, NodeCursor, NodeFilter, NodeRow, NodeSort, ScoreHistory};
pub use ingest::{Creator, Incoming, Ingested};
pub use tokens::{Enrolled, TokenRow, TokenSpec};

use crate::db::{Connection, DbError};
use crate::values;
use std::path::Path;
use std::sync::Mutex;

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Said once: the database error is in the message, not a `source`.
    #[error("database: {0}")]
    Database(DbError),
    #[error("stored report is not readable: {0}")]
    Corrupt(String),
    #[error("database lock poisoned")]
    Poisoned,
    /// The report cannot be stored as it is (a NUL in text, a check reported twice); the
    /// message names the field.
    #[error("{0}")]
    Invalid(String),
    #[error("invalid PostgreSQL address: {0}")]
    Address(String),
    #[error(
        "the database is at schema version {found}, newer than this collector knows ({known}); \
         run a collector at least as new as the one that last migrated it"
    )]
    SchemaTooNew { found: i64, known: i64 },
}

impl From<DbError> for StoreError {
    fn from(e: DbError) -> Self {
        StoreError::Database(e)
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Database(e.into())
    }
}

impl StoreError {
    fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Database(e) if e.is_retryable())
    }
}

/// Advisory-lock keys (PostgreSQL): one per node, and these.
const MIGRATION_LOCK: &str = "nodecheck-collector:migrations";

/// Held shared by every ingest batch and exclusively while prune deletes bodies no report
/// uses, so a body an uncommitted report is about to share is never deleted under it.
const BODIES_LOCK: &str = "nodecheck-collector:bodies";

/// Held by the one replica pruning; the others skip their turn.
const PRUNE_LOCK: &str = "nodecheck-collector:prune";

/// A 64-bit advisory-lock key for `name`.
fn lock_key(name: &str) -> i64 {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(name.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(first)
}

/// The rows of `sql` (whose first two columns are a node's cluster and name), read under
/// those nodes' locks on PostgreSQL: the locks are taken in key order, as ingest takes them,
/// and the rows read again, so a node that reported on another replica meanwhile is left out.
fn stale_rows_locked(
    tx: &mut Connection,
    sql: &str,
    params: &[crate::db::Value<'_>],
) -> Result<Vec<crate::db::Row>, StoreError> {
    let rows = tx.query(sql, params)?;
    if tx.dialect() != crate::db::Dialect::Postgres || rows.is_empty() {
        return Ok(rows);
    }
    let key_of = |row: &crate::db::Row| -> Result<i64, DbError> {
        let (cluster, name): (String, String) = (row.get(0)?, row.get(1)?);
        Ok(lock_key(&format!("node/{cluster}/{name}")))
    };
    let mut keys: Vec<i64> = rows.iter().map(key_of).collect::<Result<_, _>>()?;
    keys.sort_unstable();
    keys.dedup();
    for key in &keys {
        tx.execute("SELECT pg_advisory_xact_lock(?1)", &values![*key])?;
    }
    // Read again, and keep only the nodes locked: with a limit, nodes that reported meanwhile
    // leave room for others that were not locked.
    let mut again = Vec::new();
    for row in tx.query(sql, params)? {
        if keys.binary_search(&key_of(&row)?).is_ok() {
            again.push(row);
        }
    }
    Ok(again)
}

/// The store.
#[derive(Debug)]
pub struct Store {
    /// The one connection that writes.
    writer: Mutex<Connection>,
    /// A second connection for reads: SQLite in WAL mode reads the last commit while a batch
    /// is being written, so pages, the API and token checks never wait for ingest; PostgreSQL
    /// does the same by its nature. In memory there is only the writer.
    reader: Option<Mutex<Connection>>,
    /// Check metadata as this process last wrote it, so that the ingest path writes a check's
    /// row only when a report describes it differently (a new check, a new agent version).
    /// Emptied when a batch fails, since its writes were rolled back.
    known_checks: Mutex<KnownChecks>,
    /// The receivers told of regressions ([`crate::webhooks`]); deliveries are enqueued at
    /// ingest only when there are some.
    webhooks: std::sync::Arc<[crate::webhooks::Webhook]>,
}

/// What this process last wrote about checks, so that what did not change is not written again.
#[derive(Debug, Default)]
struct KnownChecks {
    /// Check id → the catalogue's (title, area, severity, remediation, rationale) as stored.
    described: std::collections::HashMap<String, [String; 5]>,
    /// Check id → the digest of the description shown for a check the catalogue does not
    /// know. Kept only where this process is the one writer (SQLite): replicas on PostgreSQL
    /// change it behind each other's backs.
    shown: std::collections::HashMap<String, Vec<u8>>,
}

impl KnownChecks {
    fn clear(&mut self) {
        self.described.clear();
        self.shown.clear();
    }

    fn forget(&mut self, id: &str) {
        self.described.remove(id);
        self.shown.remove(id);
    }
}

/// The fleet check judged from the cluster's Node objects, not from reports.
pub const KUBERNETES_VERSION_CHECK: &str = "node.kubernetes-version";

/// Checks the collector judges itself: no node may report a finding for one.
pub const COLLECTOR_CHECKS: &[&str] = &[KUBERNETES_VERSION_CHECK];

/// A node is stale after three intervals without a report (one hour when it declares none).
pub const STALE_INTERVALS: i64 = 3;

pub const DEFAULT_INTERVAL_S: i64 = 3600;

/// [`is_stale`] in SQL, with `?now` for the current time.
pub const STALE_SQL: &str = "?now - last_seen > 3 * COALESCE(interval_s, 3600)";

fn is_stale(last_seen: i64, interval_s: Option<i64>, now: i64) -> bool {
    now - last_seen > STALE_INTERVALS * interval_s.unwrap_or(DEFAULT_INTERVAL_S)
}

fn day_of(unix: i64) -> i64 {
    unix.div_euclid(86_400)
}

/// Whether `target` names a PostgreSQL database rather than a SQLite file.
pub fn is_postgres_url(target: &str) -> bool {
    target.starts_with("postgres://") || target.starts_with("postgresql://")
}

/// Transactions PostgreSQL aborted as deadlock victims or unserializable are run again this
/// many times before the error is returned.
const RETRIES: usize = 3;

impl Store {
    /// Opens (creating and migrating) the SQLite database at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let connection = rusqlite::Connection::open(path)?;
        let mut store = Store::init(Store::sqlite_writer(connection)?)?;
        // Opened after the migrations, so it never sees a half-made schema.
        let reader = rusqlite::Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        reader.busy_timeout(std::time::Duration::from_secs(5))?;
        reader.pragma_update(None, "cache_size", -65_536)?;
        reader.set_prepared_statement_cache_capacity(64);
        store.reader = Some(Mutex::new(Connection::sqlite(reader)));
        Ok(store)
    }

    /// An in-memory SQLite store, for tests.
    pub fn in_memory() -> Result<Store, StoreError> {
        Store::init(Store::sqlite_writer(
            rusqlite::Connection::open_in_memory()?
        )?)
    }

    /// Connects to PostgreSQL at `url` (`postgres://user:password@host:port/database`, or
    /// the key=value form libpq takes), migrating its schema. Several collectors may share
    /// one database.
    pub fn connect(url: &str) -> Result<Store, StoreError> {
        // The driver's parse error never repeats the address, which may hold a password.
        let config: postgres::Config = url
            .parse()
            .map_err(|e: postgres::Error| StoreError::Address(e.to_string()))?;
        let mut store = Store::init(Connection::postgres(config.clone())?)?;
        store.reader = Some(Mutex::new(Connection::postgres(config)?));
        Ok(store)
    }

    fn sqlite_writer(connection: rusqlite::Connection) -> Result<Connection, StoreError> {
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "synchronous", "FULL")?;
        connection.pragma_update(None, "foreign_keys", "ON")?;
        // 64 MiB of page cache: the per-node check rows of a large fleet stay in memory
        // instead of being read back through the kernel on every ingest.
        connection.pragma_update(None, "cache_size", -65_536)?;
        connection.set_prepared_statement_cache_capacity(64);
        connection.busy_timeout(std::time::Duration::from_secs(5))?;
        Ok(Connection::sqlite(connection))
    }

    fn init(mut connection: Connection) -> Result<Store, StoreError> {
        schema::migrate(&mut connection)?;
        Ok(Store {
            writer: Mutex::new(connection),
            reader: None,
            known_checks: Mutex::new(KnownChecks::default()),
            webhooks: std::sync::Arc::from(Vec::new()),
        })
    }

    /// The writer.
    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Connection>, StoreError> {
        self.writer.lock().map_err(|_| StoreError::Poisoned)
    }

    /// The reader, or the writer where there is no reader.
    fn read(&self) -> Result<std::sync::MutexGuard<'_, Connection>, StoreError> {
        match &self.reader {
            Some(reader) => reader.lock().map_err(|_| StoreError::Poisoned),
            None => self.lock(),
        }
    }

    /// The webhooks told of regressions found from now on.
    pub fn set_webhooks(&mut self, webhooks: Vec<crate::webhooks::Webhook>) {
        self.webhooks = webhooks.into();
    }

    /// The configured webhooks.
    pub fn webhooks(&self) -> &[crate::webhooks::Webhook] {
        &self.webhooks
    }

    /// Whether the database answers (for /readyz).
    pub fn ping(&self) -> Result<(), StoreError> {
        self.read()?.query_one("SELECT 1", &[])?;
        Ok(())
    }
}
