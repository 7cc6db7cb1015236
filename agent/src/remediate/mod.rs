//! `nodecheck remediate`: from failing findings to changes an operator reviews and applies,
//! proven on a copy of the host before they are proposed.
//!
//! The flow follows the scan's: each failing check names the settings to change
//! ([`crate::checks::Fix`], [`Remedy`]); [`plan`] places them where the component reads them
//! so that they win (an sshd drop-in read first, the line of a `Match` block, a `chmod`), as
//! whole new file contents and mode changes ([`Planned`]); [`prove`] lays those over the host
//! in memory ([`crate::host::Layer`]), scans it again with the same profile, and compares.
//! A check whose changes make any finding worse (a pass that fails, a fail that becomes an
//! error, an area's score that drops) is left out and the rest proven again, so what is proposed
//! is what was proven. Nothing here writes to the host; [`render`] writes the proposal out.

mod control_plane;
mod diff;
mod kubelet;
pub mod render;
mod sshd;
mod sysctl;

use crate::checks::{Fix, Remedy};
use crate::facts::{self, Facts};
use crate::host::{Host, Layer};
use crate::profile::Profile;
use crate::registry;
use crate::scan::{self, ScanOptions};
use nodecheck_report::{Report, Severity, Status};
use std::collections::{BTreeMap, BTreeSet};

pub use diff::unified;

/// A check's remedy, with the check it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tagged {
    pub check: &'static str,
    pub remedy: Remedy,
}

/// The new content of one file the proposal adds or changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEdit {
    /// The host path.
    pub path: String,
    /// The content now; `None` when the proposal adds the file.
    pub before: Option<String>,
    pub after: String,
    /// Mode and owner the file has (or, when added, gets).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// The checks it fixes, with the settings it changes for each.
    pub fixes: Vec<(String, String)>,
    /// What makes the change take effect (`reload sshd …`).
    pub takes_effect: String,
    /// For a static pod manifest: the same change as an RFC 6902 JSON patch of the pod
    /// (`/spec/containers/0/command/…`), for tools that patch manifests rather than copy them.
    pub json_patch: Vec<serde_json::Value>,
}

/// A change of one file's mode or owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModeEdit {
    pub path: String,
    pub from: Ownership,
    pub to: Ownership,
    /// Names of the owner and group, now and after, from the host's own user database.
    pub from_names: (String, String),
    pub to_names: (String, String),
    pub checks: Vec<String>,
}

/// Permission bits and owner of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ownership {
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

/// A remedy that could not be placed, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unplaced {
    pub check: String,
    pub setting: String,
    pub why: String,
}

/// What a restart the proposal asks for changes in the proc tree (a component's command line
/// without a removed flag, a listener gone): laid over the proc tree for the proof only, never
/// written anywhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcEdit {
    /// Relative to the proc tree (`1400/cmdline`).
    pub path: String,
    pub data: Vec<u8>,
    pub why: String,
}

/// Changes placed on the host's files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Planned {
    pub files: Vec<FileEdit>,
    pub modes: Vec<ModeEdit>,
    pub unplaced: Vec<Unplaced>,
    /// How the restarts the changes need show in the proc tree.
    pub proc: Vec<ProcEdit>,
}

impl Planned {
    pub fn is_empty(&self) -> bool {
        self.files.is_empty() && self.modes.is_empty()
    }

    /// The checks some change is for.
    pub fn checks(&self) -> BTreeSet<String> {
        self.files
            .iter()
            .flat_map(|f| f.fixes.iter().map(|(c, _)| c.clone()))
            .chain(self.modes.iter().flat_map(|m| m.checks.iter().cloned()))
            .collect()
    }

