//! Changes: what differs between a node's consecutive reports, found at ingest from the node's
//! stored state (never by reading old reports again) and kept for the retention period.
//!
//! A report is compared with what its node's row and check rows hold: the statuses of its
//! checks, its score, its agent and kubelet versions, the host listeners and the images of
//! containers that ship a shell. A report whose body is byte-for-byte the last one's (most of
//! them, on a quiet fleet) changes nothing and costs one comparison of hashes.
//!
//! Each change has a direction: `worse` (a check started failing or erring, the score fell, a
//! listener or an image with a shell appeared), `better` (the reverse) or `neutral` (versions,
//! a node's first report, a check no longer judged). The feed is read newest first by id, a
//! cursor being the last id seen.

use super::{Store, StoreError};
use crate::db::{Connection, DbError, Row};
use crate::values;
use nodecheck_report::Report;

/// Which way a change goes, for the node's security.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Worse,
    Better,
    Neutral,
}

impl Direction {
    pub const NAMES: &'static str = "worse, better, neutral";

    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Worse => "worse",
            Direction::Better => "better",
            Direction::Neutral => "neutral",
        }
    }

    pub fn parse(text: &str) -> Option<Direction> {
        match text {
            "worse" => Some(Direction::Worse),
            "better" => Some(Direction::Better),
            "neutral" => Some(Direction::Neutral),
            _ => None,
        }
    }

    /// From how bad a thing was to how bad it is.
    fn of(before: i64, after: i64) -> Direction {
        match after.cmp(&before) {
            std::cmp::Ordering::Greater => Direction::Worse,
            std::cmp::Ordering::Less => Direction::Better,
            std::cmp::Ordering::Equal => Direction::Neutral,
        }
    }
}

/// What changed: the kinds of change, as stored and filtered on.
pub mod kind {
    /// A check's status (`subject` is its id).
    pub const CHECK: &str = "check";
    pub const SCORE: &str = "score";
    /// A host listener (`tcp 0.0.0.0:10255 (kubelet)`).
    pub const LISTENER: &str = "listener";
    /// An image of a container that ships a shell.
    pub const SHELL_IMAGE: &str = "shell-image";
    pub const AGENT_VERSION: &str = "agent-version";
    pub const KUBELET_VERSION: &str = "kubelet-version";
    /// A node's first report.
    pub const NODE: &str = "node";
}

/// One change of one node, as ingest finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Change {
    pub kind: &'static str,
    pub subject: String,
    /// The check's severity, for a check's change.
    pub severity: Option<String>,
    pub direction: Direction,
    pub before: Option<String>,
    pub after: Option<String>,
    /// One line: the finding's message now, or what the change means.
    pub detail: String,
}

/// Which way a check's status moved: to `fail` or to `error` is worse (what cannot be verified
/// is not credited, and a check that stops being verifiable is to be looked at, even after a
/// failure); from either to a pass, an inapplicable or a waived check is better.
fn check_direction(before: &str, after: &str) -> Direction {
    let bad = |status: &str| matches!(status, "fail" | "error");
    match (bad(before), after) {
        (_, "fail" | "error") => Direction::Worse,
        (true, _) => Direction::Better,
        (false, _) => Direction::Neutral,
    }
}

/// A check's status went from `before` (`None`: the node did not report the check) to
/// `after` (`None`: it no longer does). A check that appears passing is no change.
pub(super) fn check_change(
    id: &str,
    severity: &str,
    before: Option<&str>,
    after: Option<&str>,
    message: &str,
) -> Option<Change> {
    let direction = match (before, after) {
        (Some(b), Some(a)) if b == a => return None,
        (Some(b), Some(a)) => check_direction(b, a),
        (None, Some(a)) if !matches!(a, "fail" | "error") => return None,
        (None, Some(_)) => Direction::Worse,
        (Some(_), None) => Direction::Neutral,
        (None, None) => return None,
    };
    let detail = match after {
        Some(_) => message.to_string(),
        None => "no longer reported (the profile or the agent changed)".to_string(),
    };
    Some(Change {
        kind: kind::CHECK,
        subject: id.to_string(),
        severity: Some(severity.to_string()),
        direction,
        before: before.map(str::to_string),
        after: after.map(str::to_string),
        detail,
    })
}

