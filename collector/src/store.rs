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

use crate::db::{Connection, DbError, Dialect, Row, Value};
use crate::values;
use nodecheck_report::{Report, Severity, Status};
use std::collections::BTreeMap;
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

/// SQLite migrations, in order (`collector/migrations/sqlite/NNNN_*.sql`); `schema_version`
/// records how many have run. The two dialects end in the same tables and columns, which the
/// storage suite checks.
const SQLITE_MIGRATIONS: &[&str] = &[
    include_str!("../migrations/sqlite/0001_initial.sql"),
    include_str!("../migrations/sqlite/0002_report_bodies.sql"),
    include_str!("../migrations/sqlite/0003_counts.sql"),
    include_str!("../migrations/sqlite/0004_token_expiry.sql"),
    include_str!("../migrations/sqlite/0005_rationale_and_evidence.sql"),
    include_str!("../migrations/sqlite/0006_sessions.sql"),
    include_str!("../migrations/sqlite/0007_failing_index.sql"),
    include_str!("../migrations/sqlite/0008_failing_by_severity.sql"),
    include_str!("../migrations/sqlite/0009_kube_nodes.sql"),
    include_str!("../migrations/sqlite/0010_report_ids_per_node.sql"),
    include_str!("../migrations/sqlite/0011_token_node_limits.sql"),
    include_str!("../migrations/sqlite/0012_enrollment.sql"),
    include_str!("../migrations/sqlite/0013_check_reporters.sql"),
    include_str!("../migrations/sqlite/0014_check_descriptions.sql"),
];

/// PostgreSQL migrations, in order. The first is the schema SQLite reached in its six; keys are
/// compared bytewise (`COLLATE "C"`) as SQLite does, so both list nodes in the same order and a
/// cursor means the same place in either.
const POSTGRES_MIGRATIONS: &[&str] = &[
    include_str!("../migrations/postgres/0001_initial.sql"),
    include_str!("../migrations/postgres/0002_failing_index.sql"),
    include_str!("../migrations/postgres/0003_failing_by_severity.sql"),
    include_str!("../migrations/postgres/0004_kube_nodes.sql"),
    include_str!("../migrations/postgres/0005_report_ids_per_node.sql"),
    include_str!("../migrations/postgres/0006_token_node_limits.sql"),
    include_str!("../migrations/postgres/0007_enrollment.sql"),
    include_str!("../migrations/postgres/0008_check_reporters.sql"),
    include_str!("../migrations/postgres/0009_check_descriptions.sql"),
];

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

/// Full reports deleted per prune transaction, so the writer is never held for long.
const PRUNE_CHUNK: i64 = 5_000;

/// The outcome of an ingest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ingested {
    Stored,
    /// The report id was already stored: nothing changed.
    Duplicate,
    /// The report is of a node new to the fleet, and its token created as many nodes as it
    /// may (`max`): nothing stored.
    NodeLimit {
        max: i64,
    },
}

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

/// The token a report came with, when it limits the nodes it may create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Creator {
    pub token_id: i64,
    pub max_nodes: i64,
}

/// A node as listed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NodeRow {
    pub cluster: String,
    pub name: String,
    pub roles: Vec<String>,
    pub score: Option<i64>,
    pub failing: i64,
    /// Failing checks of critical severity, waivers excluded.
    pub failing_critical: i64,
    /// Failing checks of high severity, waivers excluded.
    pub failing_high: i64,
    pub first_seen: i64,
    pub last_seen: i64,
    pub agent_version: String,
    pub interval_s: Option<i64>,
    pub stale: bool,
}

const NODE_COLUMNS: &str = "cluster, name, roles, score, failing, first_seen, last_seen, agent_version, interval_s, failing_critical, failing_high";

impl NodeRow {
    /// A row of `SELECT {NODE_COLUMNS}`, judged stale or not at `now`.
    fn from_row(r: &Row, now: i64) -> Result<NodeRow, DbError> {
        let roles: String = r.get(2)?;
        let last_seen: i64 = r.get(6)?;
        let interval_s: Option<i64> = r.get(8)?;
        Ok(NodeRow {
            cluster: r.get(0)?,
            name: r.get(1)?,
            roles: roles
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            score: r.get(3)?,
            failing: r.get(4)?,
            failing_critical: r.get(9)?,
            failing_high: r.get(10)?,
            first_seen: r.get(5)?,
            last_seen,
            agent_version: r.get(7)?,
            interval_s,
            stale: is_stale(last_seen, interval_s, now),
        })
    }
}

/// A check as listed, with how many nodes fail it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CheckRow {
    pub id: String,
    pub title: String,
    pub area: String,
    pub severity: String,
    pub failing_nodes: i64,
    pub remediation: String,
    /// Empty when no agent sent one.
    pub rationale: String,
}

const CHECK_COLUMNS: &str = "id, title, area, severity, failing_nodes, remediation, rationale";

impl CheckRow {
    fn from_row(r: &Row) -> Result<CheckRow, DbError> {
        Ok(CheckRow {
            id: r.get(0)?,
            title: r.get(1)?,
            area: r.get(2)?,
            severity: r.get(3)?,
            failing_nodes: r.get(4)?,
            remediation: r.get(5)?,
            rationale: r.get(6)?,
        })
    }
}

/// Filters of the node list.
#[derive(Debug, Clone, Default)]
pub struct NodeFilter {
    pub cluster: Option<String>,
    pub role: Option<String>,
    pub stale: Option<bool>,
    pub min_score: Option<i64>,
    pub max_score: Option<i64>,
    pub sort: NodeSort,
    /// Continue after this node, in the order of `sort`.
    pub after: Option<NodeCursor>,
    pub limit: usize,
}

/// The orders the node list can be read in; every one ends in (cluster, name), so that a
/// cursor names one place in it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum NodeSort {
    /// By cluster, then name.
    #[default]
    Name,
    /// Lowest score first; unscored nodes last.
    Score,
    /// Highest score first; unscored nodes last.
    ScoreDescending,
    /// Longest unheard-from first.
    LastSeen,
}

impl NodeSort {
    pub const NAMES: &str = "name, score, -score, last_seen";

    pub fn parse(text: &str) -> Option<NodeSort> {
        match text {
            "name" => Some(NodeSort::Name),
            "score" => Some(NodeSort::Score),
            "-score" => Some(NodeSort::ScoreDescending),
            "last_seen" => Some(NodeSort::LastSeen),
            _ => None,
        }
    }