    /// The proposal laid over the host's root filesystem and proc tree.
    fn layers(&self) -> (Layer, Layer) {
        let mut root = Layer::default();
        for file in &self.files {
            root.put_file(
                &file.path,
                file.after.clone().into_bytes(),
                file.mode,
                file.uid,
                file.gid,
            );
        }
        for mode in &self.modes {
            root.set_meta(
                &mode.path,
                Some(mode.to.mode),
                Some(mode.to.uid),
                Some(mode.to.gid),
            );
        }
        let mut proc = Layer::default();
        for edit in &self.proc {
            proc.put_file(&edit.path, edit.data.clone(), 0o444, 0, 0);
        }
        (root, proc)
    }
}

/// A finding whose status changed between the scan and the scan of the remediated copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moved {
    pub id: String,
    pub severity: Severity,
    pub before: Status,
    pub after: Status,
    pub message: String,
}

/// A failing finding the proposal does not fix, with what to do by hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manual {
    pub id: String,
    pub severity: Severity,
    pub status: Status,
    pub message: String,
    /// Why no change is proposed (`None`: the check has no configuration fix).
    pub why: Option<String>,
    pub step: String,
}

/// What `sshd -t` said of the proposed configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SshdTest {
    Accepted {
        binary: String,
    },
    Refused {
        binary: String,
        output: String,
    },
    /// Not run, and why.
    NotRun(String),
}

/// The proposal and its proof.
#[derive(Debug, Clone)]
pub struct Proposal {
    pub planned: Planned,
    pub before: Report,
    pub after: Report,
    /// Findings that failed and pass on the remediated copy.
    pub fixed: Vec<Moved>,
    /// Findings that got worse on the remediated copy (empty for anything proposed).
    pub worsened: Vec<Moved>,
    /// Failing findings left to the operator.
    pub manual: Vec<Manual>,
    /// Checks whose changes were left out, and why.
    pub withdrawn: Vec<Unplaced>,
    pub sshd_test: SshdTest,
    /// Whether the root is a snapshot (whose files are stored without their secrets: only
    /// diffs are written from it, never whole files).
    pub from_snapshot: bool,
}

/// How the proposal is proven.
#[derive(Debug)]
pub struct Prover<'a> {
    pub host: &'a Host,
    pub profile: &'a Profile,
    pub options: &'a ScanOptions,
    /// Run the real `sshd -t` on the proposed sshd configuration (only meaningful when the root
    /// is this machine's `/`, whose host keys and users the binary sees).
    pub sshd_binary: Option<String>,
    /// The deadline of each read of the host while planning and of each proof's scan (as
    /// `--timeout` bounds a scan).
    pub timeout: std::time::Duration,
}

impl Prover<'_> {
    /// The host as the proof sees it: `planned` laid over it, with a budget and deadline of
    /// its own.
    fn host_with(&self, planned: &Planned) -> Host {
        let (root, proc) = planned.layers();
        self.host
            .with_overlay(root, proc)
            .with_deadline(self.timeout)
    }
}

