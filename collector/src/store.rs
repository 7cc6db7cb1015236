//! Durable storage of reports, per-node state and fleet aggregates.
//!
//! SQLite in WAL mode with `synchronous=FULL`: a report is acknowledged only after its
//! transaction is on disk. Ingest keeps, in the same transaction, the node's latest state, the
//! latest status of each of its checks, its score history, and the fleet aggregates (failing
//! nodes per check, the score distribution, the daily fleet trend), so that reads never scan
//! every node. Migrations are versioned and applied at open.

use nodecheck_report::{Report, Status};
use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;
use std::sync::Mutex;

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("stored report is not readable: {0}")]
    Corrupt(String),
    #[error("database lock poisoned")]
    Poisoned,
}

/// Migrations, in order; `schema_version` records how many have run.
const MIGRATIONS: &[&str] = &[
    "CREATE TABLE tokens (
        id INTEGER PRIMARY KEY,
        hash TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL,
        name TEXT NOT NULL,
        scope_cluster TEXT,
        scope_nodes TEXT,
        created_at INTEGER NOT NULL,
        revoked_at INTEGER
     );
     CREATE TABLE reports (
        id TEXT PRIMARY KEY,
        cluster TEXT NOT NULL,
        node TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        score INTEGER,
        body TEXT NOT NULL
     );
     CREATE INDEX reports_by_node ON reports (cluster, node, received_at);
     CREATE INDEX reports_by_time ON reports (received_at);
     CREATE TABLE nodes (
        cluster TEXT NOT NULL,
        name TEXT NOT NULL,
        first_seen INTEGER NOT NULL,
        last_seen INTEGER NOT NULL,
        roles TEXT NOT NULL,
        labels TEXT NOT NULL,
        agent_version TEXT NOT NULL,
        interval_s INTEGER,
        score INTEGER,
        failing INTEGER NOT NULL,
        last_report TEXT NOT NULL,
        PRIMARY KEY (cluster, name)
     );
     CREATE INDEX nodes_by_score ON nodes (score);
     CREATE TABLE node_checks (
        cluster TEXT NOT NULL,
        name TEXT NOT NULL,
        check_id TEXT NOT NULL,
        status TEXT NOT NULL,
        severity TEXT NOT NULL,
        message TEXT NOT NULL,
        PRIMARY KEY (cluster, name, check_id)
     );
     CREATE INDEX node_checks_by_check ON node_checks (check_id, status);
     CREATE TABLE score_history (
        cluster TEXT NOT NULL,
        name TEXT NOT NULL,
        at INTEGER NOT NULL,
        score INTEGER,
        report_id TEXT NOT NULL
     );
     CREATE INDEX score_history_by_node ON score_history (cluster, name, at);
     CREATE TABLE checks (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        area TEXT NOT NULL,
        severity TEXT NOT NULL,
        remediation TEXT NOT NULL,
        failing_nodes INTEGER NOT NULL DEFAULT 0
     );
     CREATE TABLE score_buckets (
        bucket INTEGER PRIMARY KEY,
        nodes INTEGER NOT NULL
     );
     CREATE TABLE fleet_daily (
        day INTEGER PRIMARY KEY,
        score_sum INTEGER NOT NULL,
        reports INTEGER NOT NULL
     );",
    // Report bodies deduplicated by content: a node whose findings and inventory have not
    // changed sends the same body every interval, and it is kept once. The per-report parts
    // (id, start time, duration) move to the report row.
    "CREATE TABLE report_bodies (
        hash BLOB PRIMARY KEY,
        body BLOB NOT NULL
     );
     ALTER TABLE reports ADD COLUMN body_hash BLOB;
     ALTER TABLE reports ADD COLUMN started_at TEXT;
     ALTER TABLE reports ADD COLUMN duration_ms INTEGER;
     CREATE INDEX reports_by_body ON reports (body_hash);",
    // Counts kept at ingest and prune: COUNT(*) over months of reports is a full scan, too
    // slow for every scrape of /metrics.
    "CREATE TABLE counts (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
     INSERT INTO counts (name, value) SELECT 'reports', COUNT(*) FROM reports;",
    "ALTER TABLE tokens ADD COLUMN expires_at INTEGER;",
    // Why a check matters, and the evidence of each node failing it (for failing and erring
    // checks only: nothing shows the evidence of a pass without the whole report).
    "ALTER TABLE checks ADD COLUMN rationale TEXT NOT NULL DEFAULT '';
     ALTER TABLE node_checks ADD COLUMN evidence TEXT NOT NULL DEFAULT '';",
];