/// What a report says that its next report is compared with, computed where the report is
/// parsed (in parallel), not in the single writer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comparable {
    /// Host listeners, `tcp 0.0.0.0:10255 (kubelet)`, sorted, as JSON.
    pub listeners: String,
    /// Images of containers with a shell, sorted, as JSON.
    pub shell_images: String,
    /// The peer group its settings are counted in: the sorted roles.
    pub peer_group: String,
    /// Judged settings and host ports: one set, shared by every report holding the same.
    pub set: std::sync::Arc<SettingSet>,
}

/// The first port of Linux's default ephemeral range (`ip_local_port_range` 32768–60999).
const EPHEMERAL_PORTS: u16 = 32_768;

fn is_loopback(address: &str) -> bool {
    address
        .parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

/// A host listener as a change and a setting name it: protocol, address and port, and the
/// processes holding it.
fn listener_line(listener: &nodecheck_report::Listener) -> String {
    let address = if listener.address.contains(':') {
        format!("[{}]", listener.address)
    } else {
        listener.address.clone()
    };
    format!(
        "{} {address}:{} ({})",
        listener.protocol,
        listener.port,
        holders(listener)
    )
}

/// The names of the processes holding a listener, sorted, without repeats.
fn holders(listener: &nodecheck_report::Listener) -> String {
    let mut names: Vec<&str> = listener.processes.iter().map(|p| p.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    if names.is_empty() {
        "no process named".into()
    } else {
        names.join(", ")
    }
}

impl Comparable {
    pub fn of(report: &Report) -> Comparable {
        // Host listeners others can reach on a port that is configured: loopback listeners
        // and ephemeral ports (a runtime's streaming server on a random 127.0.0.1 port) change
        // with every restart and would be noise in the feed and in drift.
        let host = || {
            report.inventory.listeners.iter().filter(|l| {
                l.netns == "host" && l.port < EPHEMERAL_PORTS && !is_loopback(&l.address)
            })
        };
        let mut listeners: Vec<String> = host().map(listener_line).collect();
        listeners.sort_unstable();
        listeners.dedup();
        let mut images: Vec<&str> = report
            .inventory
            .containers
            .iter()
            .filter(|c| c.shell.is_some())
            .filter_map(|c| c.image.as_deref())
            .collect();
        images.sort_unstable();
        images.dedup();
        let mut roles: Vec<&str> = report.node.roles.iter().map(|r| r.as_str()).collect();
        roles.sort_unstable();
        roles.dedup();
        // Listening ports by process: `ports:tcp/10250` → `kubelet`. The address is left out
        // (nodes listen on their own IPs); a port some peers do not listen on shows as absent.
        let mut holders_of: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for listener in host() {
            holders_of
                .entry(format!("ports:{}/{}", listener.protocol, listener.port))
                .or_default()
                .push(holders(listener));
        }
        let ports: std::collections::BTreeMap<String, String> = holders_of
            .into_iter()
            .map(|(key, mut holders)| {
                holders.sort_unstable();
                holders.dedup();
                (key, encode(Some(&holders.join("; "))))
            })
            .collect();
        Comparable {
            set: SettingSet::of(&report.settings, ports),
            listeners: serde_json::to_string(&listeners).unwrap_or_default(),
            shell_images: serde_json::to_string(&images).unwrap_or_default(),
            peer_group: roles.join(","),
        }
    }
}

/// One distinct set of a node's judged settings and host ports, as kept (once for every node
/// holding it) and counted. Most reports of a fleet hold one of a few sets, so a set is made
/// once and shared by the reports holding it ([`SettingSet::of`]).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SettingSet {
    /// Key → JSON-encoded value ([`encode`]).
    pub settings: std::collections::BTreeMap<String, String>,
    /// `settings` as one JSON object.
    pub json: String,
    /// What the set is kept by: the first 16 bytes of the SHA-256 of `json`.
    pub hash: [u8; 16],
    /// `settings` as digests, for finding the nodes that hold a value
    /// ([`drift::member_digests`](super::drift::member_digests)).
    pub digests: Vec<u8>,
}

/// Sets remembered for reports to come ([`SettingSet::of`]), and the memory they may take.
const REMEMBERED_SETS: usize = 4096;
const REMEMBERED_BYTES: usize = 32 << 20;

impl SettingSet {
    /// The set of a report's `settings` and host `ports` (ports win over a setting of the same
    /// key). A set met before is taken from those remembered, by a SHA-256 of its entries
    /// (counted and length-prefixed, so that no two sets feed it the same bytes), instead of
    /// being encoded, serialized and digested again.
    pub fn of(
        settings: &std::collections::BTreeMap<String, Option<String>>,
        ports: std::collections::BTreeMap<String, String>,
    ) -> std::sync::Arc<SettingSet> {
        use sha2::Digest;
        type Remembered = (
            std::collections::HashMap<[u8; 32], std::sync::Arc<SettingSet>>,
            usize,
        );
        static REMEMBERED: std::sync::Mutex<Option<Remembered>> = std::sync::Mutex::new(None);
        let own = || settings.iter().filter(|(key, _)| !ports.contains_key(*key));
        let mut hasher = sha2::Sha256::new();
        let mut feed = |text: &str| {
            hasher.update((text.len() as u64).to_le_bytes());
            hasher.update(text.as_bytes());
        };
        feed(&own().count().to_string());
        for (key, value) in own() {
            feed(key);
            match value {
                Some(value) => {
                    feed("some");
                    feed(value);
                }
                None => feed("none"),
            }
        }
        for (key, value) in &ports {
            feed(key);
            feed(value);
        }
        let fingerprint: [u8; 32] = hasher.finalize().into();
        // What is remembered is derived data: a thread that panicked holding it left it whole.
        let lock = || {
            REMEMBERED
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        if let Some(set) = lock()
            .as_ref()
            .and_then(|(sets, _)| sets.get(&fingerprint).cloned())
        {
            return set;
        }
        let mut all: std::collections::BTreeMap<String, String> = own()
            .map(|(key, value)| (key.clone(), encode(value.as_deref())))
            .collect();
        all.extend(ports);
        let json = serde_json::to_string(&all).unwrap_or_default();
        let set = std::sync::Arc::new(SettingSet {
            hash: super::drift::digest(&json),
            digests: super::drift::member_digests(&all),
            settings: all,
            json,
        });
        // What the set takes: its texts twice (map and JSON), its digests, and the map's and
        // the cache's own bookkeeping per entry.
        let size = 2 * set.json.len() + set.digests.len() + 96 * set.settings.len() + 256;
        let mut remembered = lock();
        let (sets, bytes) = remembered.get_or_insert_with(Default::default);
        // Nodes each holding a set of their own would fill it: it starts again.
        if sets.len() >= REMEMBERED_SETS || *bytes + size > REMEMBERED_BYTES {
            sets.clear();
            *bytes = 0;
        }
        *bytes += size;
        sets.insert(fingerprint, set.clone());
        drop(remembered);
        set
    }
}

/// A setting's value as kept: JSON, so that unset (`null`) is told from every string.
pub(super) fn encode(value: Option<&str>) -> String {
    serde_json::to_string(&value).unwrap_or_default()
}

/// A kept value shown: the string, or `None` for unset.
pub fn decode(value: &str) -> Option<String> {
    serde_json::from_str::<Option<String>>(value).ok().flatten()
}

/// What the node's row held before this report. Read in two steps: the small columns of
/// every report first, and the kept state ([`Before::load_state`]) only for a report whose
/// body differs from the last one's, so that the common, unchanged report reads no kilobytes
/// of settings.
#[derive(Debug, Clone)]
pub(super) struct Before {
    pub score: Option<i64>,
    /// The state hash ([`Incoming`](super::Incoming)'s) of the report its check rows and
    /// kept state are of; `None` for a node stored before it was kept.
    pub state_hash: Option<Vec<u8>>,
    pub agent_version: String,
    pub kubelet_version: Option<String>,
    /// The peer group its settings are counted in; `None` when they are not (withdrawn as
    /// stale).
    pub peer_group: Option<String>,
    /// The kept state, once loaded.
    pub state: Option<State>,
}

/// A node's kept comparison state (its `node_state` row).
#[derive(Debug, Clone)]
pub(super) struct State {
    pub listeners: String,
    pub shell_images: String,
    /// The set of settings it holds ([`Comparable::settings_set`]; `None`: none kept), and
    /// that set as one JSON object when it is stored (a set an earlier report of the same
    /// batch took up is stored only when the batch ends: see `DriftDeltas::pending_set`).
    pub settings_set: Option<Vec<u8>>,
    pub settings: Option<String>,
}

pub(super) const BEFORE_SQL: &str =
    "SELECT score, state_hash, agent_version, kubelet_version, peer_group
     FROM nodes WHERE cluster = ?1 AND name = ?2";

impl Before {
    pub(super) fn from_row(row: &Row) -> Result<Before, DbError> {
        Ok(Before {
            score: row.get(0)?,
            state_hash: row.get(1)?,
            agent_version: row.get(2)?,
            kubelet_version: row.get(3)?,
            peer_group: row.get(4)?,
            state: None,
        })
    }

    /// Reads the node's kept state, when it has one.
    pub(super) fn load_state(
        &mut self,
        tx: &mut Connection,
        cluster: &str,
        name: &str,
    ) -> Result<(), DbError> {
        if self.state.is_some() {
            return Ok(());
        }
        let row = tx.query_opt(
            "SELECT s.listeners, s.shell_images, s.settings_set, t.settings
             FROM node_state s LEFT JOIN setting_sets t ON t.hash = s.settings_set
             WHERE s.cluster = ?1 AND s.name = ?2",
            &values![cluster, name],
        )?;
        if let Some(row) = row {
            self.state = Some(State {
                listeners: row.get(0)?,
                shell_images: row.get(1)?,
                settings_set: row.get(2)?,
                settings: row.get(3)?,
            });
        }
        Ok(())
    }
}

/// Items of one JSON list that the other lacks, each way: (gone, new).
fn set_difference(before: &str, after: &str) -> (Vec<String>, Vec<String>) {
    let parse = |text: &str| -> std::collections::BTreeSet<String> {
        serde_json::from_str::<Vec<String>>(text)
            .unwrap_or_default()
            .into_iter()
            .collect()
    };
    let (before, after) = (parse(before), parse(after));
    (
        before.difference(&after).cloned().collect(),
        after.difference(&before).cloned().collect(),
    )
}

/// The changes of the node as a whole (score, versions, listeners, images with a shell)
/// between `before` and this report; check changes are found where check rows are compared.
pub(super) fn node_changes(
    before: &Before,
    report: &Report,
    comparable: &Comparable,
    changes: &mut Vec<Change>,
) {
    let score = report.score.map(i64::from);
    if before.score != score {
        let direction = match (before.score, score) {
            // Lower is worse, so the badness is the negated score.
            (Some(b), Some(a)) => Direction::of(-b, -a),
            _ => Direction::Neutral,
        };
        let show = |s: Option<i64>| s.map_or("none".to_string(), |s| s.to_string());
        changes.push(Change {
            kind: kind::SCORE,
            subject: String::new(),
            severity: None,
            direction,
            before: before.score.map(|s| s.to_string()),
            after: score.map(|s| s.to_string()),
            detail: format!("score {} → {}", show(before.score), show(score)),
        });
    }
    // A node last seen by a collector from before changes were kept has nothing kept to
    // compare with: this report is its baseline.
    let versions = if before.state.is_none() {
        Vec::new()
    } else {
        vec![
            (
                kind::AGENT_VERSION,
                "agent",
                Some(before.agent_version.as_str()),
                Some(report.agent.version.as_str()),
            ),
            (
                kind::KUBELET_VERSION,
                "kubelet",
                before.kubelet_version.as_deref(),
                report.node.kubelet_version.as_deref(),
            ),
        ]
    };
    for (kind, what, was, is) in versions {
        if was != is {
            changes.push(Change {
                kind,
                subject: String::new(),
                severity: None,
                direction: Direction::Neutral,
                before: was.map(str::to_string),
                after: is.map(str::to_string),
                detail: format!(
                    "{what} {} → {}",
                    was.unwrap_or("unknown"),
                    is.unwrap_or("unknown")
                ),
            });
        }
    }
    // A node last seen by a collector from before changes were kept has no stored listeners or
    // images to compare with: this report is its baseline, not hundreds of "new" ones.
    let Some(state) = &before.state else {
        return;
    };
    for (kind, was, is, noun) in [
        (
            kind::LISTENER,
            &state.listeners,
            &comparable.listeners,
            "listener",
        ),
        (
            kind::SHELL_IMAGE,
            &state.shell_images,
            &comparable.shell_images,
            "container image with a shell",
        ),
    ] {
        if was == is {
            continue;
        }
        let (gone, new) = set_difference(was, is);
        for item in new {
            changes.push(Change {
                kind,
                detail: format!("new {noun}: {item}"),
                subject: item.clone(),
                severity: None,
                direction: Direction::Worse,
                before: None,
                after: Some(item),
            });
        }
        for item in gone {
            changes.push(Change {
                kind,
                detail: format!("{noun} gone: {item}"),
                subject: item.clone(),
                severity: None,
                direction: Direction::Better,
                before: Some(item),
                after: None,
            });
        }
    }
}

/// The change a node's first report is.
pub(super) fn first_report() -> Change {
    Change {
        kind: kind::NODE,
        subject: String::new(),
        severity: None,
        direction: Direction::Neutral,
        before: None,
        after: Some("reporting".into()),
        detail: "first report of this node".into(),
    }
}

/// The event a change is for webhooks, when it is one: a check that starts failing, a score
/// that falls (by how much, for each webhook's threshold).
pub(super) fn event_of(
    change: &Change,
    report: &Report,
    now: i64,
) -> Option<crate::webhooks::Event> {
    use crate::webhooks::event;
    let kind = match change.kind {
        // A check the node judged before (a check new in an agent release failing on every
        // node as it upgrades is no regression).
        kind::CHECK
            if change.direction == Direction::Worse
                && change.after.as_deref() == Some("fail")
                && change.before.is_some() =>
        {
            event::CHECK_FAILING
        }
        kind::SCORE if change.direction == Direction::Worse => event::SCORE_DROP,
        _ => return None,
    };
    let score = |s: &Option<String>| s.as_deref().and_then(|s| s.parse::<i64>().ok());
    // The severity a webhook filters on is the catalogue's for a check it knows, not the one a
    // node claims.
    let severity = match crate::catalogue::get(&change.subject) {
        Some(entry) if kind == event::CHECK_FAILING => Some(entry.severity.clone()),
        _ => change.severity.clone(),
    };
    Some(crate::webhooks::Event {
        kind,
        cluster: report.node.cluster.clone(),
        node: report.node.name.clone(),
        at: now,
        subject: crate::ingest::clip(&change.subject, TEXT_MAX),
        severity,
        before: change.before.clone(),
        after: change.after.clone(),
        detail: crate::ingest::clip(&change.detail, DETAIL_MAX),
        report_id: Some(report.id.clone()),
        drop: score(&change.before)
            .zip(score(&change.after))
            .map(|(b, a)| b - a),
    })
}

/// Changes of one kind kept per report; past them one more row says how many were left out.
/// A node flipping between two prepared reports must not fill the feed (a report may hold
/// thousands of findings, listeners and containers).
pub const CHANGES_PER_KIND: usize = 100;

/// Texts of a change (subject, values, detail) are cut to this many characters: they are
/// shown in lists and kept in indexes.
const TEXT_MAX: usize = 200;
const DETAIL_MAX: usize = 500;

/// Writes a node's changes found in one report: at most [`CHANGES_PER_KIND`] of each kind,
/// their texts cut short.
pub(super) fn write(
    tx: &mut Connection,
    report: &Report,
    now: i64,
    changes: &[Change],
) -> Result<(), StoreError> {
    let mut per_kind: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    let mut kept = Vec::with_capacity(changes.len().min(CHANGES_PER_KIND));
    for change in changes {
        let count = per_kind.entry(change.kind).or_default();
        *count += 1;
        if *count <= CHANGES_PER_KIND {
            kept.push(change.clone());
        }
    }
    for (kind, count) in per_kind {
        if count > CHANGES_PER_KIND {
            kept.push(Change {
                kind,
                subject: String::new(),
                severity: None,
                direction: Direction::Neutral,
                before: None,
                after: None,
                detail: format!(
                    "and {} more changes of this kind in report {} (the report has them all)",
                    count - CHANGES_PER_KIND,
                    report.id
                ),
            });
        }
    }
    let clip = |text: &str, max: usize| crate::ingest::clip(text, max);
    for change in &kept {
        let (subject, detail) = (
            clip(&change.subject, TEXT_MAX),
            clip(&change.detail, DETAIL_MAX),
        );
        let (before, after) = (
            change.before.as_deref().map(|t| clip(t, TEXT_MAX)),
            change.after.as_deref().map(|t| clip(t, TEXT_MAX)),
        );
        tx.execute(
            "INSERT INTO changes (at, cluster, node, report_id, kind, subject, severity, direction, before, after, detail)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            &values![
                now,
                &report.node.cluster,
                &report.node.name,
                &report.id,
                change.kind,
                &subject,
                change.severity.as_deref(),
                change.direction.as_str(),
                before.as_deref(),
                after.as_deref(),
                &detail
            ],
        )?;
    }
    Ok(())
}

/// A change as the feed lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChangeRow {
    pub id: i64,
    pub at: i64,
    pub cluster: String,
    pub node: String,
    pub report_id: String,
    pub kind: String,
    pub subject: String,
    pub severity: Option<String>,
    pub direction: String,
    pub before: Option<String>,
    pub after: Option<String>,
    pub detail: String,
}