/// Computes, places and proves the changes that fix `before`'s failing findings.
pub fn propose(prover: &Prover<'_>, facts: &Facts, before: Report) -> Proposal {
    let roles = scan::roles(facts, prover.profile);
    // What the proof is compared with: the host scanned again the same way, with nothing laid
    // over it, so that what changed on a live host since the first scan is no one's fault.
    let baseline = rescan(prover, &Planned::default()).0;
    let mut remedies: Vec<Tagged> = Vec::new();
    let mut no_fix: Vec<&nodecheck_report::Finding> = Vec::new();
    for finding in before.findings.iter().filter(|f| needs_fix(f)) {
        let Some(check) = registry::find(&finding.id) else {
            continue;
        };
        let proposed = remedies_of(check, facts, prover.profile, &roles);
        if proposed.is_empty() {
            no_fix.push(finding);
        }
        remedies.extend(proposed.into_iter().map(|remedy| Tagged {
            check: check.meta.id,
            remedy,
        }));
    }

    let mut withdrawn: Vec<Unplaced> = Vec::new();
    let mut kept: BTreeSet<&'static str> = remedies.iter().map(|t| t.check).collect();
    let mut tested_alone = false;
    let (planned, after, sshd_test) = loop {
        let chosen: Vec<Tagged> = remedies
            .iter()
            .filter(|t| kept.contains(t.check))
            .cloned()
            .collect();
        let planned = plan(&prover.host_with(&Planned::default()), facts, &chosen);
        let (after, after_facts) = rescan(prover, &planned);
        let worse = worsened(&baseline, &after);
        let sshd_test = test_sshd(prover, &planned, facts, &after_facts);
        if let SshdTest::Refused { output, .. } = &sshd_test {
            // sshd refuses the configuration: none of the sshd changes is proposed.
            let sshd_checks: Vec<&'static str> = chosen
                .iter()
                .filter(|t| matches!(t.remedy, Remedy::Sshd { .. }))
                .map(|t| t.check)
                .collect();
            for check in &sshd_checks {
                if kept.remove(check) {
                    withdrawn.push(Unplaced {
                        check: check.to_string(),
                        setting: String::new(),
                        why: format!("sshd -t refused the proposed configuration: {output}"),
                    });
                }
            }
            if !sshd_checks.is_empty() {
                continue;
            }
        }
        if worse.is_empty() {
            // A change that does not make its check pass on the copy is not proposed.
            let passing: BTreeSet<&str> = after
                .findings
                .iter()
                .filter(|f| f.status == Status::Pass)
                .map(|f| f.id.as_str())
                .collect();
            let changed = planned.checks();
            let idle: Vec<&'static str> = kept
                .iter()
                .copied()
                .filter(|c| changed.contains(*c) && !passing.contains(c))
                .collect();
            if idle.is_empty() {
                break (planned, after, sshd_test);
            }
            for check in idle {
                kept.remove(check);
                let message = after
                    .findings
                    .iter()
                    .find(|f| f.id == check)
                    .map(|f| f.message.clone())
                    .unwrap_or_default();
                withdrawn.push(Unplaced {
                    check: check.to_string(),
                    setting: String::new(),
                    why: format!(
                        "the change does not make it pass on the remediated copy: {message}"
                    ),
                });
            }
            continue;
        }
        if kept.is_empty() {
            break (planned, after, sshd_test);
        }
        // Something got worse: find the checks whose changes do it alone, once; when none does
        // alone, the last check's changes go, until the rest is clean.
        let mut culprits: Vec<&'static str> = Vec::new();
        if !tested_alone {
            tested_alone = true;
            for check in kept.iter().copied() {
                let alone: Vec<Tagged> = remedies
                    .iter()
                    .filter(|t| t.check == check)
                    .cloned()
                    .collect();
                let alone = plan(&prover.host_with(&Planned::default()), facts, &alone);
                let (report, _) = rescan(prover, &alone);
                if !worsened(&baseline, &report).is_empty() {
                    culprits.push(check);
                }
            }
        }
        if culprits.is_empty() {
            culprits.extend(kept.iter().next_back().copied());
        }
        let what = worse
            .iter()
            .map(|m| format!("{} {} → {}", m.id, m.before.as_str(), m.after.as_str()))
            .collect::<Vec<_>>()
            .join(", ");
        for check in culprits {
            kept.remove(check);
            withdrawn.push(Unplaced {
                check: check.to_string(),
                setting: String::new(),
                why: format!(
                    "its change made other findings worse on the remediated copy ({what})"
                ),
            });
        }
    };

    let before = baseline;
    let fixed = moved(&before, &after)
        .into_iter()
        .filter(|m| rank(m.after) < rank(m.before) && m.after == Status::Pass)
        .collect::<Vec<_>>();
    let worse = worsened(&before, &after);
    let fixed_ids: BTreeSet<&str> = fixed.iter().map(|m| m.id.as_str()).collect();
    let mut why_by_check: BTreeMap<String, String> = BTreeMap::new();
    for u in planned.unplaced.iter().chain(&withdrawn) {
        why_by_check
            .entry(u.check.clone())
            .and_modify(|w| {
                w.push_str("; ");
                w.push_str(&u.why)
            })
            .or_insert_with(|| u.why.clone());
    }
    let no_fix_ids: BTreeSet<&str> = no_fix.iter().map(|f| f.id.as_str()).collect();
    let planned_checks = planned.checks();
    let manual = after
        .findings
        .iter()
        .filter(|f| {
            matches!(f.status, Status::Fail | Status::Error)
                && f.waiver.is_none()
                && !fixed_ids.contains(f.id.as_str())
        })
        .map(|f| {
            let unjudged = (f.status == Status::Error)
                .then(|| format!("nodecheck could not judge it: {}", f.message));
            let why = unjudged
                .or_else(|| why_by_check.get(&f.id).cloned())
                .or_else(|| {
                    if no_fix_ids.contains(f.id.as_str()) {
                        let configurable = registry::find(&f.id)
                            .is_some_and(|c| matches!(c.fix, Fix::Settings(_)));
                        configurable.then(|| {
                            "nodecheck has no change it can prove right for this case".to_string()
                        })
                    } else if planned_checks.contains(&f.id) {
                        Some(format!(
                            "the proposed change does not make it pass: {}",
                            f.message
                        ))
                    } else {
                        None
                    }
                });
            Manual {
                id: f.id.clone(),
                severity: f.severity,
                status: f.status,
                message: f.message.clone(),
                why,
                step: f.remediation.clone(),
            }
        })
        .collect();
    Proposal {
        planned,
        before,
        after,
        fixed,
        worsened: worse,
        manual,
        withdrawn,
        sshd_test,
        from_snapshot: prover.host.is_snapshot(),
    }
}