/// The outcome of an ingest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ingested {
    Stored,
    /// The report id was already stored: nothing changed.
    Duplicate,
}

/// A node as listed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NodeRow {
    pub cluster: String,
    pub name: String,
    pub roles: Vec<String>,
    pub score: Option<i64>,
    pub failing: i64,
    pub first_seen: i64,
    pub last_seen: i64,
    pub agent_version: String,
    pub interval_s: Option<i64>,
    pub stale: bool,
}

const NODE_COLUMNS: &str =
    "cluster, name, roles, score, failing, first_seen, last_seen, agent_version, interval_s";

impl NodeRow {
    /// A row of `SELECT {NODE_COLUMNS}`, judged stale or not at `now`.
    fn from_row(r: &rusqlite::Row<'_>, now: i64) -> rusqlite::Result<NodeRow> {
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
    fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CheckRow> {
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
    connection: Mutex<Connection>,
    /// A read-only connection to the same file: in WAL mode it reads the last commit while a
    /// batch is being written, so pages, the API and token checks never wait for ingest.
    /// In memory there is only the writer.
    reader: Option<Mutex<Connection>>,
    /// Check metadata as this process last wrote it, so that the ingest path writes a check's
    /// row only when a report describes it differently (a new check, a new agent version).
    /// Emptied when a batch fails, since its writes were rolled back.
    known_checks: Mutex<KnownChecks>,
}

/// Check id → (title, area, severity, remediation, rationale) as stored.
type KnownChecks = std::collections::HashMap<String, [String; 5]>;

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

impl Store {
    /// Opens (creating and migrating) the database at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let connection = Connection::open(path)?;
        let mut store = Store::init(connection)?;
        // Opened after the migrations, so it never sees a half-made schema.
        let reader = Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        reader.busy_timeout(std::time::Duration::from_secs(5))?;
        reader.pragma_update(None, "cache_size", -65_536)?;
        store.reader = Some(Mutex::new(reader));
        Ok(store)
    }

    /// An in-memory store, for tests.
    pub fn in_memory() -> Result<Store, StoreError> {
        Store::init(Connection::open_in_memory()?)
    }

    fn init(connection: Connection) -> Result<Store, StoreError> {
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "synchronous", "FULL")?;
        connection.pragma_update(None, "foreign_keys", "ON")?;
        // 64 MiB of page cache: the per-node check rows of a large fleet stay in memory
        // instead of being read back through the kernel on every ingest.
        connection.pragma_update(None, "cache_size", -65_536)?;
        connection.set_prepared_statement_cache_capacity(64);
        connection.busy_timeout(std::time::Duration::from_secs(5))?;
        connection.execute_batch(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
        )?;
        let version: i64 = connection
            .query_row("SELECT version FROM schema_version", [], |r| r.get(0))
            .optional()?
            .unwrap_or(0);
        for (index, migration) in MIGRATIONS
            .iter()
            .enumerate()
            .skip(usize::try_from(version).unwrap_or(0))
        {
            let tx = connection.unchecked_transaction()?;
            tx.execute_batch(migration)?;
            tx.execute("DELETE FROM schema_version", [])?;
            tx.execute(
                "INSERT INTO schema_version (version) VALUES (?1)",
                [index as i64 + 1],
            )?;
            tx.commit()?;
        }
        Ok(Store {
            connection: Mutex::new(connection),
            reader: None,
            known_checks: Mutex::new(KnownChecks::new()),
        })
    }

    /// The writer.
    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Connection>, StoreError> {
        self.connection.lock().map_err(|_| StoreError::Poisoned)
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
        let mut write = || -> Result<Vec<Ingested>, StoreError> {
            let tx = connection.transaction()?;
            let mut outcomes = Vec::with_capacity(reports.len());
            for incoming in reports {
                outcomes.push(ingest_one(&tx, incoming, now, &mut known)?);
            }
            let stored = outcomes.iter().filter(|o| **o == Ingested::Stored).count();
            tx.prepare_cached_execute(
                "UPDATE counts SET value = value + ?1 WHERE name = 'reports'",
                [stored as i64],
            )?;
            tx.commit()?;
            Ok(outcomes)
        };
        let result = write();
        if result.is_err() {
            known.clear();
        }
        result
    }

