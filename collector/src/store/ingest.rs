//! Ingest writes: a batch of validated reports in one transaction. Each report updates its
//! node's latest state, the latest status of each of its checks (rows that did not change are
//! not rewritten), its score history and the fleet aggregates; the aggregate changes of the
//! whole batch are added up ([`Deltas`]) and written last, in one fixed order of tables and
//! keys, so that concurrent batches on PostgreSQL never wait on each other in a cycle. Also the
//! facts read from the cluster's Node objects (kubelet versions).

use super::changes::{self, Before, Change, Comparable};
use super::drift::{self, DriftDeltas};
use super::{
    BODIES_LOCK, COLLECTOR_CHECKS, KUBERNETES_VERSION_CHECK, KnownChecks, RETRIES, Store,
    StoreError, day_of, lock_key,
};
use crate::db::{Connection, Dialect, Value};
use crate::values;
use nodecheck_report::{Report, Severity, Status};
use std::collections::BTreeMap;

/// Webhook events of one kind one report may raise.
const EVENTS_PER_KIND: usize = 10;

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

/// The token a report came with, when it limits the nodes it may create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Creator {
    pub token_id: i64,
    pub max_nodes: i64,
}

impl Store {
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
            let webhooks = &self.webhooks;
            let result =
                connection.transaction(|tx| write_batch(tx, reports, now, &mut known, webhooks));
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
    /// What the node's kept state is checked against ([`state_hash`]).
    state_hash: [u8; 32],
    /// The token it came with, when that token limits the nodes it may create.
    pub creator: Option<Creator>,
    /// For each finding of a check the catalogue does not know, the digest of its description
    /// ([`description_digest`]); computed here, in parallel, not in the single writer.
    digests: Vec<Option<Digest>>,
    /// What the node's next report is compared with.
    comparable: Comparable,
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
        let digests = report
            .findings
            .iter()
            .map(|finding| {
                crate::catalogue::get(&finding.id).is_none().then(|| {
                    description_digest(&[
                        &finding.title,
                        &finding.area,
                        finding.severity.as_str(),
                        &finding.remediation,
                        &finding.rationale,
                    ])
                })
            })
            .collect();
        use sha2::Digest;
        let hash: [u8; 32] = sha2::Sha256::digest(&json).into();
        Ok(Self {
            state_hash: state_hash(&hash),
            hash,
            body: compress(&json)?,
            comparable: Comparable::of(&report),
            report,
            creator: None,
            digests,
        })
    }
}

/// The form of a node's kept state: to be changed with anything that changes what ingest keeps
/// of a report (the check rows' evidence, `Comparable::of`, the peer group, the settings'
/// encoding), so that every node's next report is compared and kept anew.
const STATE_FORM: &[u8] = b"nodecheck state 1\0";

/// What a node's kept state (its check rows, its row in `node_state`) is the state of, kept on
/// its `nodes` row (read by every report anyway): the
/// SHA-256 of the state's form, its report's body hash and the catalogue the rows were judged
/// with. A report
/// whose state hash is the one kept changes nothing and skips every comparison; a collector
/// with another catalogue (which describes checks, and decides which are counted by
/// description) compares each node's next report in full once.
fn state_hash(body_hash: &[u8; 32]) -> [u8; 32] {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    hasher.update(STATE_FORM);
    hasher.update(body_hash);
    hasher.update(crate::catalogue::fingerprint());
    hasher.finalize().into()
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
    described: Option<Vec<u8>>,
}

/// A check's description: title, area, severity, remediation, rationale.
pub(super) type Description = [String; 5];

/// Per description digest of one check: nodes that took it up (+) or gave it up (-), and the
/// description's text when some node took it up.
pub(super) type DescriptionChanges = BTreeMap<Vec<u8>, (i64, Option<Description>)>;

/// What identifies a description among a check's: the first 16 bytes of the SHA-256 of its
/// fields (which hold no NUL, [`Incoming::new`] refuses it). Kept as bytes on every node's
/// row of such a check, so short: 16 bytes leave a second preimage out of reach.
type Digest = [u8; 16];

fn description_digest(fields: &[&str; 5]) -> Digest {
    use sha2::Digest as _;
    let mut hasher = sha2::Sha256::new();
    for field in fields {
        hasher.update(field.as_bytes());
        hasher.update([0]);
    }
    let mut digest = [0; 16];
    digest.copy_from_slice(&hasher.finalize()[..16]);
    digest
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
    drift: DriftDeltas,
    /// Whether any webhook listens: events are found only then.
    telling: bool,
    /// Events found in the batch's reports, enqueued at its end.
    events: Vec<crate::webhooks::Event>,
}