/// A finding the operator has to act on: failing, not waived.
/// What `check` proposes to change on this host (nothing when it passes or is fixed by hand).
fn remedies_of(
    check: &crate::checks::Check,
    facts: &Facts,
    profile: &Profile,
    roles: &[nodecheck_report::Role],
) -> Vec<Remedy> {
    match check.fix {
        Fix::Manual => Vec::new(),
        Fix::Settings(fix) => {
            let params = profile.params_of(check);
            let verdict = crate::checks::run(check, facts, &params, roles);
            let ctx = crate::checks::Ctx {
                facts,
                params: &params,
                roles,
                newest_sshd: false,
            };
            fix(&ctx, &verdict)
        }
    }
}

/// For the text report: each failing check's changes as an operator writes them, when it
/// proposes any (a check whose remedy is "not here" has none). These are what `remediate`
/// starts from, not yet placed or proven.
pub fn hints(facts: &Facts, profile: &Profile, report: &Report) -> crate::output::FixHints {
    let roles = scan::roles(facts, profile);
    let mut out = crate::output::FixHints::new();
    for finding in report.findings.iter().filter(|f| needs_fix(f)) {
        let Some(check) = registry::find(&finding.id) else {
            continue;
        };
        let remedies = remedies_of(check, facts, profile, &roles);
        let shown: Vec<String> = remedies.iter().filter_map(Remedy::hint).collect();
        if !shown.is_empty() && shown.len() == remedies.len() {
            out.insert(finding.id.clone(), shown);
        }
    }
    out
}

fn needs_fix(finding: &nodecheck_report::Finding) -> bool {
    finding.status == Status::Fail && finding.waiver.is_none()
}

