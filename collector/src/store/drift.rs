//! Drift from peers: where a node's judged settings differ from those of most nodes of its
//! cluster and peer group (its sorted roles), even where every value passes.
//!
//! Each node's settings (the report's `settings`, plus the host ports it listens on by
//! process) are kept with its state, and per cluster, peer group and setting the number of
//! nodes holding each value, both at ingest: a report changes the counts of the settings it
//! changed and nothing else. Which nodes hold a minority value (the examples a drift row
//! names) is found when drift is read, from one row of setting digests per counted node
//! (`drift_members`): a node's first report writes one row, not one per setting. A node that goes stale is withdrawn from the counts (the fleet's old
//! machines must not outvote its new ones for good) and counted again when it reports.
//!
//! A setting drifts in a group when one value is held by more than half the group's nodes and
//! some nodes hold another (or lack the setting). A setting every node holds differently (a
//! node's own address) has no majority and is no drift.

use super::changes::{Comparable, SettingSet, decode};
use super::{STALE_SQL, Store, StoreError};
use crate::db::{Connection, DbError};
use crate::values;
use std::collections::BTreeMap;

/// What a kept value (or set of settings) is found by: the first 16 bytes of its SHA-256 (a
/// value may be more than an index entry holds).
pub(super) fn digest(value: &str) -> [u8; 16] {
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
    /// Cluster → peer group → key → value → change, in the order they are written. Nested so
    /// that counting a node's hundred settings copies no text that is already a key (a batch
    /// of first reports holds mostly the same keys and values).
    pub values: Nested<Nested<Nested<Nested<i64>>>>,
    /// Nodes counted anew with all their settings, by set of settings: most nodes of a group
    /// hold the same set, so a batch of first reports counts each set once, not each node's
    /// hundred values. Added to `values` when written.
    pub joined: std::collections::HashMap<[u8; 16], Joined>,
    /// Kept sets of settings that nodes took up (+) or gave up (-), by hash; with the set
    /// when some node took it up.
    pub sets: BTreeMap<[u8; 16], (i64, Option<std::sync::Arc<SettingSet>>)>,
    /// Settings that counted nodes changed in the batch, to tell of those that moved away
    /// from what most of their peers hold ([`moved_away`]).
    pub moved: Vec<Moved>,
}

/// A set of settings nodes were counted anew with, and in which groups.
#[derive(Debug)]
pub(super) struct Joined {
    set: std::sync::Arc<SettingSet>,
    /// (cluster, peer group, nodes).
    groups: Vec<(String, String, i64)>,
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

/// A map by text, looked up without copying the text.
type Nested<V> = BTreeMap<String, V>;

/// Runs `change` on the entry of `key` in `map`, made when missing.
fn with_entry<V: Default, R>(
    map: &mut Nested<V>,
    key: &str,
    change: impl FnOnce(&mut V) -> R,
) -> R {
    if let Some(entry) = map.get_mut(key) {
        return change(entry);
    }
    let mut entry = V::default();
    let result = change(&mut entry);
    map.insert(key.to_string(), entry);
    result
}

impl DriftDeltas {
    fn add(&mut self, cluster: &str, group: &str, key: &str, value: &str, change: i64) {
        with_entry(&mut self.values, cluster, |groups| {
            with_entry(groups, group, |keys| {
                with_entry(keys, key, |values| {
                    with_entry(values, value, |nodes| *nodes += change)
                })
            })
        });
    }

    /// The value counts' changes: cluster, peer group, key, value and change, in that order.
    fn value_changes(&self) -> impl Iterator<Item = (&str, &str, &str, &str, i64)> {
        self.values.iter().flat_map(|(cluster, groups)| {
            groups.iter().flat_map(move |(group, keys)| {
                keys.iter().flat_map(move |(key, values)| {
                    values.iter().map(move |(value, change)| {
                        (
                            cluster.as_str(),
                            group.as_str(),
                            key.as_str(),
                            value.as_str(),
                            *change,
                        )
                    })
                })
            })
        })
    }

    /// Counts a node anew with every setting of `now`, in `group`.
    fn join(&mut self, cluster: &str, group: &str, now: &Comparable) {
        let joined = self.joined.entry(now.set.hash).or_insert_with(|| Joined {
            set: now.set.clone(),
            groups: Vec::new(),
        });
        match joined
            .groups
            .iter_mut()
            .find(|(c, g, _)| c == cluster && g == group)
        {
            Some((_, _, nodes)) => *nodes += 1,
            None => joined.groups.push((cluster.into(), group.into(), 1)),
        }
    }

    /// The JSON of a set of settings a report of this batch took up (stored when the batch
    /// ends), for a later report of the same node in the batch.
    pub(super) fn pending_set(&self, set: &[u8]) -> Option<String> {
        let set = <[u8; 16]>::try_from(set).ok()?;
        let (_, taken_up) = self.sets.get(&set)?;
        taken_up.as_ref().map(|set| set.json.clone())
    }