    /// The sort key expression, and whether it runs descending.
    fn key(self) -> Option<(&'static str, bool)> {
        match self {
            NodeSort::Name => None,
            NodeSort::Score => Some(("COALESCE(score, 101)", false)),
            NodeSort::ScoreDescending => Some(("COALESCE(score, -1)", true)),
            NodeSort::LastSeen => Some(("last_seen", false)),
        }
    }

    /// This row's key, as a cursor carries it.
    pub fn key_of(self, row: &NodeRow) -> Option<i64> {
        match self {
            NodeSort::Name => None,
            NodeSort::Score => Some(row.score.unwrap_or(101)),
            NodeSort::ScoreDescending => Some(row.score.unwrap_or(-1)),
            NodeSort::LastSeen => Some(row.last_seen),
        }
    }
}

/// A place in the node list: the last node of the previous page and its sort key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeCursor {
    pub key: Option<i64>,
    pub cluster: String,
    pub name: String,
}

impl NodeCursor {
    /// `cluster/name`, or `key/cluster/name` when the sort has a key (node and cluster names
    /// never contain '/').
    pub fn encode(&self) -> String {
        match self.key {
            Some(key) => format!("{key}/{}/{}", self.cluster, self.name),
            None => format!("{}/{}", self.cluster, self.name),
        }
    }

    pub fn decode(text: &str, sort: NodeSort) -> Option<NodeCursor> {
        let (key, rest) = match sort.key() {
            Some(_) => {
                let (key, rest) = text.split_once('/')?;
                (Some(key.parse().ok()?), rest)
            }
            None => (None, text),
        };
        let (cluster, name) = rest.split_once('/')?;
        Some(NodeCursor {
            key,
            cluster: cluster.into(),
            name: name.into(),
        })
    }
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
}