#[derive(Default)]
struct CheckDelta {
    /// The catalogue's description of the check, when it must be written.
    described: Option<Description>,
    /// For a check the catalogue does not know: nodes that took up (+) or gave up (-) each
    /// description, by digest, with the description when some node took it up.
    descriptions: DescriptionChanges,
    failing: i64,
    /// Nodes that started (+) or stopped (-) reporting the check.
    reporting: i64,
}

impl CheckDelta {
    /// Counts a node taking up (`change` 1, with the description's text) or giving up (-1) a
    /// description; the text is copied once per batch, not once per report.
    fn describe(&mut self, digest: &[u8], change: i64, description: Option<[&str; 5]>) {
        let entry = match self.descriptions.get_mut(digest) {
            Some(entry) => entry,
            None => self.descriptions.entry(digest.to_vec()).or_default(),
        };
        entry.0 += change;
        if entry.1.is_none() {
            entry.1 = description.map(|fields| fields.map(str::to_string));
        }
    }
}

impl Deltas {
    fn write(
        &mut self,
        tx: &mut Connection,
        known: &mut KnownChecks,
        now: i64,
    ) -> Result<(), StoreError> {
        for (id, delta) in &self.checks {
            write_descriptions(tx, id, &delta.descriptions, now, known)?;
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
                known.forget(id);
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
        self.drift.write(tx)?;
        if self.reports > 0 {
            tx.execute(
                "UPDATE counts SET value = value + ?1 WHERE name = 'reports'",
                &values![self.reports],
            )?;
        }
        Ok(())
    }
}

/// The description shown for check `?1`: of those nodes give, the one most give; of equally
/// many, the one seen first (then by digest, so that every replica picks the same).
macro_rules! shown_description {
    () => {
        "FROM check_descriptions WHERE check_id = ?1 AND nodes > 0
         ORDER BY nodes DESC, first_seen, digest LIMIT 1"
    };
}

/// A check the catalogue does not know is described to the fleet as most of the nodes reporting
/// it describe it, never as one node says: each description is counted by the nodes whose
/// latest report gives it, and the check shows the one most nodes give (of equals, the one
/// seen first, so a newcomer must outnumber an established description, not just arrive
/// last). Counts that reach zero are removed, so a node cycling descriptions keeps at most one.
pub(super) fn write_descriptions(
    tx: &mut Connection,
    id: &str,
    changes: &DescriptionChanges,
    now: i64,
    known: &mut KnownChecks,
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
                    &values![id, digest.as_slice(), title, area, severity, remediation, rationale, *change, now],
                )?;
            }
            (change, _) => {
                tx.execute(
                    "UPDATE check_descriptions SET nodes = nodes + ?3 WHERE check_id = ?1 AND digest = ?2",
                    &values![id, digest.as_slice(), *change],
                )?;
                tx.execute(
                    "DELETE FROM check_descriptions WHERE check_id = ?1 AND digest = ?2 AND nodes <= 0",
                    &values![id, digest.as_slice()],
                )?;
            }
        }
        changed = true;
    }
    // Nodes taking up the description shown already cannot change which is shown: the common
    // case (a new node, an unchanged agent) costs no statement more. Known only to the one
    // writer of a SQLite database.
    let single_writer = tx.dialect() == Dialect::Sqlite;
    let keeps_shown = single_writer
        && known.shown.get(id).is_some_and(|shown| {
            changes
                .iter()
                .all(|(digest, (change, _))| *change == 0 || (digest == shown && *change > 0))
        });
    if changed && !keeps_shown {
        // The check's row, made or brought up to the description most nodes give.
        tx.execute(
            concat!(
                "INSERT INTO checks (id, title, area, severity, remediation, rationale)
                 SELECT check_id, title, area, severity, remediation, rationale ",
                shown_description!(),
                " ON CONFLICT (id) DO UPDATE SET title = excluded.title, area = excluded.area,
                severity = excluded.severity, remediation = excluded.remediation, rationale = excluded.rationale
             WHERE checks.title != excluded.title OR checks.area != excluded.area
                OR checks.severity != excluded.severity OR checks.remediation != excluded.remediation
                OR checks.rationale != excluded.rationale"
            ),
            &values![id],
        )?;
        known.shown.remove(id);
        if single_writer {
            let shown = tx.query_opt(
                concat!("SELECT digest ", shown_description!()),
                &values![id],
            )?;
            if let Some(row) = shown {
                known.shown.insert(id.to_string(), row.get(0)?);
            }
        }
    }
    Ok(())
}

