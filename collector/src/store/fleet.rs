//! Fleet queries: the summary, node lists (filtered, sorted, paged by cursor), one node with its
//! history and latest report, the checks with their failing nodes. Reads go through the
//! read-only connection on SQLite, so they never wait for ingest.

use super::{STALE_SQL, Store, StoreError, is_stale};
use crate::db::{DbError, Row, Value};
use crate::values;
use nodecheck_report::Report;

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

impl Store {
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
