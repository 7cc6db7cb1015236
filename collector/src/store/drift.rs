//! Drift from peers: where a node's judged settings differ from those of most nodes of its
//! cluster and peer group (its sorted roles), even where every value passes.
//!
//! Each node's settings (the report's `settings`, plus the host ports it listens on by
//! process) are kept as rows, and per cluster, peer group and setting the number of nodes
//! holding each value, both at ingest: a report changes the counts of the settings it changed
//! and nothing else. A node that goes stale is withdrawn from the counts (the fleet's old
//! machines must not outvote its new ones for good) and counted again when it reports.
//!
//! A setting drifts in a group when one value is held by more than half the group's nodes and
//! some nodes hold another (or lack the setting). A setting every node holds differently (a
//! node's own address) has no majority and is no drift.

use super::changes::{Comparable, decode};
use super::{STALE_SQL, Store, StoreError};
use crate::db::{Connection, DbError};
use crate::values;
use std::collections::BTreeMap;

/// What a kept value is found by: the first 16 bytes of its SHA-256 (a value may be more than
/// an index entry holds).
fn digest(value: &str) -> [u8; 16] {
    use sha2::Digest as _;
    let mut digest = [0; 16];
    digest.copy_from_slice(&sha2::Sha256::digest(value.as_bytes())[..16]);
    digest
}

/// The value of a setting absent from a node's report, as counts and the API name it.
pub const ABSENT: &str = "(absent)";

/// Per (cluster, peer group): nodes that joined (+) or left (-) the group's counts; per
/// (cluster, peer group, key, value): nodes that took up (+) or gave up (-) the value.
#[derive(Debug, Default)]
pub(super) struct DriftDeltas {
    pub groups: BTreeMap<(String, String), i64>,
    pub values: BTreeMap<(String, String, String, String), i64>,
    /// Settings that counted nodes changed in the batch, to tell of those that moved away
    /// from what most of their peers hold ([`moved_away`]).
    pub moved: Vec<Moved>,
}

/// A setting a counted node changed in its peer group.
#[derive(Debug, Clone)]
pub(super) struct Moved {
    cluster: String,
    group: String,
    node: String,
    key: String,
    /// Encoded values; [`ABSENT`] for none.
    from: String,
    to: String,
    report_id: String,
}

impl DriftDeltas {
    fn add(&mut self, cluster: &str, group: &str, key: &str, value: &str, change: i64) {
        *self
            .values
            .entry((cluster.into(), group.into(), key.into(), value.into()))
            .or_default() += change;
    }

    /// Written with the batch's other aggregates, in key order.
    pub(super) fn write(&self, tx: &mut Connection) -> Result<(), StoreError> {
        for ((cluster, group), delta) in &self.groups {
            if *delta != 0 {
                tx.execute(
                    "INSERT INTO drift_groups (cluster, peer_group, nodes) VALUES (?1, ?2, ?3)
                     ON CONFLICT (cluster, peer_group) DO UPDATE SET nodes = drift_groups.nodes + excluded.nodes",
                    &values![cluster, group, *delta],
                )?;
            }
        }
        for ((cluster, group, key, value), delta) in &self.values {
            let digest = digest(value);
            if *delta > 0 {
                tx.execute(
                    "INSERT INTO drift_values (cluster, peer_group, key, digest, value, nodes) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (cluster, peer_group, key, digest) DO UPDATE SET nodes = drift_values.nodes + excluded.nodes",
                    &values![cluster, group, key, &digest[..], value, *delta],
                )?;
            } else if *delta < 0 {
                tx.execute(
                    "UPDATE drift_values SET nodes = nodes + ?5
                     WHERE cluster = ?1 AND peer_group = ?2 AND key = ?3 AND digest = ?4",
                    &values![cluster, group, key, &digest[..], *delta],
                )?;
                // A value no node holds any more is forgotten: one node sending a new value
                // in every report must not grow the table forever.
                tx.execute(
                    "DELETE FROM drift_values
                     WHERE cluster = ?1 AND peer_group = ?2 AND key = ?3 AND digest = ?4 AND nodes <= 0",
                    &values![cluster, group, key, &digest[..]],
                )?;
            }
        }
        Ok(())
    }
}