/// Places `remedies` on the host's files.
pub fn plan(host: &Host, facts: &Facts, remedies: &[Tagged]) -> Planned {
    let mut edits = Edits::new(host);
    let mut planned = Planned::default();
    let sshd: Vec<&Tagged> = remedies
        .iter()
        .filter(|t| matches!(t.remedy, Remedy::Sshd { .. }))
        .collect();
    if !sshd.is_empty() {
        match &facts.sshd {
            facts::SshdFacts::Loaded(loaded) => {
                sshd::place(&mut edits, loaded, &sshd, &mut planned.unplaced);
            }
            _ => unplace_all(
                &mut planned.unplaced,
                sshd.iter().map(|t| (t.check, t.remedy.setting())),
                "the sshd configuration was not loaded",
            ),
        }
    }
    let kubelet: Vec<&Tagged> = remedies
        .iter()
        .filter(|t| matches!(t.remedy, Remedy::Kubelet { .. }))
        .collect();
    if !kubelet.is_empty() {
        match &facts.kubelet {
            Some(k) => {
                let process = facts.processes.iter().find(|p| p.pid == k.pid);
                kubelet::place(
                    &mut edits,
                    k,
                    &kubelet,
                    process,
                    &mut planned.unplaced,
                    &mut planned.proc,
                );
            }
            None => unplace_all(
                &mut planned.unplaced,
                kubelet.iter().map(|t| (t.check, t.remedy.setting())),
                "no kubelet runs",
            ),
        }
    }
    let flags: Vec<&Tagged> = remedies
        .iter()
        .filter(|t| matches!(t.remedy, Remedy::ComponentFlag { .. }))
        .collect();
    if !flags.is_empty() {
        control_plane::place(
            &mut edits,
            facts,
            &flags,
            &mut planned.unplaced,
            &mut planned.proc,
        );
    }
    let sysctls: Vec<&Tagged> = remedies
        .iter()
        .filter(|t| matches!(t.remedy, Remedy::Sysctl { .. }))
        .collect();
    sysctl::place(
        &mut edits,
        &sysctls,
        &mut planned.unplaced,
        &mut planned.proc,
    );
    for tagged in remedies {
        match &tagged.remedy {
            Remedy::Mode {
                path,
                max_mode,
                uid,
                gid,
            } => place_mode(
                host,
                &mut planned,
                tagged.check,
                path,
                *max_mode,
                *uid,
                *gid,
            ),
            Remedy::NotHere { why } => planned.unplaced.push(Unplaced {
                check: tagged.check.to_string(),
                setting: String::new(),
                why: why.clone(),
            }),
            Remedy::Sshd { .. }
            | Remedy::Kubelet { .. }
            | Remedy::Sysctl { .. }
            | Remedy::ComponentFlag { .. } => {}
        }
    }
    planned.files = edits.finish();
    // A file the proposal rewrites and chmods gets its new mode in the written copy too.
    for file in &mut planned.files {
        if let Some(mode) = planned.modes.iter().find(|m| m.path == file.path) {
            file.mode = mode.to.mode;
            file.uid = mode.to.uid;
            file.gid = mode.to.gid;
        }
    }
    planned
}

/// The mode change of one file: the bits beyond `max_mode` removed, the owner set.
fn place_mode(
    host: &Host,
    planned: &mut Planned,
    check: &str,
    path: &str,
    max_mode: u32,
    uid: Option<u32>,
    gid: Option<u32>,
) {
    let meta = match host.stat(path) {
        Ok(meta) => meta,
        Err(e) => {
            planned.unplaced.push(Unplaced {
                check: check.to_string(),
                setting: format!("{path} mode and owner"),
                why: e.to_string(),
            });
            return;
        }
    };
    // chmod and chown follow symlinks: the change is the target's.
    let path = meta.resolved.clone();
    if path.chars().any(crate::text::is_terminal_unsafe) {
        planned.unplaced.push(Unplaced {
            check: check.to_string(),
            setting: format!("{path:?} mode and owner"),
            why: "its path holds control characters: change it by hand".into(),
        });
        return;
    }
    let from = Ownership {
        mode: meta.mode,
        uid: meta.uid,
        gid: meta.gid,
    };
    if let Some(existing) = planned.modes.iter_mut().find(|m| m.path == path) {
        existing.to.mode &= max_mode;
        existing.to.uid = uid.unwrap_or(existing.to.uid);
        existing.to.gid = gid.unwrap_or(existing.to.gid);
        existing.to_names = names(host, existing.to);
        if !existing.checks.iter().any(|c| c == check) {
            existing.checks.push(check.to_string());
        }
        return;
    }
    let to = Ownership {
        mode: from.mode & max_mode,
        uid: uid.unwrap_or(from.uid),
        gid: gid.unwrap_or(from.gid),
    };
    if to == from {
        return;
    }
    planned.modes.push(ModeEdit {
        path,
        from,
        to,
        from_names: names(host, from),
        to_names: names(host, to),
        checks: vec![check.to_string()],
    });
}