/// Check id → (title, area, severity, remediation, rationale) as stored.
type KnownChecks = std::collections::HashMap<String, [String; 5]>;

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
        migrate(&mut connection)?;
        Ok(Store {
            writer: Mutex::new(connection),
            reader: None,
            known_checks: Mutex::new(KnownChecks::new()),
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

    /// Stores a report durably and updates the node and the aggregates; idempotent by id.
    pub fn ingest(&self, report: Report, now: i64) -> Result<Ingested, StoreError> {
        let mut outcomes = self.ingest_batch(&[Incoming::new(report)?], now)?;
        Ok(outcomes.pop().unwrap_or(Ingested::Duplicate))
    }

    /// Stores several reports in one transaction (one disk flush for all of them).
    pub fn ingest_batch(
        &self,
        reports: &[Incoming],
        now: i64,
    ) -> Result<Vec<Ingested>, StoreError> {
        let mut connection = self.lock()?;
        let mut known = self.known_checks.lock().map_err(|_| StoreError::Poisoned)?;
        let mut attempt = 0;
        loop {
            let result = connection.transaction(|tx| write_batch(tx, reports, now, &mut known));
            match result {
                Ok(outcomes) => return Ok(outcomes),
                Err(e) => {
                    known.clear();
                    if attempt < RETRIES && e.is_retryable() {
                        attempt += 1;
                        tracing::warn!("ingest batch retried ({attempt}/{RETRIES}): {e}");
                        continue;
                    }
                    return Err(e);
                }
            }
        }
    }

    /// Fleet summary: node counts, mean score, stale nodes, distribution and trend.
    pub fn summary(&self, now: i64) -> Result<serde_json::Value, StoreError> {
        let mut connection = self.read()?;
        let row = connection.query_one(
            "SELECT COUNT(*), CAST(AVG(score) AS DOUBLE PRECISION) FROM nodes",
            &[],
        )?;
        let (nodes, mean): (i64, Option<f64>) = (row.get(0)?, row.get(1)?);
        let stale: i64 = connection
            .query_one(
                &format!(
                    "SELECT COUNT(*) FROM nodes WHERE {}",
                    STALE_SQL.replace("?now", "?1")
                ),
                &values![now],
            )?
            .get(0)?;
        let mut distribution = vec![0i64; 10];
        let mut unscored = 0;
        for row in connection.query("SELECT bucket, nodes FROM score_buckets", &[])? {
            let (bucket, count): (i64, i64) = (row.get(0)?, row.get(1)?);
            match usize::try_from(bucket) {
                Ok(b) if b < 10 => distribution[b] = count,
                _ => unscored = count,
            }
        }
        let mut trend = Vec::new();
        for row in connection.query(
            "SELECT day, score_sum, reports FROM fleet_daily ORDER BY day DESC LIMIT 30",
            &[],
        )? {
            let (day, sum, reports): (i64, i64, i64) = (row.get(0)?, row.get(1)?, row.get(2)?);
            trend.push(serde_json::json!({ "day": day * 86_400, "mean_score": sum as f64 / reports.max(1) as f64, "reports": reports }));
        }
        trend.reverse();
        Ok(serde_json::json!({
            "nodes": nodes,
            "fleet_score": mean.map(|m| m.floor() as i64),
            "stale_nodes": stale,
            "score_distribution": distribution,
            "unscored_nodes": unscored,
            "trend": trend,
        }))
    }

    /// Nodes, filtered, in the order of `filter.sort`, from `filter.after` on.
    pub fn nodes(&self, filter: &NodeFilter, now: i64) -> Result<Vec<NodeRow>, StoreError> {
        let mut sql = format!("SELECT {NODE_COLUMNS} FROM nodes WHERE 1 = 1");
        let mut values: Vec<Value<'static>> = Vec::new();
        let mut push = |clause: &str, value: Value<'static>, sql: &mut String| {
            values.push(value);
            sql.push_str(&clause.replace('?', &format!("?{}", values.len())));
        };
        if let Some(c) = &filter.cluster {
            push(" AND cluster = ?", c.clone().into(), &mut sql);
        }
        if let Some(r) = &filter.role {
            push(
                " AND (',' || roles || ',') LIKE ?",
                format!("%,{r},%").into(),
                &mut sql,
            );
        }
        if let Some(min) = filter.min_score {
            push(" AND score >= ?", min.into(), &mut sql);
        }
        if let Some(max) = filter.max_score {
            push(" AND score <= ?", max.into(), &mut sql);
        }
        if let Some(stale) = filter.stale {
            values.push(now.into());
            values.push(stale.into());
            sql.push_str(
                &format!(" AND ({STALE_SQL}) = ?{}", values.len())
                    .replace("?now", &format!("?{}", values.len() - 1)),
            );
        }
        let key = filter.sort.key();
        if let Some(after) = &filter.after {
            values.push(after.cluster.clone().into());
            values.push(after.name.clone().into());
            let (c, n) = (values.len() - 1, values.len());
            match (key, after.key) {
                (Some((expression, descending)), Some(k)) => {
                    values.push(k.into());
                    let k = values.len();
                    let beyond = if descending { "<" } else { ">" };
                    sql.push_str(&format!(
                        " AND ({expression} {beyond} ?{k} OR ({expression} = ?{k} AND (cluster, name) > (?{c}, ?{n})))"
                    ));
                }
                _ => sql.push_str(&format!(" AND (cluster, name) > (?{c}, ?{n})")),
            }
        }
        match key {
            Some((expression, descending)) => sql.push_str(&format!(
                " ORDER BY {expression} {}, cluster, name",
                if descending { "DESC" } else { "ASC" }
            )),
            None => sql.push_str(" ORDER BY cluster, name"),
        }
        values.push(i64::try_from(filter.limit).unwrap_or(i64::MAX).into());
        sql.push_str(&format!(" LIMIT ?{}", values.len()));
        let rows = self.read()?.query(&sql, &values)?;
        Ok(rows
            .iter()
            .map(|r| NodeRow::from_row(r, now))
            .collect::<Result<_, _>>()?)
    }

    /// The lowest-scored nodes.
    pub fn worst_nodes(&self, limit: usize, now: i64) -> Result<Vec<NodeRow>, StoreError> {
        self.select_nodes(
            "WHERE score IS NOT NULL ORDER BY score ASC, cluster, name LIMIT ?1",
            limit,
            now,
        )
    }

    /// Nodes not heard from for three report intervals, oldest first.
    pub fn stale_nodes(&self, limit: usize, now: i64) -> Result<Vec<NodeRow>, StoreError> {
        // `now` is a number the collector made, not input, so it can stand in the statement.
        let stale = STALE_SQL.replace("?now", &now.to_string());
        self.select_nodes(
            &format!("WHERE {stale} ORDER BY last_seen ASC, cluster, name LIMIT ?1"),
            limit,
            now,
        )
    }

    fn select_nodes(&self, tail: &str, limit: usize, now: i64) -> Result<Vec<NodeRow>, StoreError> {
        let sql = format!("SELECT {NODE_COLUMNS} FROM nodes {tail}");
        let rows = self
            .read()?
            .query(&sql, &values![i64::try_from(limit).unwrap_or(i64::MAX)])?;
        Ok(rows
            .iter()
            .map(|r| NodeRow::from_row(r, now))
            .collect::<Result<_, _>>()?)
    }

    /// A node's latest report and score history.
    pub fn node(
        &self,
        cluster: &str,
        name: &str,
    ) -> Result<Option<(Report, ScoreHistory)>, StoreError> {
        let mut connection = self.read()?;
        let Some(row) = connection.query_opt(
            "SELECT r.id, r.body, b.body, r.started_at, r.duration_ms FROM nodes n
             JOIN reports r ON r.cluster = n.cluster AND r.node = n.name AND r.id = n.last_report
             LEFT JOIN report_bodies b ON b.hash = r.body_hash
             WHERE n.cluster = ?1 AND n.name = ?2",
            &values![cluster, name],
        )?
        else {
            return Ok(None);
        };
        let stored = StoredReport {
            id: row.get(0)?,
            inline_body: row.get(1)?,
            shared_body: row.get(2)?,
            started_at: row.get(3)?,
            duration_ms: row.get(4)?,
        };
        let report = stored.into_report()?;
        let mut history: ScoreHistory = connection
            .query(
                "SELECT at, score FROM score_history WHERE cluster = ?1 AND name = ?2 ORDER BY at DESC LIMIT 500",
                &values![cluster, name],
            )?
            .iter()
            .map(|r| Ok((r.get(0)?, r.get(1)?)))
            .collect::<Result<_, DbError>>()?;
        history.reverse();
        Ok(Some((report, history)))
    }

    /// Every check seen, most failed first.
    pub fn checks(&self) -> Result<Vec<CheckRow>, StoreError> {
        let rows = self.read()?.query(
            &format!("SELECT {CHECK_COLUMNS} FROM checks ORDER BY failing_nodes DESC, id"),
            &[],
        )?;
        Ok(rows
            .iter()
            .map(CheckRow::from_row)
            .collect::<Result<_, _>>()?)
    }

    /// One check and the nodes failing it, with their messages and evidence.
    pub fn check(
        &self,
        id: &str,
        limit: usize,
    ) -> Result<Option<(CheckRow, Vec<FailingNode>)>, StoreError> {
        let mut connection = self.read()?;
        let Some(row) = connection.query_opt(
            &format!("SELECT {CHECK_COLUMNS} FROM checks WHERE id = ?1"),
            &values![id],
        )?
        else {
            return Ok(None);
        };
        let row = CheckRow::from_row(&row)?;
        let failing = connection
            .query(
                "SELECT cluster, name, message, evidence FROM node_checks WHERE check_id = ?1 AND status = 'fail' ORDER BY cluster, name LIMIT ?2",
                &values![id, i64::try_from(limit).unwrap_or(i64::MAX)],
            )?
            .iter()
            .map(|r| {
                let evidence: String = r.get(3)?;
                Ok(FailingNode {
                    cluster: r.get(0)?,
                    name: r.get(1)?,
                    message: r.get(2)?,
                    // Rows from before evidence was kept have none.
                    evidence: serde_json::from_str(&evidence).unwrap_or_default(),
                })
            })
            .collect::<Result<_, DbError>>()?;
        Ok(Some((row, failing)))
    }

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

    /// Deletes full reports received before `before` (node state, history and each node's
    /// latest report stay), a chunk per transaction so ingest is never held up for long,
    /// then the bodies no report uses any more. Returns how many reports were deleted.
    pub fn prune(&self, before: i64) -> Result<usize, StoreError> {
        let mut total = 0;
        loop {
            let pruned = self.lock()?.transaction(|tx| {
                if tx.dialect() == Dialect::Postgres {
                    let ours: bool = tx
                        .query_one(
                            "SELECT pg_try_advisory_xact_lock(?1)",
                            &values![lock_key(PRUNE_LOCK)],
                        )?
                        .get(0)?;
                    if !ours {
                        // Another replica is pruning.
                        return Ok(0);
                    }
                }
                let pruned = tx.execute(
                    "DELETE FROM reports WHERE (cluster, node, id) IN (
                        SELECT r.cluster, r.node, r.id FROM reports r
                        WHERE r.received_at < ?1 AND NOT EXISTS (
                            SELECT 1 FROM nodes n
                            WHERE n.cluster = r.cluster AND n.name = r.node AND n.last_report = r.id)
                        LIMIT ?2)",
                    &values![before, PRUNE_CHUNK],
                )?;
                if pruned > 0 {
                    tx.execute(
                        "UPDATE counts SET value = value - ?1 WHERE name = 'reports'",
                        &values![i64::try_from(pruned).unwrap_or(i64::MAX)],
                    )?;
                }
                Ok::<_, StoreError>(pruned)
            })?;
            total += usize::try_from(pruned).unwrap_or(usize::MAX);
            if pruned < PRUNE_CHUNK as u64 {
                break;
            }
        }
        if total > 0 {
            self.lock()?.transaction(|tx| {
                if tx.dialect() == Dialect::Postgres {
                    tx.execute(
                        "SELECT pg_advisory_xact_lock(?1)",
                        &values![lock_key(BODIES_LOCK)],
                    )?;
                }
                tx.execute(
                    "DELETE FROM report_bodies
                     WHERE NOT EXISTS (SELECT 1 FROM reports WHERE reports.body_hash = report_bodies.hash)",
                    &[],
                )?;
                Ok::<_, StoreError>(())
            })?;
        }
        Ok(total)
    }

    /// Records the cluster's Node objects and judges the fleet check
    /// [`KUBERNETES_VERSION_CHECK`] on them: a kubelet older than `minimum` (major, minor)
    /// fails. Nodes gone from the cluster are forgotten. Returns how many fail.
    pub fn record_kubernetes_nodes(
        &self,
        cluster: &str,
        nodes: &[crate::kubernetes::KubeNode],
        minimum: (u32, u32),
        now: i64,
    ) -> Result<usize, StoreError> {
        let check = KUBERNETES_VERSION_CHECK;
        let expected = format!("{}.{} or newer", minimum.0, minimum.1);
        self.lock()?.transaction(|tx| {
            let mut was_failing: std::collections::HashSet<String> = std::collections::HashSet::new();
            for row in tx.query(
                "SELECT name FROM node_checks WHERE cluster = ?1 AND check_id = ?2 AND status = 'fail'",
                &values![cluster, check],
            )? {
                was_failing.insert(row.get(0)?);
            }
            tx.execute(
                "INSERT INTO checks (id, title, area, severity, remediation, rationale) VALUES (?1, ?2, 'node', 'high', ?3, ?4)
                 ON CONFLICT (id) DO UPDATE SET remediation = excluded.remediation",
                &values![
                    check,
                    "The kubelet runs a supported Kubernetes version",
                    format!("Upgrade the node (kubelet and control plane, one minor version at a time) to Kubernetes {expected}."),
                    "Kubernetes fixes security issues in its three newest minor versions only; a kubelet older than that gets no fixes, however it is configured."
                ],
            )?;
            let mut failing = 0;
            let mut delta = 0i64;
            for node in nodes {
                tx.execute(
                    "INSERT INTO kube_nodes (cluster, name, labels, roles, kubelet_version, seen_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (cluster, name) DO UPDATE SET labels = excluded.labels, roles = excluded.roles,
                        kubelet_version = excluded.kubelet_version, seen_at = excluded.seen_at",
                    &values![cluster, &node.name, &node.labels, node.roles.join(","), &node.kubelet_version, now],
                )?;
                let version = crate::kubernetes::minor_version(&node.kubelet_version);
                let (status, message) = match version {
                    Some(v) if v < minimum => (
                        "fail",
                        format!("kubelet {} is older than the oldest supported Kubernetes ({expected})", node.kubelet_version),
                    ),
                    Some(_) => ("pass", format!("kubelet {} is supported", node.kubelet_version)),
                    None => ("error", format!("kubelet version {:?} cannot be read", node.kubelet_version)),
                };
                let evidence = serde_json::json!([{
                    "subject": "kubelet version",
                    "observed": node.kubelet_version,
                    "expected": expected,
                    "status": status,
                    "source": {"kind": "none"},
                    "note": "from the Node object (status.nodeInfo.kubeletVersion)",
                }]);
                let evidence = if status == "pass" { String::new() } else { evidence.to_string() };
                tx.execute(
                    "INSERT INTO node_checks (cluster, name, check_id, status, severity, message, evidence) VALUES (?1, ?2, ?3, ?4, 'high', ?5, ?6)
                     ON CONFLICT (cluster, name, check_id) DO UPDATE SET status = excluded.status, severity = excluded.severity,
                        message = excluded.message, evidence = excluded.evidence",
                    &values![cluster, &node.name, check, status, message, evidence],
                )?;
                let now_failing = status == "fail";
                failing += usize::from(now_failing);
                match (was_failing.remove(&node.name), now_failing) {
                    (false, true) => delta += 1,
                    (true, false) => delta -= 1,
                    _ => {}
                }
            }
            // Nodes no longer in the cluster: their verdicts go, and they stop counting.
            delta -= was_failing.len() as i64;
            let present: std::collections::HashSet<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
            let mut gone = Vec::new();
            for row in tx.query("SELECT name FROM kube_nodes WHERE cluster = ?1", &values![cluster])? {
                let name: String = row.get(0)?;
                if !present.contains(name.as_str()) {
                    gone.push(name);
                }
            }
            for name in &gone {
                tx.execute("DELETE FROM kube_nodes WHERE cluster = ?1 AND name = ?2", &values![cluster, name])?;
                tx.execute(
                    "DELETE FROM node_checks WHERE cluster = ?1 AND name = ?2 AND check_id = ?3",
                    &values![cluster, name, check],
                )?;
            }
            if delta != 0 {
                tx.execute(
                    "UPDATE checks SET failing_nodes = failing_nodes + ?2 WHERE id = ?1",
                    &values![check, delta],
                )?;
            }
            Ok::<_, StoreError>(failing)
        })
    }

    /// What the cluster's Node object says of a node: (labels as JSON, roles, kubelet version).
    pub fn kubernetes_node(
        &self,
        cluster: &str,
        name: &str,
    ) -> Result<Option<(serde_json::Value, Vec<String>, String)>, StoreError> {
        let Some(row) = self.read()?.query_opt(
            "SELECT labels, roles, kubelet_version FROM kube_nodes WHERE cluster = ?1 AND name = ?2",
            &values![cluster, name],
        )?
        else {
            return Ok(None);
        };
        let labels: String = row.get(0)?;
        let roles: String = row.get(1)?;
        Ok(Some((
            serde_json::from_str(&labels).unwrap_or_default(),
            roles
                .split(',')
                .filter(|r| !r.is_empty())
                .map(str::to_string)
                .collect(),
            row.get(2)?,
        )))
    }

    /// Whether the database answers (for /readyz).
    pub fn ping(&self) -> Result<(), StoreError> {
        self.read()?.query_one("SELECT 1", &[])?;
        Ok(())
    }

    /// How many distinct report bodies are kept (for tests and metrics).
    pub fn body_count(&self) -> Result<i64, StoreError> {
        Ok(self
            .read()?
            .query_one("SELECT COUNT(*) FROM report_bodies", &[])?
            .get(0)?)
    }

    /// Reports stored (kept at ingest and prune, not counted).
    pub fn report_count(&self) -> Result<i64, StoreError> {
        Ok(self
            .read()?
            .query_one("SELECT value FROM counts WHERE name = 'reports'", &[])?
            .get(0)?)
    }
}