/// Node `name` no longer holds `value` for `key`.
fn forget_holder(
    tx: &mut Connection,
    cluster: &str,
    key: &str,
    value: &str,
    name: &str,
) -> Result<(), StoreError> {
    tx.execute(
        "DELETE FROM node_settings WHERE cluster = ?1 AND key = ?2 AND digest = ?3 AND name = ?4",
        &values![cluster, key, &digest(value)[..], name],
    )?;
    Ok(())
}

/// A node's stored settings, key → encoded value (none for a node without kept state).
fn stored_settings(
    tx: &mut Connection,
    cluster: &str,
    name: &str,
) -> Result<BTreeMap<String, String>, StoreError> {
    let json: Option<String> = tx
        .query_opt(
            "SELECT settings FROM node_state WHERE cluster = ?1 AND name = ?2",
            &values![cluster, name],
        )?
        .map(|r| r.get(0))
        .transpose()?;
    Ok(json
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_default())
}

/// Brings a node's settings rows and its share of the counts to `report`. `counted_in`
/// is the peer group the node was counted in (`None`: new, or withdrawn as stale); `stored`
/// is `None` for a new node, else the settings its row keeps (`None` inside: a row from
/// before they were kept there, whose settings rows are read instead).
pub(super) fn record(
    tx: &mut Connection,
    report: &nodecheck_report::Report,
    counted_in: Option<&str>,
    stored: Option<Option<&str>>,
    now: &Comparable,
    deltas: &mut DriftDeltas,
) -> Result<(), StoreError> {
    let (cluster, name, report_id) = (
        report.node.cluster.as_str(),
        report.node.name.as_str(),
        report.id.as_str(),
    );
    let before: BTreeMap<String, String> = match stored {
        None => BTreeMap::new(),
        Some(Some(json)) => match serde_json::from_str(json) {
            Ok(settings) => settings,
            Err(_) => stored_settings(tx, cluster, name)?,
        },
        Some(None) => stored_settings(tx, cluster, name)?,
    };
    let group = now.peer_group.as_str();
    // Counted in the same group: only the values that changed move.
    let same_group = counted_in == Some(group);
    if let Some(old) = counted_in.filter(|_| !same_group) {
        *deltas
            .groups
            .entry((cluster.into(), old.into()))
            .or_default() -= 1;
        for (key, value) in &before {
            deltas.add(cluster, old, key, value, -1);
        }
    }
    if !same_group {
        *deltas
            .groups
            .entry((cluster.into(), group.into()))
            .or_default() += 1;
    }
    for (key, value) in &now.settings {
        let changed = before.get(key) != Some(value);
        if !same_group {
            deltas.add(cluster, group, key, value, 1);
        } else if changed {
            if let Some(old_value) = before.get(key) {
                deltas.add(cluster, group, key, old_value, -1);
            }
            deltas.add(cluster, group, key, value, 1);
        }
        if changed {
            if let Some(old_value) = before.get(key) {
                forget_holder(tx, cluster, key, old_value, name)?;
            }
            tx.execute(
                "INSERT INTO node_settings (cluster, key, digest, name) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT DO NOTHING",
                &values![cluster, key, &digest(value)[..], name],
            )?;
        }
    }
    for (key, value) in &before {
        if !now.settings.contains_key(key) {
            if same_group {
                deltas.add(cluster, group, key, value, -1);
            }
            forget_holder(tx, cluster, key, value, name)?;
        }
    }
    // A node counted in the same group before: what it changed may set it apart.
    if counted_in == Some(group) {
        let keys: std::collections::BTreeSet<&String> =
            before.keys().chain(now.settings.keys()).collect();
        for key in keys {
            let (from, to) = (before.get(key), now.settings.get(key));
            if from != to {
                deltas.moved.push(Moved {
                    cluster: cluster.into(),
                    group: group.into(),
                    node: name.into(),
                    key: key.clone(),
                    from: from.map_or(ABSENT, String::as_str).into(),
                    to: to.map_or(ABSENT, String::as_str).into(),
                    report_id: report_id.into(),
                });
            }
        }
    }
    // Values counted out and in again (most of them) cancel in the batch's deltas.
    Ok(())
}