fn names(host: &Host, o: Ownership) -> (String, String) {
    (
        host.users().user_label(o.uid),
        host.users().group_label(o.gid),
    )
}

/// The files the proposal changes, read once and edited in memory.
pub(crate) struct Edits<'a> {
    host: &'a Host,
    files: BTreeMap<String, FileEdit>,
}

impl<'a> Edits<'a> {
    fn new(host: &'a Host) -> Edits<'a> {
        Edits {
            host,
            files: BTreeMap::new(),
        }
    }

    pub(crate) fn host(&self) -> &'a Host {
        self.host
    }

    /// Where the proposal keeps `path`: its directory resolved inside the root (a relocated
    /// `/var/lib/kubelet` is edited where it really is, which is where the proof's scan reads),
    /// its name as it is.
    pub(crate) fn place_of(&self, path: &str) -> String {
        let path = crate::host::normalise_lexically(path);
        match path.rsplit_once('/') {
            Some((dir, name)) if !name.is_empty() => {
                let dir = if dir.is_empty() { "/" } else { dir };
                match self.host.resolve(dir) {
                    Ok(resolved) if resolved == "/" => format!("/{name}"),
                    Ok(resolved) => format!("{resolved}/{name}"),
                    Err(_) => path,
                }
            }
            _ => path,
        }
    }

    /// Whether the proposal has (or the host has) a file at `path`; `Err` when that cannot be
    /// told (a budget ran out), so that nothing is taken for absent that was not looked at.
    pub(crate) fn has(&self, path: &str) -> Result<bool, String> {
        let path = self.place_of(path);
        if self.files.contains_key(&path) {
            return Ok(true);
        }
        match self.host.stat(&path) {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e.to_string()),
        }
    }

    /// The file at `path` as the proposal has it so far (read from the host the first time),
    /// or why it cannot be edited: a symlink (its target may be anything, a private key
    /// too), a file not owned by root (anyone could have put anything there), text holding
    /// control characters (the diff would drive the operator's terminal).
    pub(crate) fn existing(&mut self, path: &str) -> Result<&mut FileEdit, String> {
        let path = self.place_of(path);
        if !self.files.contains_key(&path) {
            let meta = self.host.stat(&path).map_err(|e| e.to_string())?;
            if meta.is_symlink {
                return Err(format!(
                    "{path} is a symlink: change the file it points to by hand"
                ));
            }
            if meta.kind != crate::host::EntryKind::File {
                return Err(format!("{path} is not a regular file"));
            }
            if meta.uid != 0 {
                return Err(format!(
                    "{path} is not owned by root: make it root's (and check what it holds) first"
                ));
            }
            let text = self
                .host
                .read_text(&path, crate::host::CONFIG_CAP, crate::host::Content::Plain)
                .map_err(|e| e.to_string())?;
            if text
                .chars()
                .any(|c| crate::text::is_terminal_unsafe(c) && !matches!(c, '\n' | '\t'))
            {
                return Err(format!("{path} holds control characters: edit it by hand"));
            }
            self.files.insert(
                path.clone(),
                FileEdit {
                    path: path.clone(),
                    before: Some(text.clone()),
                    after: text,
                    mode: meta.mode,
                    uid: meta.uid,
                    gid: meta.gid,
                    fixes: Vec::new(),
                    takes_effect: String::new(),
                    json_patch: Vec::new(),
                },
            );
        }
        self.files
            .get_mut(&path)
            .ok_or_else(|| format!("{path}: not read"))
    }

    /// A file the proposal adds (or the one it added already), or the existing one (see
    /// [`Edits::existing`]) when the host has it.
    pub(crate) fn added(&mut self, path: &str, mode: u32) -> Result<&mut FileEdit, String> {
        if self.has(path)? {
            return self.existing(path);
        }
        let path = self.place_of(path);
        if path.chars().any(crate::text::is_terminal_unsafe) {
            return Err(format!("{path:?} holds control characters"));
        }
        Ok(self.files.entry(path.clone()).or_insert_with(|| FileEdit {
            path,
            before: None,
            after: String::new(),
            mode,
            uid: 0,
            gid: 0,
            fixes: Vec::new(),
            takes_effect: String::new(),
            json_patch: Vec::new(),
        }))
    }

    fn finish(self) -> Vec<FileEdit> {
        self.files
            .into_values()
            .filter(|f| f.before.as_deref() != Some(f.after.as_str()))
            .collect()
    }
}