/// Brings the schema to the newest version this collector knows, in one transaction; on
/// PostgreSQL under an advisory lock, so replicas starting together migrate once.
fn migrate(connection: &mut Connection) -> Result<(), StoreError> {
    let (create_version_table, migrations) = match connection.dialect() {
        Dialect::Sqlite => (
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
            SQLITE_MIGRATIONS,
        ),
        Dialect::Postgres => (
            "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)",
            POSTGRES_MIGRATIONS,
        ),
    };
    connection.transaction(|tx| {
        if tx.dialect() == Dialect::Postgres {
            tx.execute(
                "SELECT pg_advisory_xact_lock(?1)",
                &values![lock_key(MIGRATION_LOCK)],
            )?;
        }
        tx.batch(create_version_table)?;
        let found: i64 = tx
            .query_opt("SELECT version FROM schema_version", &[])?
            .map(|r| r.get(0))
            .transpose()?
            .unwrap_or(0);
        let known = migrations.len() as i64;
        if found > known {
            return Err(StoreError::SchemaTooNew { found, known });
        }
        for migration in &migrations[usize::try_from(found).unwrap_or(0)..] {
            tx.batch(migration)?;
        }
        if found < known {
            tx.execute("DELETE FROM schema_version", &[])?;
            tx.execute(
                "INSERT INTO schema_version (version) VALUES (?1)",
                &values![known],
            )?;
        }
        Ok(())
    })
}