    /// Fleet summary: node counts, mean score, stale nodes, distribution and trend.
    pub fn summary(&self, now: i64) -> Result<serde_json::Value, StoreError> {
        let connection = self.read()?;
        let (nodes, mean): (i64, Option<f64>) =
            connection.query_row("SELECT COUNT(*), AVG(score) FROM nodes", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
        let stale: i64 = connection.query_row(
            &format!(
                "SELECT COUNT(*) FROM nodes WHERE {}",
                STALE_SQL.replace("?now", "?1")
            ),
            [now],
            |r| r.get(0),
        )?;
        let mut distribution = vec![0i64; 10];
        let mut unscored = 0;
        let mut statement = connection.prepare("SELECT bucket, nodes FROM score_buckets")?;
        for row in statement.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))? {
            let (bucket, count) = row?;
            match usize::try_from(bucket) {
                Ok(b) if b < 10 => distribution[b] = count,
                _ => unscored = count,
            }
        }
        let mut trend = Vec::new();
        let mut statement = connection.prepare(
            "SELECT day, score_sum, reports FROM fleet_daily ORDER BY day DESC LIMIT 30",
        )?;
        for row in statement.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })? {
            let (day, sum, reports) = row?;
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

    /// Nodes, filtered, ordered by (cluster, name), from `after` on.
    pub fn nodes(&self, filter: &NodeFilter, now: i64) -> Result<Vec<NodeRow>, StoreError> {
        let connection = self.read()?;
        let mut sql = format!("SELECT {NODE_COLUMNS} FROM nodes WHERE 1 = 1");
        let mut values: Vec<rusqlite::types::Value> = Vec::new();
        let mut push = |clause: &str, value: rusqlite::types::Value, sql: &mut String| {
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
        let mut statement = connection.prepare(&sql)?;
        let rows = statement.query_map(rusqlite::params_from_iter(values.iter()), |r| {
            NodeRow::from_row(r, now)
        })?;
        let mut out = Vec::new();
        for row in rows {
            out.push(row?);
            if out.len() >= filter.limit {
                break;
            }
        }
        Ok(out)
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
            &format!("WHERE {stale} ORDER BY last_seen ASC LIMIT ?1"),
            limit,
            now,
        )
    }

    fn select_nodes(&self, tail: &str, limit: usize, now: i64) -> Result<Vec<NodeRow>, StoreError> {
        let connection = self.read()?;
        let sql = format!("SELECT {NODE_COLUMNS} FROM nodes {tail}");
        let mut statement = connection.prepare(&sql)?;
        let rows = statement.query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
            NodeRow::from_row(r, now)
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A node's latest report and score history.
    pub fn node(
        &self,
        cluster: &str,
        name: &str,
    ) -> Result<Option<(Report, ScoreHistory)>, StoreError> {
        let connection = self.read()?;
        let stored: Option<StoredReport> = connection
            .query_row(
                "SELECT r.id, r.body, b.body, r.started_at, r.duration_ms FROM nodes n
                 JOIN reports r ON r.id = n.last_report
                 LEFT JOIN report_bodies b ON b.hash = r.body_hash
                 WHERE n.cluster = ?1 AND n.name = ?2",
                params![cluster, name],
                |r| {
                    Ok(StoredReport {
                        id: r.get(0)?,
                        inline_body: r.get(1)?,
                        shared_body: r.get(2)?,
                        started_at: r.get(3)?,
                        duration_ms: r.get(4)?,
                    })
                },
            )
            .optional()?;
        let Some(stored) = stored else {
            return Ok(None);
        };
        let report = stored.into_report()?;
        let mut statement = connection.prepare(
            "SELECT at, score FROM score_history WHERE cluster = ?1 AND name = ?2 ORDER BY at DESC LIMIT 500",
        )?;
        let mut history: Vec<(i64, Option<i64>)> = statement
            .query_map(params![cluster, name], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        history.reverse();
        Ok(Some((report, history)))
    }

    /// Every check seen, most failed first.
    pub fn checks(&self) -> Result<Vec<CheckRow>, StoreError> {
        let connection = self.read()?;
        let mut statement = connection.prepare(&format!(
            "SELECT {CHECK_COLUMNS} FROM checks ORDER BY failing_nodes DESC, id"
        ))?;
        let rows = statement
            .query_map([], CheckRow::from_row)?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// One check and the nodes failing it, with their messages and evidence.
    pub fn check(
        &self,
        id: &str,
        limit: usize,
    ) -> Result<Option<(CheckRow, Vec<FailingNode>)>, StoreError> {
        let connection = self.read()?;
        let row = connection
            .query_row(
                &format!("SELECT {CHECK_COLUMNS} FROM checks WHERE id = ?1"),
                [id],
                CheckRow::from_row,
            )
            .optional()?;
        let Some(row) = row else { return Ok(None) };
        let mut statement = connection.prepare(
            "SELECT cluster, name, message, evidence FROM node_checks WHERE check_id = ?1 AND status = 'fail' ORDER BY cluster, name LIMIT ?2",
        )?;
        let failing = statement
            .query_map(params![id, limit as i64], |r| {
                let evidence: String = r.get(3)?;
                Ok(FailingNode {
                    cluster: r.get(0)?,
                    name: r.get(1)?,
                    message: r.get(2)?,
                    // Rows from before evidence was kept have none.
                    evidence: serde_json::from_str(&evidence).unwrap_or_default(),
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(Some((row, failing)))
    }

    /// Stores a token hash with its role, scope and expiry; returns its id.
    pub fn add_token(&self, hash: &str, spec: &TokenSpec, now: i64) -> Result<i64, StoreError> {
        let connection = self.lock()?;
        connection.execute(
            "INSERT INTO tokens (hash, role, name, scope_cluster, scope_nodes, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                hash,
                spec.role,
                spec.name,
                spec.scope_cluster,
                spec.scope_nodes,
                now,
                spec.expires_at
            ],
        )?;
        Ok(connection.last_insert_rowid())
    }

    /// The token with this hash, live or not.
    pub fn find_token(&self, hash: &str) -> Result<Option<TokenRow>, StoreError> {
        let connection = self.read()?;
        Ok(connection
            .query_row(
                &format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE hash = ?1"),
                [hash],
                TokenRow::from_row,
            )
            .optional()?)
    }

    /// The token with this id, live or not.
    pub fn token_by_id(&self, id: i64) -> Result<Option<TokenRow>, StoreError> {
        let connection = self.read()?;
        Ok(connection
            .query_row(
                &format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE id = ?1"),
                [id],
                TokenRow::from_row,
            )
            .optional()?)
    }

    /// Every token (without hashes).
    pub fn tokens(&self) -> Result<Vec<TokenRow>, StoreError> {
        let connection = self.read()?;
        let mut statement =
            connection.prepare(&format!("SELECT {TOKEN_COLUMNS} FROM tokens ORDER BY id"))?;
        let rows = statement
            .query_map([], TokenRow::from_row)?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// Revokes a token; false when there is no such live token.
    pub fn revoke_token(&self, id: i64, now: i64) -> Result<bool, StoreError> {
        let connection = self.lock()?;
        Ok(connection.execute(
            "UPDATE tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
            params![id, now],
        )? == 1)
    }

    /// Whether any token exists (an empty installation has none).
    pub fn has_tokens(&self) -> Result<bool, StoreError> {
        let connection = self.read()?;
        Ok(connection.query_row("SELECT EXISTS (SELECT 1 FROM tokens)", [], |r| r.get(0))?)
    }

    /// Deletes full reports older than `before` (node state and history stay).
    pub fn prune(&self, before: i64) -> Result<usize, StoreError> {
        let mut connection = self.lock()?;
        let tx = connection.transaction()?;
        let pruned = tx.execute(
            "DELETE FROM reports WHERE received_at < ?1 AND id NOT IN (SELECT last_report FROM nodes)",
            [before],
        )?;
        if pruned > 0 {
            tx.execute(
                "UPDATE counts SET value = value - ?1 WHERE name = 'reports'",
                [pruned as i64],
            )?;
            tx.execute(
                "DELETE FROM report_bodies
                 WHERE NOT EXISTS (SELECT 1 FROM reports WHERE reports.body_hash = report_bodies.hash)",
                [],
            )?;
        }
        tx.commit()?;
        Ok(pruned)
    }

    /// Whether the database answers (for /readyz).
    pub fn ping(&self) -> Result<(), StoreError> {
        let connection = self.read()?;
        Ok(connection.query_row("SELECT 1", [], |_| Ok(()))?)
    }

    /// How many distinct report bodies are kept (for tests and metrics).
    pub fn body_count(&self) -> Result<i64, StoreError> {
        let connection = self.read()?;
        Ok(connection.query_row("SELECT COUNT(*) FROM report_bodies", [], |r| r.get(0))?)
    }

    /// Reports stored (kept at ingest and prune, not counted).
    pub fn report_count(&self) -> Result<i64, StoreError> {
        let connection = self.read()?;
        Ok(
            connection.query_row("SELECT value FROM counts WHERE name = 'reports'", [], |r| {
                r.get(0)
            })?,
        )
    }
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

/// Cached prepared statements for the hot ingest path.
trait CachedExecute {
    fn prepare_cached_execute<P: rusqlite::Params>(
        &self,
        sql: &str,
        params: P,
    ) -> rusqlite::Result<usize>;
}

impl CachedExecute for rusqlite::Transaction<'_> {
    fn prepare_cached_execute<P: rusqlite::Params>(
        &self,
        sql: &str,
        params: P,
    ) -> rusqlite::Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }
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
}

impl Incoming {
    pub fn new(mut report: Report) -> Result<Self, StoreError> {
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
        })
    }
}

/// A node's stored row for one check, as the last report left it.
struct PreviousCheck {
    status: String,
    severity: String,
    message: String,
    evidence: String,
}

fn ingest_one(
    tx: &rusqlite::Transaction<'_>,
    incoming: &Incoming,
    now: i64,
    known: &mut KnownChecks,
) -> Result<Ingested, StoreError> {
    let report = &incoming.report;
    let inserted = tx.prepare_cached_execute(
        "INSERT OR IGNORE INTO reports (id, cluster, node, received_at, score, body, body_hash, started_at, duration_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, X'', ?6, ?7, ?8)",
        params![
            report.id,
            report.node.cluster,
            report.node.name,
            now,
            report.score.map(i64::from),
            incoming.hash,
            report.started_at,
            i64::try_from(report.duration_ms).unwrap_or(i64::MAX)
        ],
    )?;
    if inserted == 0 {
        return Ok(Ingested::Duplicate);
    }
    tx.prepare_cached_execute(
        "INSERT OR IGNORE INTO report_bodies (hash, body) VALUES (?1, ?2)",
        params![incoming.hash, incoming.body],
    )?;
    let (cluster, name) = (&report.node.cluster, &report.node.name);
    let previous_score: Option<Option<i64>> = tx
        .query_row(
            "SELECT score FROM nodes WHERE cluster = ?1 AND name = ?2",
            params![cluster, name],
            |r| r.get(0),
        )
        .optional()?;
    let failing = report
        .findings
        .iter()
        .filter(|f| f.status == Status::Fail && f.waiver.is_none())
        .count() as i64;
    let roles: Vec<&str> = report.node.roles.iter().map(|r| r.as_str()).collect();
    tx.prepare_cached_execute(
        "INSERT INTO nodes (cluster, name, first_seen, last_seen, roles, labels, agent_version, interval_s, score, failing, last_report)
         VALUES (?1, ?2, ?3, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (cluster, name) DO UPDATE SET last_seen = ?3, roles = ?4, labels = ?5, agent_version = ?6,
            interval_s = ?7, score = ?8, failing = ?9, last_report = ?10",
        params![
            cluster,
            name,
            now,
            roles.join(","),
            serde_json::to_string(&report.node.labels).unwrap_or_default(),
            report.agent.version,
            report.agent.interval_s.map(|s| s as i64),
            report.score.map(i64::from),
            failing,
            report.id
        ],
    )?;
    // Score distribution: move the node from its old bucket to its new one.
    let bucket = |score: Option<i64>| score.map_or(-1, |s| (s / 10).min(9));
    if let Some(old) = previous_score {
        tx.prepare_cached_execute(
            "UPDATE score_buckets SET nodes = nodes - 1 WHERE bucket = ?1",
            [bucket(old)],
        )?;
    }
    tx.prepare_cached_execute(
        "INSERT INTO score_buckets (bucket, nodes) VALUES (?1, 1) ON CONFLICT (bucket) DO UPDATE SET nodes = nodes + 1",
        [bucket(report.score.map(i64::from))],
    )?;
    // Failing nodes per check: compare with the node's previous statuses (one query). A node's
    // statuses rarely change between reports, so rows that are unchanged are not rewritten,
    // and check metadata is written only for checks new to this node.
    let mut before: std::collections::HashMap<String, PreviousCheck> =
        std::collections::HashMap::new();
    {
        let mut statement = tx.prepare_cached(
            "SELECT check_id, status, severity, message, evidence FROM node_checks WHERE cluster = ?1 AND name = ?2",
        )?;
        let rows = statement.query_map(params![cluster, name], |r| {
            Ok((
                r.get::<_, String>(0)?,
                PreviousCheck {
                    status: r.get(1)?,
                    severity: r.get(2)?,
                    message: r.get(3)?,
                    evidence: r.get(4)?,
                },
            ))
        })?;
        for row in rows {
            let (id, previous) = row?;
            before.insert(id, previous);
        }
    }
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
        let described_as = [
            finding.title.as_str(),
            finding.area.as_str(),
            severity,
            finding.remediation.as_str(),
            finding.rationale.as_str(),
        ];
        if known
            .get(&finding.id)
            .is_none_or(|stored| stored != &described_as)
        {
            known.insert(finding.id.clone(), described_as.map(str::to_string));
            tx.prepare_cached_execute(
                "INSERT INTO checks (id, title, area, severity, remediation, rationale) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (id) DO UPDATE SET title = ?2, area = ?3, severity = ?4, remediation = ?5, rationale = ?6
                 WHERE title != ?2 OR area != ?3 OR severity != ?4 OR remediation != ?5 OR rationale != ?6",
                params![
                    finding.id,
                    finding.title,
                    finding.area,
                    severity,
                    finding.remediation,
                    finding.rationale
                ],
            )?;
        }
        let was_failing = previous.is_some_and(|p| p.status == "fail");
        let now_failing = status == "fail";
        if was_failing != now_failing {
            tx.prepare_cached_execute(
                "UPDATE checks SET failing_nodes = failing_nodes + ?2 WHERE id = ?1",
                params![finding.id, if now_failing { 1 } else { -1 }],
            )?;
        }
        let unchanged = previous.is_some_and(|p| {
            p.status == status
                && p.severity == severity
                && p.message == finding.message
                && p.evidence == evidence
        });
        if !unchanged {
            tx.prepare_cached_execute(
                "INSERT INTO node_checks (cluster, name, check_id, status, severity, message, evidence) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (cluster, name, check_id) DO UPDATE SET status = ?4, severity = ?5, message = ?6, evidence = ?7",
                params![cluster, name, finding.id, status, severity, finding.message, evidence],
            )?;
        }
    }
    tx.prepare_cached_execute(
        "INSERT INTO score_history (cluster, name, at, score, report_id) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![cluster, name, now, report.score.map(i64::from), report.id],
    )?;
    if let Some(score) = report.score {
        tx.prepare_cached_execute(
            "INSERT INTO fleet_daily (day, score_sum, reports) VALUES (?1, ?2, 1)
             ON CONFLICT (day) DO UPDATE SET score_sum = score_sum + ?2, reports = reports + 1",
            params![day_of(now), i64::from(score)],
        )?;
    }
    Ok(Ingested::Stored)
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
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TokenRow {
    pub id: i64,
    pub role: String,
    pub name: String,
    pub scope_cluster: Option<String>,
    pub scope_nodes: Option<String>,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked: bool,
}

const TOKEN_COLUMNS: &str =
    "id, role, name, scope_cluster, scope_nodes, created_at, expires_at, revoked_at";

impl TokenRow {
    fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TokenRow> {
        Ok(TokenRow {
            id: r.get(0)?,
            role: r.get(1)?,
            name: r.get(2)?,
            scope_cluster: r.get(3)?,
            scope_nodes: r.get(4)?,
            created_at: r.get(5)?,
            expires_at: r.get(6)?,
            revoked: r.get::<_, Option<i64>>(7)?.is_some(),
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
}