/// Writes a batch of reports in the transaction `tx`.
fn write_batch(
    tx: &mut Connection,
    reports: &[Incoming],
    now: i64,
    known: &mut KnownChecks,
    webhooks: &[crate::webhooks::Webhook],
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
    let mut deltas = Deltas {
        telling: !webhooks.is_empty(),
        ..Deltas::default()
    };
    let mut outcomes = Vec::with_capacity(reports.len());
    for incoming in reports {
        outcomes.push(ingest_one(tx, incoming, now, known, &mut deltas)?);
    }
    deltas.write(tx, known, now)?;
    if deltas.telling {
        let mut events = std::mem::take(&mut deltas.events);
        events.extend(drift::moved_away(tx, &deltas.drift.moved, now)?);
        super::deliveries::enqueue(tx, webhooks, &events, now)?;
    }
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
    let mut before: Option<Before> = tx
        .query_opt(changes::BEFORE_SQL, &values![cluster, name])?
        .map(|r| Before::from_row(&r))
        .transpose()?;
    let previous_score = before.as_ref().map(|b| b.score);
    let comparable = &incoming.comparable;
    // A body the same as the last one kept (the per-report parts aside, judged against the same
    // catalogue) changes nothing: no check row, change or setting is read or compared.
    let same_body = before
        .as_ref()
        .is_some_and(|b| b.state_hash.as_deref() == Some(&incoming.state_hash[..]));
    let counted_in = before.as_ref().and_then(|b| b.peer_group.clone());
    let mut found: Vec<Change> = Vec::new();
    // Counted in another group than its report's: what it was counted with must be taken out.
    let regrouped = counted_in
        .as_deref()
        .is_some_and(|group| group != comparable.peer_group);
    if let Some(before) = before.as_mut()
        && (!same_body || regrouped)
    {
        before.load_state(tx, cluster, name)?;
        if let Some(state) = before.state.as_mut()
            && state.settings.is_none()
            && let Some(set) = state.settings_set.as_deref()
        {
            state.settings = deltas.drift.pending_set(set);
        }
    }
    match &before {
        Some(before) if !same_body => changes::node_changes(before, report, comparable, &mut found),
        Some(_) => {}
        None => found.push(changes::first_report()),
    }
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
            last_report, failing_critical, failing_high, created_by, kubelet_version, peer_group, state_hash)
         VALUES (?1, ?2, ?3, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
         ON CONFLICT (cluster, name) DO UPDATE SET last_seen = excluded.last_seen, roles = excluded.roles,
            labels = excluded.labels, agent_version = excluded.agent_version, interval_s = excluded.interval_s,
            score = excluded.score, failing = excluded.failing, last_report = excluded.last_report,
            failing_critical = excluded.failing_critical, failing_high = excluded.failing_high,
            kubelet_version = excluded.kubelet_version, peer_group = excluded.peer_group,
            state_hash = excluded.state_hash, stale_told = 0",
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
            incoming.creator.map(|c| c.token_id),
            &report.node.kubelet_version,
            &comparable.peer_group,
            &incoming.state_hash[..]
        ],
    )?;
    let state = before.as_ref().and_then(|b| b.state.as_ref());
    let kept_set = state.and_then(|state| state.settings_set.as_deref());
    let same_settings = same_body || kept_set == Some(&comparable.set.hash[..]);
    if !same_body {
        tx.execute(
            "INSERT INTO node_state (cluster, name, listeners, shell_images, settings_set)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (cluster, name) DO UPDATE SET listeners = excluded.listeners,
                shell_images = excluded.shell_images, settings_set = excluded.settings_set",
            &values![
                cluster,
                name,
                &comparable.listeners,
                &comparable.shell_images,
                &comparable.set.hash[..]
            ],
        )?;
        // Its settings are kept once per distinct set, which every node holding it counts.
        if !same_settings {
            deltas.drift.keep_set(kept_set, comparable);
        }
    }
    // Drift: the node's share of its peer group's counts. Settings the same as last time (a
    // body the same has the same), counted in the same group: nothing to count or write.
    let stored_settings = state.and_then(|state| state.settings.as_deref());
    if !(same_settings && counted_in.as_deref() == Some(comparable.peer_group.as_str())) {
        drift::record(
            tx,
            report,
            counted_in.as_deref(),
            stored_settings,
            comparable,
            &mut deltas.drift,
        )?;
    }
    // Score distribution: move the node from its old bucket to its new one.
    let bucket = |score: Option<i64>| score.map_or(-1, |s| (s / 10).min(9));
    if let Some(old) = previous_score {
        *deltas.buckets.entry(bucket(old)).or_default() -= 1;
    }
    *deltas.buckets.entry(bucket(score)).or_default() += 1;
    // A node's check rows: a body the same as the last one has the same rows.
    if !same_body {
        write_check_rows(
            tx,
            incoming,
            known,
            deltas,
            previous_score.is_some(),
            &mut found,
        )?;
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
    changes::write(tx, report, now, &found)?;
    if deltas.telling {
        // At most a few events of a kind per report: a node flipping between two prepared
        // reports must not bury other nodes' notifications (the feed keeps every change).
        let mut per_kind: std::collections::HashMap<&str, usize> = Default::default();
        for event in found
            .iter()
            .filter_map(|c| changes::event_of(c, report, now))
        {
            let count = per_kind.entry(event.kind).or_default();
            *count += 1;
            if *count <= EVENTS_PER_KIND {
                deltas.events.push(event);
            }
        }
    }
    Ok(Ingested::Stored)
}