/// Filters of the change feed; every one given must hold.
#[derive(Debug, Clone, Default)]
pub struct ChangeFilter {
    pub cluster: Option<String>,
    pub node: Option<String>,
    /// A check id: its changes alone.
    pub check: Option<String>,
    pub severity: Option<String>,
    pub direction: Option<Direction>,
    pub kind: Option<String>,
    /// Received at or after (Unix seconds).
    pub since: Option<i64>,
    /// Older than this id (the previous page's `next_cursor`).
    pub before_id: Option<i64>,
    pub limit: usize,
}

impl Store {
    /// The change feed, newest first.
    pub fn changes(&self, filter: &ChangeFilter) -> Result<Vec<ChangeRow>, StoreError> {
        let mut sql = String::from(
            "SELECT id, at, cluster, node, report_id, kind, subject, severity, direction, before, after, detail
             FROM changes WHERE 1 = 1",
        );
        let mut params: Vec<crate::db::Value<'_>> = Vec::new();
        let mut condition = |sql: &mut String, clause: &str, value: crate::db::Value<'static>| {
            params.push(value);
            sql.push_str(&format!(" AND {clause} ?{}", params.len()));
        };
        if let Some(cluster) = &filter.cluster {
            condition(&mut sql, "cluster =", cluster.clone().into());
        }
        if let Some(node) = &filter.node {
            condition(&mut sql, "node =", node.clone().into());
        }
        if let Some(check) = &filter.check {
            condition(
                &mut sql,
                "kind = 'check' AND subject =",
                check.clone().into(),
            );
        }
        if let Some(severity) = &filter.severity {
            condition(&mut sql, "severity =", severity.clone().into());
        }
        if let Some(direction) = filter.direction {
            condition(&mut sql, "direction =", direction.as_str().into());
        }
        if let Some(kind) = &filter.kind {
            condition(&mut sql, "kind =", kind.clone().into());
        }
        if let Some(since) = filter.since {
            condition(&mut sql, "at >=", since.into());
        }
        if let Some(before_id) = filter.before_id {
            condition(&mut sql, "id <", before_id.into());
        }
        params.push(i64::try_from(filter.limit).unwrap_or(i64::MAX).into());
        sql.push_str(&format!(" ORDER BY id DESC LIMIT ?{}", params.len()));
        let rows = self.read()?.query(&sql, &params)?;
        rows.iter()
            .map(|r| {
                Ok(ChangeRow {
                    id: r.get(0)?,
                    at: r.get(1)?,
                    cluster: r.get(2)?,
                    node: r.get(3)?,
                    report_id: r.get(4)?,
                    kind: r.get(5)?,
                    subject: r.get(6)?,
                    severity: r.get(7)?,
                    direction: r.get(8)?,
                    before: r.get(9)?,
                    after: r.get(10)?,
                    detail: r.get(11)?,
                })
            })
            .collect::<Result<_, DbError>>()
            .map_err(StoreError::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_of_settings_is_made_once_and_told_from_every_other() {
        let settings = |pairs: &[(&str, Option<&str>)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
                .collect::<std::collections::BTreeMap<_, _>>()
        };
        let ports = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<std::collections::BTreeMap<_, _>>()
        };
        let usual = settings(&[("kubelet:readOnlyPort", Some("0")), ("sshd:x", None)]);
        let first = SettingSet::of(&usual, ports(&[("ports:tcp/22", "\"sshd\"")]));
        let again = SettingSet::of(&usual, ports(&[("ports:tcp/22", "\"sshd\"")]));
        assert!(std::sync::Arc::ptr_eq(&first, &again), "remembered");
        assert_eq!(
            first.json,
            r#"{"kubelet:readOnlyPort":"\"0\"","ports:tcp/22":"\"sshd\"","sshd:x":"null"}"#
        );
        assert_eq!(first.hash, super::super::drift::digest(&first.json));
        // Unset is not the string "null"; a port wins over a setting that names it, and a
        // setting that says what a port would is the same set (what is held is compared, not
        // where it came from).
        let variants = [
            SettingSet::of(
                &settings(&[
                    ("kubelet:readOnlyPort", Some("0")),
                    ("sshd:x", Some("null")),
                ]),
                ports(&[("ports:tcp/22", "\"sshd\"")]),
            ),
            SettingSet::of(
                &settings(&[
                    ("kubelet:readOnlyPort", Some("0")),
                    ("sshd:x", None),
                    ("ports:tcp/22", Some("sshd")),
                ]),
                ports(&[]),
            ),
            SettingSet::of(
                &settings(&[
                    ("kubelet:readOnlyPort", Some("0")),
                    ("sshd:x", None),
                    ("ports:tcp/22", Some("forged")),
                ]),
                ports(&[("ports:tcp/22", "\"sshd\"")]),
            ),
        ];
        assert_ne!(variants[0].hash, first.hash);
        assert_eq!(variants[1].hash, first.hash);
        assert_eq!(variants[2].json, first.json, "the listener's port wins");
        assert_eq!(variants[2].hash, first.hash);
    }