/// Leaves each of `settings` (a check and the setting it wanted) to the operator, for one
/// reason.
pub(crate) fn unplace_all<'a>(
    unplaced: &mut Vec<Unplaced>,
    settings: impl IntoIterator<Item = (&'a str, String)>,
    why: &str,
) {
    unplaced.extend(settings.into_iter().map(|(check, setting)| Unplaced {
        check: check.to_string(),
        setting,
        why: why.to_string(),
    }));
}

/// Records on `file` that it fixes `setting` for `check`.
pub(crate) fn note_fix(file: &mut FileEdit, check: &str, setting: &str) {
    let entry = (check.to_string(), setting.to_string());
    if !file.fixes.contains(&entry) {
        file.fixes.push(entry);
    }
}

/// Scans the host with `planned` laid over it.
fn rescan(prover: &Prover<'_>, planned: &Planned) -> (Report, Facts) {
    let started = crate::time::now();
    let host = prover.host_with(planned);
    let facts = facts::gather(&host);
    let report = scan::scan(&facts, prover.profile, prover.options, started);
    (report, facts)
}

/// How bad a status is: a pass (or nothing to judge) 0, a fail 1, an error 2.
fn rank(status: Status) -> u8 {
    match status {
        Status::Pass | Status::NotApplicable => 0,
        Status::Fail => 1,
        Status::Error => 2,
    }
}

/// Findings whose status differs between two reports of the same checks.
fn moved(before: &Report, after: &Report) -> Vec<Moved> {
    let was: BTreeMap<&str, Status> = before
        .findings
        .iter()
        .map(|f| (f.id.as_str(), f.status))
        .collect();
    after
        .findings
        .iter()
        .filter_map(|f| {
            let old = *was.get(f.id.as_str())?;
            (rank(old) != rank(f.status)).then(|| Moved {
                id: f.id.clone(),
                severity: f.severity,
                before: old,
                after: f.status,
                message: f.message.clone(),
            })
        })
        .collect()
}

/// What got worse: findings whose status is worse, and areas whose score dropped (said as a
/// pseudo-finding `area:<name>`).
fn worsened(before: &Report, after: &Report) -> Vec<Moved> {
    let mut worse: Vec<Moved> = moved(before, after)
        .into_iter()
        .filter(|m| rank(m.after) > rank(m.before))
        .collect();
    for (area, old) in &before.summary.areas {
        let new = after.summary.areas.get(area);
        if let (Some(old_score), Some(new_score)) = (old.score, new.and_then(|n| n.score))
            && new_score < old_score
        {
            worse.push(Moved {
                id: format!("area:{area}"),
                severity: Severity::Info,
                before: Status::Pass,
                after: Status::Fail,
                message: format!("the {area} score drops from {old_score} to {new_score}"),
            });
        }
    }
    worse
}