/// A report as kept: its row, and its body either shared (deduplicated) or, for reports
/// stored before bodies were shared, inline and whole.
struct StoredReport {
    id: String,
    inline_body: Vec<u8>,
    shared_body: Option<Vec<u8>>,
    started_at: Option<String>,
    duration_ms: Option<i64>,
}

impl StoredReport {
    fn into_report(self) -> Result<Report, StoreError> {
        let shared = self.shared_body.is_some();
        let body = self.shared_body.unwrap_or(self.inline_body);
        let mut report: Report = serde_json::from_slice(&decompress(&body)?)
            .map_err(|e| StoreError::Corrupt(format!("report {}: {e}", self.id)))?;
        if shared {
            report.id = self.id;
            report.started_at = self.started_at.unwrap_or_default();
            report.duration_ms = self
                .duration_ms
                .and_then(|d| u64::try_from(d).ok())
                .unwrap_or(0);
        }
        Ok(report)
    }
}

/// Gzip for stored report bodies (a report compresses about tenfold).
fn compress(data: &[u8]) -> Result<Vec<u8>, StoreError> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder
        .write_all(data)
        .and_then(|()| encoder.finish())
        .map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// A stored body: gzip, or plain JSON from before bodies were compressed.
fn decompress(data: &[u8]) -> Result<Vec<u8>, StoreError> {
    use std::io::Read;
    if !data.starts_with(&[0x1f, 0x8b]) {
        return Ok(data.to_vec());
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(data)
        .read_to_end(&mut out)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(out)
}

/// A validated report and the form it is kept in: its body without the per-report parts
/// (id, start time, duration), gzip-compressed, and the SHA-256 of that body.
///
/// Built where the report is parsed (in the request handlers, in parallel), so the single
/// writer only writes.
#[derive(Debug)]
pub struct Incoming {
    pub report: Report,
    body: Vec<u8>,
    hash: [u8; 32],
    /// The token it came with, when that token limits the nodes it may create.
    pub creator: Option<Creator>,
}

impl Incoming {
    pub fn new(mut report: Report) -> Result<Self, StoreError> {
        if let Some(field) = text_with_nul(&report) {
            return Err(StoreError::Invalid(format!(
                "`{field}` contains a NUL character, which no stored text may hold"
            )));
        }
        let mut seen = std::collections::HashMap::with_capacity(report.findings.len());
        for (i, finding) in report.findings.iter().enumerate() {
            if let Some(first) = seen.insert(finding.id.as_str(), i) {
                return Err(StoreError::Invalid(format!(
                    "`findings[{i}].id` repeats {:?} of findings[{first}]: a report has one finding per check",
                    finding.id
                )));
            }
        }
        let id = std::mem::take(&mut report.id);
        let started_at = std::mem::take(&mut report.started_at);
        let duration_ms = std::mem::replace(&mut report.duration_ms, 0);
        let json = serde_json::to_vec(&report);
        report.id = id;
        report.started_at = started_at;
        report.duration_ms = duration_ms;
        let json = json.map_err(|e| StoreError::Corrupt(e.to_string()))?;
        use sha2::Digest;
        Ok(Self {
            hash: sha2::Sha256::digest(&json).into(),
            body: compress(&json)?,
            report,
            creator: None,
        })
    }
}

/// The first field kept as text whose value holds a NUL character (PostgreSQL's text cannot
/// hold one, and no legitimate report has one), as a path into the report. Fields kept as JSON
/// (labels, evidence) or only in the body are escaped and need no check.
fn text_with_nul(report: &Report) -> Option<String> {
    let has_nul = |text: &str| text.contains('\0');
    let top = [
        ("id", report.id.as_str()),
        ("node.cluster", report.node.cluster.as_str()),
        ("node.name", report.node.name.as_str()),
        ("started_at", report.started_at.as_str()),
        ("agent.version", report.agent.version.as_str()),
    ];
    if let Some((field, _)) = top.iter().find(|(_, text)| has_nul(text)) {
        return Some((*field).to_string());
    }
    report.findings.iter().enumerate().find_map(|(i, f)| {
        [
            ("id", &f.id),
            ("title", &f.title),
            ("area", &f.area),
            ("message", &f.message),
            ("remediation", &f.remediation),
            ("rationale", &f.rationale),
        ]
        .into_iter()
        .find(|(_, text)| has_nul(text))
        .map(|(field, _)| format!("findings[{i}].{field}"))
    })
}

/// A node's stored row for one check, as the last report left it.
struct PreviousCheck {
    status: String,
    severity: String,
    message: String,
    evidence: String,
    /// For a check the catalogue does not know: the digest of how this node described it.
    described: Option<String>,
}

/// A check's description: title, area, severity, remediation, rationale.
type Description = [String; 5];

/// What identifies a description among a check's: SHA-256 of its fields (which hold no NUL,
/// [`Incoming::new`] refuses it), the first 16 bytes in hex.
fn description_digest(fields: &[&str; 5]) -> String {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    for field in fields {
        hasher.update(field.as_bytes());
        hasher.update([0]);
    }
    hasher.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What a batch changes in the fleet aggregates, added up over its reports and written at
/// the end in one order (checks, buckets, days, counts; each by key), so that concurrent
/// batches on PostgreSQL lock shared rows in the same order and never deadlock.
#[derive(Default)]
struct Deltas {
    reports: i64,
    checks: BTreeMap<String, CheckDelta>,
    buckets: BTreeMap<i64, i64>,
    /// Day → (score sum, reports).
    days: BTreeMap<i64, (i64, i64)>,
}

#[derive(Default)]
struct CheckDelta {
    /// The catalogue's description of the check, when it must be written.
    described: Option<Description>,
    /// For a check the catalogue does not know: nodes that took up (+) or gave up (-) each
    /// description, by digest, with the description when some node took it up.
    descriptions: BTreeMap<String, (i64, Option<Description>)>,
    failing: i64,
    /// Nodes that started (+) or stopped (-) reporting the check.
    reporting: i64,
}

impl CheckDelta {
    fn describe(&mut self, digest: &str, change: i64, description: Option<Description>) {
        let entry = self.descriptions.entry(digest.to_string()).or_default();
        entry.0 += change;
        if description.is_some() {
            entry.1 = description;
        }
    }
}

impl Deltas {
    fn write(
        &self,
        tx: &mut Connection,
        known: &mut KnownChecks,
        now: i64,
    ) -> Result<(), StoreError> {
        for (id, delta) in &self.checks {
            write_descriptions(tx, id, &delta.descriptions, now)?;
            if let Some([title, area, severity, remediation, rationale]) = &delta.described {
                tx.execute(
                    "INSERT INTO checks (id, title, area, severity, remediation, rationale) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (id) DO UPDATE SET title = excluded.title, area = excluded.area,
                        severity = excluded.severity, remediation = excluded.remediation, rationale = excluded.rationale
                     WHERE checks.title != excluded.title OR checks.area != excluded.area
                        OR checks.severity != excluded.severity OR checks.remediation != excluded.remediation
                        OR checks.rationale != excluded.rationale",
                    &values![id, title, area, severity, remediation, rationale],
                )?;
            }
            if delta.failing != 0 || delta.reporting != 0 {
                tx.execute(
                    "UPDATE checks SET failing_nodes = failing_nodes + ?2,
                        reporting_nodes = reporting_nodes + ?3 WHERE id = ?1",
                    &values![id, delta.failing, delta.reporting],
                )?;
            }
            // A check the catalogue does not know lives as long as some node reports it: one
            // node sending new ids in every report must not grow the fleet's list forever.
            if delta.reporting < 0
                && crate::catalogue::get(id).is_none()
                && !COLLECTOR_CHECKS.contains(&id.as_str())
                && tx.execute(
                    "DELETE FROM checks WHERE id = ?1 AND reporting_nodes <= 0",
                    &values![id],
                )? > 0
            {
                // A report that brings it back describes it anew.
                known.remove(id);
            }
        }
        for (bucket, delta) in &self.buckets {
            if *delta != 0 {
                tx.execute(
                    "INSERT INTO score_buckets (bucket, nodes) VALUES (?1, ?2)
                     ON CONFLICT (bucket) DO UPDATE SET nodes = score_buckets.nodes + excluded.nodes",
                    &values![*bucket, *delta],
                )?;
            }
        }
        for (day, (sum, reports)) in &self.days {
            tx.execute(
                "INSERT INTO fleet_daily (day, score_sum, reports) VALUES (?1, ?2, ?3)
                 ON CONFLICT (day) DO UPDATE SET score_sum = fleet_daily.score_sum + excluded.score_sum,
                    reports = fleet_daily.reports + excluded.reports",
                &values![*day, *sum, *reports],
            )?;
        }
        if self.reports > 0 {
            tx.execute(
                "UPDATE counts SET value = value + ?1 WHERE name = 'reports'",
                &values![self.reports],
            )?;
        }
        Ok(())
    }
}

/// A check the catalogue does not know is described to the fleet as most of the nodes reporting
/// it describe it, never as one node says: each description is counted by the nodes whose
/// latest report gives it, and the check shows the one most nodes give (of equals, the one
/// seen first, so a newcomer must outnumber an established description, not just arrive
/// last). Counts that reach zero are removed, so a node cycling descriptions keeps at most one.
fn write_descriptions(
    tx: &mut Connection,
    id: &str,
    changes: &BTreeMap<String, (i64, Option<Description>)>,
    now: i64,
) -> Result<(), StoreError> {
    let mut changed = false;
    for (digest, (change, description)) in changes {
        match (change, description) {
            (0, _) => continue,
            (change, Some([title, area, severity, remediation, rationale])) if *change > 0 => {
                tx.execute(
                    "INSERT INTO check_descriptions (check_id, digest, title, area, severity, remediation, rationale, nodes, first_seen)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                     ON CONFLICT (check_id, digest) DO UPDATE SET nodes = check_descriptions.nodes + excluded.nodes",
                    &values![id, digest, title, area, severity, remediation, rationale, *change, now],
                )?;
            }
            (change, _) => {
                tx.execute(
                    "UPDATE check_descriptions SET nodes = nodes + ?3 WHERE check_id = ?1 AND digest = ?2",
                    &values![id, digest, *change],
                )?;
                tx.execute(
                    "DELETE FROM check_descriptions WHERE check_id = ?1 AND digest = ?2 AND nodes <= 0",
                    &values![id, digest],
                )?;
            }
        }
        changed = true;
    }
    if changed {
        // The check's row, made or brought up to the description most nodes give.
        tx.execute(
            "INSERT INTO checks (id, title, area, severity, remediation, rationale)
             SELECT check_id, title, area, severity, remediation, rationale FROM check_descriptions
             WHERE check_id = ?1 AND nodes > 0
             ORDER BY nodes DESC, first_seen, digest LIMIT 1
             ON CONFLICT (id) DO UPDATE SET title = excluded.title, area = excluded.area,
                severity = excluded.severity, remediation = excluded.remediation, rationale = excluded.rationale
             WHERE checks.title != excluded.title OR checks.area != excluded.area
                OR checks.severity != excluded.severity OR checks.remediation != excluded.remediation
                OR checks.rationale != excluded.rationale",
            &values![id],
        )?;
    }
    Ok(())
}

/// Writes a batch of reports in the transaction `tx`.
fn write_batch(
    tx: &mut Connection,
    reports: &[Incoming],
    now: i64,
    known: &mut KnownChecks,
) -> Result<Vec<Ingested>, StoreError> {
    if tx.dialect() == Dialect::Postgres {
        tx.execute(
            "SELECT pg_advisory_xact_lock_shared(?1)",
            &values![lock_key(BODIES_LOCK)],
        )?;
        // Each node, and each token that may create only so many: two batches counting one
        // token's nodes at once would both see room for one more.
        let mut nodes: Vec<i64> = reports
            .iter()
            .map(|r| {
                let node = &r.report.node;
                lock_key(&format!("node/{}/{}", node.cluster, node.name))
            })
            .chain(
                reports
                    .iter()
                    .filter_map(|r| r.creator)
                    .map(|c| lock_key(&format!("token/{}", c.token_id))),
            )
            .collect();
        nodes.sort_unstable();
        nodes.dedup();
        for key in nodes {
            tx.execute("SELECT pg_advisory_xact_lock(?1)", &values![key])?;
        }
    }
    let mut deltas = Deltas::default();
    let mut outcomes = Vec::with_capacity(reports.len());
    for incoming in reports {
        outcomes.push(ingest_one(tx, incoming, now, known, &mut deltas)?);
    }
    deltas.write(tx, known, now)?;
    Ok(outcomes)
}

fn ingest_one(
    tx: &mut Connection,
    incoming: &Incoming,
    now: i64,
    known: &mut KnownChecks,
    deltas: &mut Deltas,
) -> Result<Ingested, StoreError> {
    let report = &incoming.report;
    let (cluster, name) = (&report.node.cluster, &report.node.name);
    let score = report.score.map(i64::from);
    // A token that may create only so many nodes creates no more (its nodes keep reporting).
    if let Some(creator) = incoming.creator {
        let known = tx
            .query_opt(
                "SELECT 1 FROM nodes WHERE cluster = ?1 AND name = ?2",
                &values![cluster, name],
            )?
            .is_some();
        if !known {
            let created: i64 = tx
                .query_one(
                    "SELECT COUNT(*) FROM nodes WHERE created_by = ?1",
                    &values![creator.token_id],
                )?
                .get(0)?;
            if created >= creator.max_nodes {
                return Ok(Ingested::NodeLimit {
                    max: creator.max_nodes,
                });
            }
        }
    }
    let inserted = tx.execute(
        "INSERT INTO reports (id, cluster, node, received_at, score, body, body_hash, started_at, duration_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT DO NOTHING",
        &values![
            &report.id,
            cluster,
            name,
            now,
            score,
            &[][..],
            &incoming.hash[..],
            &report.started_at,
            i64::try_from(report.duration_ms).unwrap_or(i64::MAX)
        ],
    )?;
    if inserted == 0 {
        return Ok(Ingested::Duplicate);
    }
    deltas.reports += 1;
    tx.execute(
        "INSERT INTO report_bodies (hash, body) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
        &values![&incoming.hash[..], &incoming.body[..]],
    )?;
    let previous_score: Option<Option<i64>> = tx
        .query_opt(
            "SELECT score FROM nodes WHERE cluster = ?1 AND name = ?2",
            &values![cluster, name],
        )?
        .map(|r| r.get(0))
        .transpose()?;
    let failing_of = |severity: Option<Severity>| {
        report
            .findings
            .iter()
            .filter(|f| f.status == Status::Fail && f.waiver.is_none())
            .filter(|f| severity.is_none_or(|s| f.severity == s))
            .count() as i64
    };
    let failing = failing_of(None);
    let failing_critical = failing_of(Some(Severity::Critical));
    let failing_high = failing_of(Some(Severity::High));
    let roles: Vec<&str> = report.node.roles.iter().map(|r| r.as_str()).collect();
    tx.execute(
        "INSERT INTO nodes (cluster, name, first_seen, last_seen, roles, labels, agent_version, interval_s, score, failing,
            last_report, failing_critical, failing_high, created_by)
         VALUES (?1, ?2, ?3, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
         ON CONFLICT (cluster, name) DO UPDATE SET last_seen = excluded.last_seen, roles = excluded.roles,
            labels = excluded.labels, agent_version = excluded.agent_version, interval_s = excluded.interval_s,
            score = excluded.score, failing = excluded.failing, last_report = excluded.last_report,
            failing_critical = excluded.failing_critical, failing_high = excluded.failing_high",
        &values![
            cluster,
            name,
            now,
            roles.join(","),
            serde_json::to_string(&report.node.labels).unwrap_or_default(),
            &report.agent.version,
            report.agent.interval_s.map(|s| s as i64),
            score,
            failing,
            &report.id,
            failing_critical,
            failing_high,
            incoming.creator.map(|c| c.token_id)
        ],
    )?;
    // Score distribution: move the node from its old bucket to its new one.
    let bucket = |score: Option<i64>| score.map_or(-1, |s| (s / 10).min(9));
    if let Some(old) = previous_score {
        *deltas.buckets.entry(bucket(old)).or_default() -= 1;
    }
    *deltas.buckets.entry(bucket(score)).or_default() += 1;
    // Failing nodes per check: compare with the node's previous statuses (one query). A node's
    // statuses rarely change between reports, so rows that are unchanged are not rewritten,
    // and check metadata is written only for checks described differently than last written.
    let mut before: std::collections::HashMap<String, PreviousCheck> =
        std::collections::HashMap::new();
    // A node seen for the first time has no check rows to compare with.
    let known_node = previous_score.is_some();
    let previous_rows = if known_node {
        tx.query(
            "SELECT check_id, status, severity, message, evidence, described FROM node_checks WHERE cluster = ?1 AND name = ?2",
            &values![cluster, name],
        )?
    } else {
        Vec::new()
    };
    for row in previous_rows {
        before.insert(
            row.get(0)?,
            PreviousCheck {
                status: row.get(1)?,
                severity: row.get(2)?,
                message: row.get(3)?,
                evidence: row.get(4)?,
                described: row.get(5)?,
            },
        );
    }
    let mut changed: Vec<[Value<'_>; 8]> = Vec::new();
    for finding in &report.findings {
        let status = if finding.waiver.is_some() {
            "waived"
        } else {
            finding.status.as_str()
        };
        let severity = finding.severity.as_str();
        // Evidence is kept where a check page shows it: for failing and erring checks.
        let evidence = if matches!(status, "fail" | "error") && !finding.evidence.is_empty() {
            serde_json::to_string(&finding.evidence).unwrap_or_default()
        } else {
            String::new()
        };
        let previous = before.get(&finding.id);
        // What the fleet is told about a check comes from the collector's catalogue when it
        // knows the check, and otherwise from what most nodes say ([`write_descriptions`]),
        // never from one node's report.
        let described = match crate::catalogue::get(&finding.id) {
            Some(entry) => {
                let described_as = [
                    entry.title.as_str(),
                    entry.area.as_str(),
                    entry.severity.as_str(),
                    entry.remediation.as_str(),
                    entry.rationale.as_str(),
                ];
                if known
                    .get(&finding.id)
                    .is_none_or(|stored| stored != &described_as)
                {
                    let described = described_as.map(str::to_string);
                    known.insert(finding.id.clone(), described.clone());
                    deltas
                        .checks
                        .entry(finding.id.clone())
                        .or_default()
                        .described = Some(described);
                }
                None
            }
            None => {
                let described_as = [
                    finding.title.as_str(),
                    finding.area.as_str(),
                    severity,
                    finding.remediation.as_str(),
                    finding.rationale.as_str(),
                ];
                let digest = description_digest(&described_as);
                let before = previous.and_then(|p| p.described.as_deref());
                if before != Some(digest.as_str()) {
                    let delta = deltas.checks.entry(finding.id.clone()).or_default();
                    delta.describe(&digest, 1, Some(described_as.map(str::to_string)));
                    if let Some(before) = before {
                        delta.describe(before, -1, None);
                    }
                }
                Some(digest)
            }
        };
        if previous.is_none() {
            deltas
                .checks
                .entry(finding.id.clone())
                .or_default()
                .reporting += 1;
        }
        let was_failing = previous.is_some_and(|p| p.status == "fail");
        let now_failing = status == "fail";
        if was_failing != now_failing {
            deltas.checks.entry(finding.id.clone()).or_default().failing +=
                if now_failing { 1 } else { -1 };
        }
        let unchanged = previous.is_some_and(|p| {
            p.status == status
                && p.severity == severity
                && p.message == finding.message
                && p.evidence == evidence
                && p.described == described
        });
        if !unchanged {
            changed.push(values![
                cluster,
                name,
                &finding.id,
                status,
                severity,
                &finding.message,
                evidence,
                described
            ]);
        }
    }
    write_node_checks(tx, &changed)?;
    // A check the node no longer reports (a profile that stopped enabling it, a newer agent
    // without it) leaves the node's rows: its last verdict is not the node's state any more,
    // and the node must not stay on the check's failing list.
    let present: std::collections::HashSet<&str> =
        report.findings.iter().map(|f| f.id.as_str()).collect();
    for (check_id, previous) in &before {
        // The collector's own checks are judged from elsewhere (Node objects), never reported.
        if present.contains(check_id.as_str()) || COLLECTOR_CHECKS.contains(&check_id.as_str()) {
            continue;
        }
        tx.execute(
            "DELETE FROM node_checks WHERE cluster = ?1 AND name = ?2 AND check_id = ?3",
            &values![cluster, name, check_id],
        )?;
        let delta = deltas.checks.entry(check_id.clone()).or_default();
        if previous.status == "fail" {
            delta.failing -= 1;
        }
        delta.reporting -= 1;
        if let Some(digest) = &previous.described {
            delta.describe(digest, -1, None);
        }
    }
    tx.execute(
        "INSERT INTO score_history (cluster, name, at, score, report_id) VALUES (?1, ?2, ?3, ?4, ?5)",
        &values![cluster, name, now, score, &report.id],
    )?;
    if let Some(score) = score {
        let day = deltas.days.entry(day_of(now)).or_default();
        day.0 += score;
        day.1 += 1;
    }
    Ok(Ingested::Stored)
}

/// Rows per statement when a node's check rows are written, largest first. On PostgreSQL
/// every statement is a round trip, so a new node's dozens of rows go in a few multi-row
/// statements (first contact of 10,000 nodes: 160 reports/s one row at a time); SQLite runs
/// in-process, and one row per statement measured faster there. Only these few statement
/// texts are ever prepared.
fn row_groups(dialect: Dialect) -> &'static [usize] {
    match dialect {
        Dialect::Sqlite => &[1],
        Dialect::Postgres => &[32, 8, 1],
    }
}

/// The upsert of `rows` node check rows.
fn node_checks_upsert(rows: usize) -> String {
    let tuples: Vec<String> = (0..rows)
        .map(|row| {
            let first = row * 8 + 1;
            let places: Vec<String> = (first..first + 8).map(|p| format!("?{p}")).collect();
            format!("({})", places.join(", "))
        })
        .collect();
    format!(
        "INSERT INTO node_checks (cluster, name, check_id, status, severity, message, evidence, described)
         VALUES {}
         ON CONFLICT (cluster, name, check_id) DO UPDATE SET status = excluded.status,
            severity = excluded.severity, message = excluded.message, evidence = excluded.evidence,
            described = excluded.described",
        tuples.join(", ")
    )
}

/// Writes (inserts or updates) node check rows. A report has one finding per check
/// ([`Incoming::new`] refuses repeats), so no statement touches a row twice.
fn write_node_checks(tx: &mut Connection, rows: &[[Value<'_>; 8]]) -> Result<(), StoreError> {
    static STATEMENTS: std::sync::OnceLock<std::collections::HashMap<usize, String>> =
        std::sync::OnceLock::new();
    let statements = STATEMENTS.get_or_init(|| {
        [Dialect::Sqlite, Dialect::Postgres]
            .into_iter()
            .flat_map(row_groups)
            .map(|&size| (size, node_checks_upsert(size)))
            .collect()
    });
    let groups = row_groups(tx.dialect());
    let mut rest = rows;
    while !rest.is_empty() {
        let size = groups
            .iter()
            .copied()
            .find(|size| *size <= rest.len())
            .unwrap_or(1);
        let (group, tail) = rest.split_at(size);
        let sql = statements
            .get(&size)
            .cloned()
            .unwrap_or_else(|| node_checks_upsert(size));
        tx.execute(&sql, group.as_flattened())?;
        rest = tail;
    }
    Ok(())
}

/// A node's scores over time: (unix time, score).
pub type ScoreHistory = Vec<(i64, Option<i64>)>;

/// A node failing a check, with what it said and what it saw.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FailingNode {
    pub cluster: String,
    pub name: String,
    pub message: String,
    pub evidence: Vec<nodecheck_report::Evidence>,
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