/// Drift events: of the settings nodes changed (counts already written), those where a node
/// left the value more than half its peer group holds for another.
pub(super) fn moved_away(
    tx: &mut Connection,
    moved: &[Moved],
    now: i64,
) -> Result<Vec<crate::webhooks::Event>, StoreError> {
    let mut events = Vec::new();
    for m in moved {
        let group_nodes: i64 = match tx.query_opt(
            "SELECT nodes FROM drift_groups WHERE cluster = ?1 AND peer_group = ?2",
            &values![&m.cluster, &m.group],
        )? {
            Some(row) => row.get(0)?,
            None => continue,
        };
        let rows = tx.query(
            "SELECT value, nodes FROM drift_values WHERE cluster = ?1 AND peer_group = ?2 AND key = ?3",
            &values![&m.cluster, &m.group, &m.key],
        )?;
        let mut counts: Vec<(String, i64)> = rows
            .iter()
            .map(|r| Ok((r.get(0)?, r.get(1)?)))
            .collect::<Result<_, DbError>>()?;
        let holding: i64 = counts.iter().map(|(_, n)| n).sum();
        counts.push((ABSENT.to_string(), group_nodes - holding));
        let Some((majority, nodes)) = counts.iter().max_by_key(|(_, n)| *n).cloned() else {
            continue;
        };
        // Told only when the node leaves a value most of its peers hold for another: not
        // for a setting most peers lack (a node's agent newer than theirs reports settings
        // they do not yet; a hostile node invents keys), and at most a few per report.
        if nodes * 2 <= group_nodes
            || m.from != majority
            || m.to == majority
            || majority == ABSENT
            || m.from == ABSENT
        {
            continue;
        }
        let told = events
            .iter()
            .filter(|e: &&crate::webhooks::Event| {
                e.report_id.as_deref() == Some(m.report_id.as_str()) && e.node == m.node
            })
            .count();
        if told >= 10 {
            continue;
        }
        events.push(crate::webhooks::Event {
            kind: crate::webhooks::event::DRIFT,
            cluster: m.cluster.clone(),
            node: m.node.clone(),
            at: now,
            subject: m.key.clone(),
            severity: None,
            before: shown(&m.from),
            after: shown(&m.to),
            detail: format!(
                "{nodes} of {group_nodes} {} nodes hold {}",
                m.group,
                shown(&majority).unwrap_or_else(|| "unset".into())
            ),
            report_id: Some(m.report_id.clone()),
            drop: None,
        });
    }
    Ok(events)
}

/// One value of a drifting setting and the nodes holding it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DriftValue {
    /// The value; `null` when judged unset, `"(absent)"` when nodes lack the setting.
    pub value: Option<String>,
    pub nodes: i64,
    /// Some of the nodes holding it (for the minority values), by name.
    pub examples: Vec<String>,
}

/// A setting on which some nodes of a peer group differ from the majority.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DriftRow {
    pub cluster: String,
    /// The peer group: the nodes' sorted roles (`worker`, `control-plane,worker`).
    pub peer_group: String,
    pub setting: String,
    /// Counted nodes of the group.
    pub group_nodes: i64,
    pub majority: DriftValue,
    /// The other values, most held first.
    pub minority: Vec<DriftValue>,
    /// Nodes not holding the majority value.
    pub differing: i64,
}

/// Filters of the drift list.
#[derive(Debug, Clone, Default)]
pub struct DriftFilter {
    pub cluster: Option<String>,
    /// Peer groups holding this role.
    pub role: Option<String>,
    /// Settings whose key begins so (`kubelet:`, `sshd:PermitRootLogin`).
    pub setting: Option<String>,
    /// Drift of this node only: the settings where it holds a minority value.
    pub node: Option<String>,
    pub limit: usize,
}

/// The nodes of one peer group holding each value of one setting, most held first.
struct Tally {
    cluster: String,
    group: String,
    key: String,
    group_nodes: i64,
    values: Vec<(String, i64)>,
}