/// Brings a node's check rows to its report: rows whose status, message, evidence or
/// description changed are written, checks it no longer reports are removed, and the fleet's
/// per-check counts and the changes found are added to. `known_node`: the node has check rows
/// (a node seen for the first time has none to compare with).
fn write_check_rows(
    tx: &mut Connection,
    incoming: &Incoming,
    known: &mut KnownChecks,
    deltas: &mut Deltas,
    known_node: bool,
    found: &mut Vec<Change>,
) -> Result<(), StoreError> {
    let report = &incoming.report;
    let (cluster, name) = (&report.node.cluster, &report.node.name);
    // Failing nodes per check: compare with the node's previous statuses (one query). A node's
    // statuses rarely change between reports, so rows that are unchanged are not rewritten,
    // and check metadata is written only for checks described differently than last written.
    let mut before: std::collections::HashMap<String, PreviousCheck> =
        std::collections::HashMap::new();
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
    for (finding, digest) in report.findings.iter().zip(&incoming.digests) {
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
        let described = match (crate::catalogue::get(&finding.id), digest) {
            (Some(entry), _) => {
                let described_as = [
                    entry.title.as_str(),
                    entry.area.as_str(),
                    entry.severity.as_str(),
                    entry.remediation.as_str(),
                    entry.rationale.as_str(),
                ];
                if known
                    .described
                    .get(&finding.id)
                    .is_none_or(|stored| stored != &described_as)
                {
                    let described = described_as.map(str::to_string);
                    known
                        .described
                        .insert(finding.id.clone(), described.clone());
                    deltas
                        .checks
                        .entry(finding.id.clone())
                        .or_default()
                        .described = Some(described);
                }
                None
            }
            (None, digest) => {
                let before = previous.and_then(|p| p.described.as_deref());
                if before != digest.as_ref().map(|d| d.as_slice()) {
                    let delta = deltas.checks.entry(finding.id.clone()).or_default();
                    if let Some(digest) = digest {
                        let described_as = [
                            finding.title.as_str(),
                            finding.area.as_str(),
                            severity,
                            finding.remediation.as_str(),
                            finding.rationale.as_str(),
                        ];
                        delta.describe(digest, 1, Some(described_as));
                    }
                    if let Some(before) = before {
                        delta.describe(before, -1, None);
                    }
                }
                digest.as_ref().map(|d| d.as_slice())
            }
        };
        if previous.is_none() {
            deltas
                .checks
                .entry(finding.id.clone())
                .or_default()
                .reporting += 1;
        }
        if known_node
            && let Some(change) = changes::check_change(
                &finding.id,
                severity,
                previous.map(|p| p.status.as_str()),
                Some(status),
                &finding.message,
            )
        {
            found.push(change);
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
                && p.described.as_deref() == described
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
        found.extend(changes::check_change(
            check_id,
            &previous.severity,
            Some(&previous.status),
            None,
            "",
        ));
        let delta = deltas.checks.entry(check_id.clone()).or_default();
        if previous.status == "fail" {
            delta.failing -= 1;
        }
        delta.reporting -= 1;
        if let Some(digest) = &previous.described {
            delta.describe(digest, -1, None);
        }
    }
    Ok(())
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