    /// A node's kept state moves from the set of settings `from` to `to`'s.
    pub(super) fn keep_set(&mut self, from: Option<&[u8]>, to: &Comparable) {
        if let Some(from) = from.and_then(|f| <[u8; 16]>::try_from(f).ok()) {
            self.sets.entry(from).or_default().0 -= 1;
        }
        let entry = self.sets.entry(to.set.hash).or_default();
        entry.0 += 1;
        entry.1.get_or_insert_with(|| to.set.clone());
    }

    /// Written with the batch's other aggregates, in key order.
    pub(super) fn write(&mut self, tx: &mut Connection) -> Result<(), StoreError> {
        for (hash, (change, set)) in &self.sets {
            match set {
                Some(set) if *change > 0 => {
                    tx.execute(
                        "INSERT INTO setting_sets (hash, settings, digests, nodes) VALUES (?1, ?2, ?3, ?4)
                         ON CONFLICT (hash) DO UPDATE SET nodes = setting_sets.nodes + excluded.nodes",
                        &values![&hash[..], &set.json, &set.digests[..], *change],
                    )?;
                }
                _ if *change < 0 => {
                    tx.execute(
                        "UPDATE setting_sets SET nodes = nodes + ?2 WHERE hash = ?1",
                        &values![&hash[..], *change],
                    )?;
                    // A set no node holds any more is forgotten.
                    tx.execute(
                        "DELETE FROM setting_sets WHERE hash = ?1 AND nodes <= 0",
                        &values![&hash[..]],
                    )?;
                }
                _ => {}
            }
        }
        for joined in std::mem::take(&mut self.joined).into_values() {
            for (cluster, group, nodes) in &joined.groups {
                for (key, value) in &joined.set.settings {
                    self.add(cluster, group, key, value, *nodes);
                }
            }
        }
        for ((cluster, group), delta) in &self.groups {
            if *delta != 0 {
                tx.execute(
                    "INSERT INTO drift_groups (cluster, peer_group, nodes) VALUES (?1, ?2, ?3)
                     ON CONFLICT (cluster, peer_group) DO UPDATE SET nodes = drift_groups.nodes + excluded.nodes",
                    &values![cluster, group, *delta],
                )?;
            }
        }
        for (cluster, group, key, value, delta) in self.value_changes() {
            let digest = digest(value);
            if delta > 0 {
                tx.execute(
                    "INSERT INTO drift_values (cluster, peer_group, key, digest, value, nodes) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (cluster, peer_group, key, digest) DO UPDATE SET nodes = drift_values.nodes + excluded.nodes",
                    &values![cluster, group, key, &digest[..], value, delta],
                )?;
            } else if delta < 0 {
                tx.execute(
                    "UPDATE drift_values SET nodes = nodes + ?5
                     WHERE cluster = ?1 AND peer_group = ?2 AND key = ?3 AND digest = ?4",
                    &values![cluster, group, key, &digest[..], delta],
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

/// A node's stored settings, key → encoded value (none for a node without kept state).
fn stored_settings(
    tx: &mut Connection,
    cluster: &str,
    name: &str,
) -> Result<BTreeMap<String, String>, StoreError> {
    let json: Option<String> = tx
        .query_opt(
            "SELECT t.settings FROM node_state s JOIN setting_sets t ON t.hash = s.settings_set
             WHERE s.cluster = ?1 AND s.name = ?2",
            &values![cluster, name],
        )?
        .map(|r| r.get(0))
        .transpose()?;
    Ok(json
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_default())
}

/// Bytes of one entry of a node's setting digests: the first 8 bytes of the SHA-256 of the
/// key, then of the encoded value.
const MEMBER_ENTRY: usize = 16;

/// A short digest of a key or an encoded value, for [`member_digests`].
fn short_digest(text: &str) -> [u8; 8] {
    let mut short = [0; 8];
    short.copy_from_slice(&digest(text)[..8]);
    short
}

/// A node's settings as the drift examples search them: one [`MEMBER_ENTRY`] per setting,
/// sorted by key digest, so that whether a node holds a value is a binary search in a
/// kilobyte or two, kept in one row per node, rather than a row per setting and node (which
/// cost a node's first report a hundred index inserts). 64 bits each way leave a second
/// preimage of another node's key or value out of reach: a node cannot pass for holding a
/// value it does not.
pub(super) fn member_digests(settings: &BTreeMap<String, String>) -> Vec<u8> {
    let mut entries: Vec<[u8; MEMBER_ENTRY]> = settings
        .iter()
        .map(|(key, value)| {
            let mut entry = [0; MEMBER_ENTRY];
            entry[..8].copy_from_slice(&short_digest(key));
            entry[8..].copy_from_slice(&short_digest(value));
            entry
        })
        .collect();
    entries.sort_unstable();
    entries.concat()
}

/// The value digest a node's [`member_digests`] hold for a key digest, if any.
fn held_value(digests: &[u8], key: &[u8; 8]) -> Option<[u8; 8]> {
    let entries = digests.len() / MEMBER_ENTRY;
    let entry = |i: usize| &digests[i * MEMBER_ENTRY..(i + 1) * MEMBER_ENTRY];
    let (mut low, mut high) = (0, entries);
    while low < high {
        let middle = low + (high - low) / 2;
        match entry(middle)[..8].cmp(&key[..]) {
            std::cmp::Ordering::Less => low = middle + 1,
            std::cmp::Ordering::Greater => high = middle,
            std::cmp::Ordering::Equal => {
                let mut value = [0; 8];
                value.copy_from_slice(&entry(middle)[8..]);
                return Some(value);
            }
        }
    }
    None
}

/// Brings a node's share of its peer group's counts, and its row of setting digests, to
/// `report`. `counted_in` is the peer group the node was counted in (`None`: new, or
/// withdrawn as stale); `stored` its kept settings JSON, which it was counted with (needed
/// only when it was counted).
pub(super) fn record(
    tx: &mut Connection,
    report: &nodecheck_report::Report,
    counted_in: Option<&str>,
    stored: Option<&str>,
    now: &Comparable,
    deltas: &mut DriftDeltas,
) -> Result<(), StoreError> {
    let (cluster, name, report_id) = (
        report.node.cluster.as_str(),
        report.node.name.as_str(),
        report.id.as_str(),
    );
    let before: BTreeMap<String, String> = stored
        .and_then(|json| serde_json::from_str(json).ok())
        .unwrap_or_default();
    let group = now.peer_group.as_str();
    if counted_in == Some(group) {
        // Counted in the same group: only the values that changed move.
        for (key, value) in &now.set.settings {
            let old = before.get(key);
            if old != Some(value) {
                if let Some(old) = old {
                    deltas.add(cluster, group, key, old, -1);
                }
                deltas.add(cluster, group, key, value, 1);
            }
        }
        for (key, value) in &before {
            if !now.set.settings.contains_key(key) {
                deltas.add(cluster, group, key, value, -1);
            }
        }
        // What it changed may set it apart from its peers.
        let keys: std::collections::BTreeSet<&String> =
            before.keys().chain(now.set.settings.keys()).collect();
        for key in keys {
            let (from, to) = (before.get(key), now.set.settings.get(key));
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
    } else {
        if let Some(old) = counted_in {
            *deltas
                .groups
                .entry((cluster.into(), old.into()))
                .or_default() -= 1;
            for (key, value) in &before {
                deltas.add(cluster, old, key, value, -1);
            }
        }
        *deltas
            .groups
            .entry((cluster.into(), group.into()))
            .or_default() += 1;
        deltas.join(cluster, group, now);
    }
    tx.execute(
        "INSERT INTO drift_members (cluster, name, peer_group, settings_set) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (cluster, name) DO UPDATE SET peer_group = excluded.peer_group,
            settings_set = excluded.settings_set",
        &values![cluster, name, group, &now.set.hash[..]],
    )?;
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
        let mut wanted: Vec<Wanted> = Vec::new();
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
                wanted.push(Wanted {
                    row: out.len(),
                    value: minority.len(),
                    key: short_digest(&key),
                    holds: (value != ABSENT).then(|| short_digest(&value)),
                    count: usize::try_from(nodes.clamp(0, EXAMPLES)).unwrap_or(0),
                });
                minority.push(DriftValue {
                    value: shown(&value),
                    nodes,
                    examples: Vec::new(),
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
        fill_examples(&mut connection, &mut out, wanted)?;
        Ok(out)
    }

    /// Distinct sets of settings kept, and the nodes whose state holds each, most held first.
    pub fn setting_sets(&self) -> Result<Vec<i64>, StoreError> {
        let rows = self
            .read()?
            .query("SELECT nodes FROM setting_sets ORDER BY nodes DESC", &[])?;
        rows.iter()
            .map(|r| r.get(0))
            .collect::<Result<_, DbError>>()
            .map_err(StoreError::from)
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
                    tx.execute(
                        "DELETE FROM drift_members WHERE cluster = ?1 AND name = ?2",
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

/// A minority value of a drift row that wants example nodes.
struct Wanted {
    /// Its row in the drift list, and its place among the row's minority values.
    row: usize,
    value: usize,
    key: [u8; 8],
    /// The value's digest; `None` for nodes lacking the setting.
    holds: Option<[u8; 8]>,
    /// Examples to find: [`EXAMPLES`], or fewer when fewer nodes hold it.
    count: usize,
}

/// Nodes' setting digests read per query when examples are looked for.
const EXAMPLE_PAGE: i64 = 512;

/// Bytes of sets' digests held at once while examples are looked for.
const EXAMPLE_CACHE_BYTES: usize = 8 << 20;

/// Names the example nodes of each wanted minority value of `rows`: the first counted nodes
/// of its peer group, by name, that hold it. One pass per peer group over its nodes' setting
/// digests ([`member_digests`]), a page at a time, stopping once every value has its
/// examples; a common minority value is found in the first page, a value one node holds
/// costs the group's pass (a short row per node, and each distinct set of settings once).
fn fill_examples(
    connection: &mut Connection,
    rows: &mut [DriftRow],
    wanted: Vec<Wanted>,
) -> Result<(), StoreError> {
    let mut by_group: BTreeMap<(String, String), Vec<Wanted>> = BTreeMap::new();
    for want in wanted.into_iter().filter(|w| w.count > 0) {
        let row = &rows[want.row];
        by_group
            .entry((row.cluster.clone(), row.peer_group.clone()))
            .or_default()
            .push(want);
    }
    // The digests of each set of settings met, read once: most nodes of a group hold one.
    let mut digests_of: std::collections::HashMap<Vec<u8>, Vec<u8>> = Default::default();
    let mut cached = 0;
    for ((cluster, group), mut wants) in by_group {
        let mut after = String::new();
        loop {
            wants.retain(|w| rows[w.row].minority[w.value].examples.len() < w.count);
            if wants.is_empty() {
                break;
            }
            let page = connection.query(
                "SELECT name, settings_set FROM drift_members WHERE cluster = ?1 AND peer_group = ?2 AND name > ?3
                 ORDER BY name LIMIT ?4",
                &values![&cluster, &group, &after, EXAMPLE_PAGE],
            )?;
            for member in &page {
                let (name, set): (String, Vec<u8>) = (member.get(0)?, member.get(1)?);
                if !digests_of.contains_key(&set) {
                    // Nodes holding sets of their own each (hostile, or truly all different)
                    // are read set by set, never all held at once.
                    if cached >= EXAMPLE_CACHE_BYTES {
                        digests_of.clear();
                        cached = 0;
                    }
                    let digests: Option<Vec<u8>> = connection
                        .query_opt(
                            "SELECT digests FROM setting_sets WHERE hash = ?1",
                            &values![&set[..]],
                        )?
                        .map(|r| r.get(0))
                        .transpose()?;
                    // A set gone since the page was read (its node reported since) tells
                    // nothing: the node is no example of any value, absence included.
                    let Some(digests) = digests else {
                        continue;
                    };
                    cached += digests.len();
                    digests_of.insert(set.clone(), digests);
                }
                let digests = digests_of.get(&set).map_or(&[][..], Vec::as_slice);
                for want in &wants {
                    let examples = &mut rows[want.row].minority[want.value].examples;
                    if examples.len() < want.count && held_value(digests, &want.key) == want.holds {
                        examples.push(name.clone());
                    }
                }
            }
            match page.last() {
                Some(last) if page.len() as i64 == EXAMPLE_PAGE => after = last.get(0)?,
                _ => break,
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nodes_setting_digests_answer_what_it_holds() {
        let settings: BTreeMap<String, String> = (0..300)
            .map(|i| (format!("kubelet:setting-{i}"), format!("\"value-{i}\"")))
            .chain([("sshd:permitrootlogin".to_string(), "null".to_string())])
            .collect();
        let digests = member_digests(&settings);
        assert_eq!(digests.len(), settings.len() * MEMBER_ENTRY);
        for (key, value) in &settings {
            assert_eq!(
                held_value(&digests, &short_digest(key)),
                Some(short_digest(value)),
                "{key}"
            );
        }
        assert_eq!(held_value(&digests, &short_digest("kubelet:absent")), None);
        assert_eq!(held_value(&[], &short_digest("kubelet:setting-1")), None);
        // A node holding `null` (judged unset) is told from one lacking the setting.
        assert_ne!(short_digest("null"), short_digest(ABSENT));
    }

    #[test]
    fn deltas_are_written_in_one_order_and_cancel() {
        let mut deltas = DriftDeltas::default();
        deltas.add("b", "worker", "k", "\"1\"", 1);
        deltas.add("a", "worker", "k2", "\"2\"", 1);
        deltas.add("a", "worker", "k1", "\"1\"", -1);
        deltas.add("a", "worker", "k1", "\"1\"", 1);
        let changes: Vec<_> = deltas.value_changes().collect();
        assert_eq!(
            changes,
            [
                ("a", "worker", "k1", "\"1\"", 0),
                ("a", "worker", "k2", "\"2\"", 1),
                ("b", "worker", "k", "\"1\"", 1)
            ]
        );
    }
}