impl Tally {
    /// The tally with the nodes lacking the setting counted as [`ABSENT`], when it drifts: a
    /// value held by more than half the group, and some node holding another.
    fn drifting(mut self) -> Option<Tally> {
        let holding: i64 = self.values.iter().map(|(_, n)| n).sum();
        if holding < self.group_nodes {
            self.values
                .push((ABSENT.to_string(), self.group_nodes - holding));
            self.values
                .sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        }
        let majority = self.values.first()?.1;
        (majority * 2 > self.group_nodes && self.values.len() > 1).then_some(self)
    }

    /// Nodes not holding the majority value.
    fn differing(&self) -> i64 {
        self.group_nodes - self.values.first().map_or(0, |v| v.1)
    }
}

/// Other values listed per drifting setting.
const MINORITY_VALUES: usize = 10;

/// Example nodes named per minority value.
const EXAMPLES: i64 = 5;

/// A setting's value as the API shows it.
fn shown(encoded: &str) -> Option<String> {
    if encoded == ABSENT {
        Some(ABSENT.to_string())
    } else {
        decode(encoded)
    }
}

impl Store {
    /// Settings on which nodes differ from the majority of their peers, most differing
    /// nodes first.
    pub fn drift(&self, filter: &DriftFilter) -> Result<Vec<DriftRow>, StoreError> {
        let mut connection = self.read()?;
        // For one node's drift: its group and its values.
        let node_view = match (&filter.node, &filter.cluster) {
            (Some(node), Some(cluster)) => {
                let group: Option<String> = connection
                    .query_opt(
                        "SELECT peer_group FROM nodes WHERE cluster = ?1 AND name = ?2",
                        &values![cluster, node],
                    )?
                    .map(|r| r.get(0))
                    .transpose()?
                    .flatten();
                match group {
                    Some(group) => Some((group, stored_settings(&mut connection, cluster, node)?)),
                    // Not counted (stale, or never reported): it differs from no one.
                    None => return Ok(Vec::new()),
                }
            }
            _ => None,
        };
        let mut sql = String::from(
            "SELECT v.cluster, v.peer_group, v.key, v.value, v.nodes, g.nodes
             FROM drift_values v JOIN drift_groups g ON g.cluster = v.cluster AND g.peer_group = v.peer_group
             WHERE v.nodes > 0",
        );
        let mut params: Vec<crate::db::Value<'_>> = Vec::new();
        if let Some(cluster) = &filter.cluster {
            params.push(cluster.as_str().into());
            sql.push_str(&format!(" AND v.cluster = ?{}", params.len()));
        }
        if let Some((group, _)) = &node_view {
            // One node's drift: its own group only.
            params.push(group.as_str().into());
            sql.push_str(&format!(" AND v.peer_group = ?{}", params.len()));
        }
        if let Some(setting) = &filter.setting {
            // A prefix, compared bytewise (no LIKE: `_` and `%` are common in keys).
            params.push(setting.as_str().into());
            let at = params.len();
            sql.push_str(&format!(" AND substr(v.key, 1, length(?{at})) = ?{at}"));
        }
        sql.push_str(" ORDER BY v.cluster, v.peer_group, v.key, v.nodes DESC, v.value");
        let rows = connection.query(&sql, &params)?;
        let mut settings: Vec<Tally> = Vec::new();
        for row in &rows {
            let (cluster, group, key): (String, String, String) =
                (row.get(0)?, row.get(1)?, row.get(2)?);
            let (value, nodes, group_nodes): (String, i64, i64) =
                (row.get(3)?, row.get(4)?, row.get(5)?);
            if let Some(role) = &filter.role
                && !group.split(',').any(|r| r == role)
            {
                continue;
            }
            match settings.last_mut() {
                Some(last)
                    if (&last.cluster, &last.group, &last.key) == (&cluster, &group, &key) =>
                {
                    last.values.push((value, nodes))
                }
                _ => settings.push(Tally {
                    cluster,
                    group,
                    key,
                    group_nodes,
                    values: vec![(value, nodes)],
                }),
            }
        }
        let mut drifting: Vec<Tally> = settings.into_iter().filter_map(Tally::drifting).collect();
        drifting.sort_by(|a, b| {
            b.differing()
                .cmp(&a.differing())
                .then_with(|| (&a.cluster, &a.group, &a.key).cmp(&(&b.cluster, &b.group, &b.key)))
        });
        let mut out = Vec::new();
        for tally in drifting {
            if out.len() >= filter.limit {
                break;
            }
            let Tally {
                cluster,
                group,
                key,
                group_nodes,
                values,
            } = tally;
            let Some((majority, majority_nodes)) = values.first().cloned() else {
                continue;
            };
            if let Some((node_group, node_settings)) = &node_view {
                let held = node_settings.get(&key).map_or(ABSENT, String::as_str);
                if *node_group != group || held == majority {
                    continue;
                }
            }
            let mut minority = Vec::new();
            // The values most held after the majority; a setting every other node holds
            // differently (a path, an address) would otherwise list the whole group.
            for (value, nodes) in values.into_iter().skip(1).take(MINORITY_VALUES) {
                minority.push(DriftValue {
                    value: shown(&value),
                    nodes,
                    examples: minority_nodes(
                        &mut connection,
                        &cluster,
                        &group,
                        &key,
                        &value,
                        EXAMPLES,
                    )?,
                });
            }
            out.push(DriftRow {
                cluster,
                peer_group: group,
                setting: key,
                group_nodes,
                differing: group_nodes - majority_nodes,
                majority: DriftValue {
                    value: shown(&majority),
                    nodes: majority_nodes,
                    examples: Vec::new(),
                },
                minority,
            });
        }
        Ok(out)
    }