    #[test]
    fn check_flips_have_directions() {
        let flip = |b, a| check_change("x", "high", b, a, "m").map(|c| c.direction);
        assert_eq!(flip(Some("pass"), Some("fail")), Some(Direction::Worse));
        assert_eq!(flip(Some("fail"), Some("pass")), Some(Direction::Better));
        assert_eq!(flip(Some("pass"), Some("error")), Some(Direction::Worse));
        assert_eq!(flip(Some("error"), Some("fail")), Some(Direction::Worse));
        assert_eq!(flip(Some("fail"), Some("error")), Some(Direction::Worse));
        assert_eq!(flip(Some("error"), Some("pass")), Some(Direction::Better));
        assert_eq!(flip(Some("fail"), Some("waived")), Some(Direction::Better));
        assert_eq!(
            flip(Some("pass"), Some("not_applicable")),
            Some(Direction::Neutral)
        );
        assert_eq!(flip(Some("fail"), Some("fail")), None);
        assert_eq!(flip(None, Some("pass")), None, "a new passing check");
        assert_eq!(flip(None, Some("fail")), Some(Direction::Worse));
        assert_eq!(flip(Some("fail"), None), Some(Direction::Neutral));
    }

    #[test]
    fn set_differences_each_way() {
        let (gone, new) = set_difference(r#"["a","b"]"#, r#"["b","c"]"#);
        assert_eq!((gone, new), (vec!["a".to_string()], vec!["c".to_string()]));
        let (gone, new) = set_difference("not json", r#"["c"]"#);
        assert_eq!((gone.len(), new), (0, vec!["c".to_string()]));
    }

    #[test]
    fn settings_values_tell_unset_from_strings() {
        assert_eq!(encode(None), "null");
        assert_eq!(encode(Some("null")), "\"null\"");
        assert_eq!(decode(&encode(Some("0"))), Some("0".into()));
        assert_eq!(decode(&encode(None)), None);
    }
}