/// Runs the real `sshd -t` on the proposed configuration, when it changes sshd's files.
fn test_sshd(prover: &Prover<'_>, planned: &Planned, before: &Facts, after: &Facts) -> SshdTest {
    let touches_sshd = planned
        .files
        .iter()
        .any(|f| f.fixes.iter().any(|(check, _)| check.starts_with("sshd.")));
    if !touches_sshd {
        return SshdTest::NotRun("the proposal changes no sshd file".into());
    }
    let Some(binary) = &prover.sshd_binary else {
        return SshdTest::NotRun(
            "the root is not this machine's /, so its sshd cannot be run on it".into(),
        );
    };
    let facts::SshdFacts::Loaded(loaded) = &after.sshd else {
        return SshdTest::NotRun("the remediated sshd configuration was not loaded".into());
    };
    // The daemon's own `-o` options are given again only when it is root's: a process that
    // merely calls itself sshd chooses nothing root runs.
    let options: Vec<String> = loaded
        .process
        .as_ref()
        .filter(|p| {
            after
                .processes
                .iter()
                .any(|q| q.pid == p.pid && q.uids.iter().all(|u| *u == 0))
        })
        .map(|p| p.command_line.options.clone())
        .unwrap_or_default();
    let baseline = match &before.sshd {
        facts::SshdFacts::Loaded(before) => Some((prover.host_with(&Planned::default()), before)),
        _ => None,
    };
    sshd::run_sshd_test(
        &prover.host_with(planned),
        loaded,
        baseline
            .as_ref()
            .map(|(host, loaded)| (host, loaded.as_ref())),
        &options,
        binary,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::testing::TempRoot;

    /// A file an edit would read is never one a link or another user chose: a drop-in name
    /// planted as a link to a private key must not carry the key into the proposal.
    #[test]
    fn an_edit_refuses_links_other_users_files_and_control_characters() {
        let root = TempRoot::new();
        root.file(
            "etc/ssh/ssh_host_ed25519_key",
            "-----BEGIN OPENSSH PRIVATE KEY-----\nsecret\n",
            0o600,
        )
        .symlink(
            "etc/sysctl.d/99-zz-nodecheck.conf",
            "/etc/ssh/ssh_host_ed25519_key",
        )
        .file(
            "etc/ssh/sshd_config.d/10-user.conf",
            "X11Forwarding yes\n",
            0o600,
        )
        .file(
            "etc/ssh/sshd_config",
            "Banner /etc/issue\x1b]0;pwned\x07\n",
            0o600,
        );
        std::os::unix::fs::chown(
            root.join("etc/ssh/sshd_config.d/10-user.conf"),
            Some(1000),
            Some(1000),
        )
        .expect("chown");
        let host = root.host();
        let mut edits = Edits::new(&host);
        let link = edits
            .existing("/etc/sysctl.d/99-zz-nodecheck.conf")
            .expect_err("a link is not edited");
        assert!(link.contains("symlink"), "{link}");
        let added = edits
            .added("/etc/sysctl.d/99-zz-nodecheck.conf", 0o644)
            .expect_err("nor replaced");
        assert!(added.contains("symlink"), "{added}");
        let theirs = edits
            .existing("/etc/ssh/sshd_config.d/10-user.conf")
            .expect_err("another user's file is not edited");
        assert!(theirs.contains("not owned by root"), "{theirs}");
        let escape = edits
            .existing("/etc/ssh/sshd_config")
            .expect_err("a file with escapes is not diffed");
        assert!(escape.contains("control characters"), "{escape}");
        assert!(edits.finish().is_empty());
    }

    /// A new file goes where its directory really is, so the proof's scan reads it there.
    #[test]
    fn a_new_file_is_placed_in_its_resolved_directory() {
        let root = TempRoot::new();
        root.file(
            "data/kubelet/config.yaml",
            "kind: KubeletConfiguration\n",
            0o600,
        )
        .symlink("var/lib/kubelet", "/data/kubelet");
        let host = root.host();
        let mut edits = Edits::new(&host);
        let file = edits
            .added("/var/lib/kubelet/conf.d/99-nodecheck.conf", 0o600)
            .expect("added");
        assert_eq!(file.path, "/data/kubelet/conf.d/99-nodecheck.conf");
        let file = edits
            .existing("/var/lib/kubelet/./config.yaml")
            .expect("existing");
        assert_eq!(file.path, "/data/kubelet/config.yaml");
    }
}