    /// Withdraws stale nodes (three intervals without a report) from the drift counts; a node
    /// that reports again is counted again. Returns how many nodes were withdrawn.
    pub fn withdraw_stale_drift(&self, now: i64) -> Result<usize, StoreError> {
        let stale = format!(
            "SELECT cluster, name, peer_group FROM nodes WHERE peer_group IS NOT NULL AND ({})
             ORDER BY cluster, name LIMIT 1000",
            STALE_SQL.replace("?now", "?1")
        );
        let mut total = 0;
        loop {
            let withdrawn = self.lock()?.transaction(|tx| {
                let rows = super::stale_rows_locked(tx, &stale, &values![now])?;
                let mut deltas = DriftDeltas::default();
                for row in &rows {
                    let (cluster, name, group): (String, String, String) =
                        (row.get(0)?, row.get(1)?, row.get(2)?);
                    *deltas
                        .groups
                        .entry((cluster.clone(), group.clone()))
                        .or_default() -= 1;
                    for (key, value) in stored_settings(tx, &cluster, &name)? {
                        deltas.add(&cluster, &group, &key, &value, -1);
                    }
                    tx.execute(
                        "UPDATE nodes SET peer_group = NULL WHERE cluster = ?1 AND name = ?2",
                        &values![&cluster, &name],
                    )?;
                }
                deltas.write(tx)?;
                Ok::<_, StoreError>(rows.len())
            })?;
            total += withdrawn;
            if withdrawn < 1000 {
                return Ok(total);
            }
        }
    }
}

/// Counted nodes of a group holding `value` for `key` (for [`ABSENT`]: lacking the key), by
/// name, `limit` at most.
fn minority_nodes(
    connection: &mut Connection,
    cluster: &str,
    group: &str,
    key: &str,
    value: &str,
    limit: i64,
) -> Result<Vec<String>, StoreError> {
    let rows = if value == ABSENT {
        connection.query(
            "SELECT n.name FROM nodes n WHERE n.cluster = ?1 AND n.peer_group = ?2
                AND NOT EXISTS (SELECT 1 FROM node_settings s WHERE s.cluster = n.cluster AND s.key = ?3 AND s.name = n.name)
             ORDER BY n.name LIMIT ?4",
            &values![cluster, group, key, limit],
        )?
    } else {
        connection.query(
            "SELECT s.name FROM node_settings s JOIN nodes n ON n.cluster = s.cluster AND n.name = s.name
             WHERE s.cluster = ?1 AND s.key = ?2 AND s.digest = ?3 AND n.peer_group = ?4
             ORDER BY s.name LIMIT ?5",
            &values![cluster, key, &digest(value)[..], group, limit],
        )?
    };
    rows.iter()
        .map(|r| r.get(0))
        .collect::<Result<_, DbError>>()
        .map_err(StoreError::from)
}
