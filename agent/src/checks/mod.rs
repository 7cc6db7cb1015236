//! Checks: pure functions of the [`Facts`] and the profile's parameters.
//!
//! Each check lives in its own file under its area, with its metadata ([`CheckMeta`]) beside
//! its code, the way ruff keeps a rule and its docs together. [`crate::registry`] is the one
//! list of all checks. A check returns a [`Verdict`]; roles, severity overrides and waivers
//! are applied around it by [`crate::scan`].

pub mod apiserver;
pub mod component;
pub mod containers;
pub mod controller_manager;
pub mod etcd;
pub mod fix;
pub mod kernel;
pub mod kube_proxy;
pub mod kubelet;
pub mod lsm;
pub mod ports;
pub mod runtime;
pub mod scheduler;
pub mod sshd;

use crate::facts::{Facts, FileFact};
pub use fix::{Fix, FlagChange, Remedy};
use nodecheck_report::{Evidence, Role, Severity, Source, Status};
use std::collections::BTreeMap;
use std::fmt;

/// The type of a check parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    Bool,
    Integer,
    /// A list of strings (CIDRs, globs, names).
    Strings,
}

impl fmt::Display for ParamKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ParamKind::Bool => "boolean",
            ParamKind::Integer => "integer",
            ParamKind::Strings => "array of strings",
        })
    }
}

/// A parameter's default, as static data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamDefault {
    Bool(bool),
    Integer(i64),
    Strings(&'static [&'static str]),
}

/// A parameter a check takes from the profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamSpec {
    pub name: &'static str,
    pub default: ParamDefault,
    pub doc: &'static str,
}

impl ParamSpec {
    pub fn kind(&self) -> ParamKind {
        match self.default {
            ParamDefault::Bool(_) => ParamKind::Bool,
            ParamDefault::Integer(_) => ParamKind::Integer,
            ParamDefault::Strings(_) => ParamKind::Strings,
        }
    }

    pub fn default_value(&self) -> ParamValue {
        match self.default {
            ParamDefault::Bool(b) => ParamValue::Bool(b),
            ParamDefault::Integer(i) => ParamValue::Integer(i),
            ParamDefault::Strings(s) => {
                ParamValue::Strings(s.iter().map(|x| x.to_string()).collect())
            }
        }
    }
}

/// A parameter's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamValue {
    Bool(bool),
    Integer(i64),
    Strings(Vec<String>),
}

impl fmt::Display for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamValue::Bool(b) => write!(f, "{b}"),
            ParamValue::Integer(i) => write!(f, "{i}"),
            ParamValue::Strings(s) => write!(f, "{s:?}"),
        }
    }
}

/// The parameters of one check, defaults filled in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(pub BTreeMap<String, ParamValue>);

impl Params {
    /// The check's defaults.
    pub fn defaults(meta: &CheckMeta) -> Params {
        Params(
            meta.params
                .iter()
                .map(|p| (p.name.to_string(), p.default_value()))
                .collect(),
        )
    }

    /// A boolean parameter: the profile's value, else the declaration's default.
    pub fn flag(&self, spec: &ParamSpec) -> bool {
        match (self.0.get(spec.name), spec.default) {
            (Some(ParamValue::Bool(b)), _) => *b,
            (_, ParamDefault::Bool(b)) => b,
            _ => unreachable_kind(spec, ParamKind::Bool),
        }
    }

    /// An integer parameter: the profile's value, else the declaration's default.
    pub fn int(&self, spec: &ParamSpec) -> i64 {
        match (self.0.get(spec.name), spec.default) {
            (Some(ParamValue::Integer(i)), _) => *i,
            (_, ParamDefault::Integer(i)) => i,
            _ => unreachable_kind(spec, ParamKind::Integer).into(),
        }
    }

    /// A list parameter: the profile's value, else the declaration's default.
    pub fn list(&self, spec: &ParamSpec) -> Vec<String> {
        match (self.0.get(spec.name), spec.default) {
            (Some(ParamValue::Strings(s)), _) => s.clone(),
            (_, ParamDefault::Strings(s)) => s.iter().map(|x| x.to_string()).collect(),
            _ => {
                unreachable_kind(spec, ParamKind::Strings);
                Vec::new()
            }
        }
    }
}

/// A parameter read with the accessor of another type: a bug in the check (the profile
/// loader refuses values of the wrong type), caught by the tests in debug builds; release
/// builds read `false`/0/empty rather than crash.
fn unreachable_kind(spec: &ParamSpec, asked: ParamKind) -> bool {
    debug_assert!(
        false,
        "parameter {} is {}, read as {asked}",
        spec.name,
        spec.kind()
    );
    false
}

/// What a check declares about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckMeta {
    /// Stable ID, `<area>.<topic>`.
    pub id: &'static str,
    pub title: &'static str,
    pub area: &'static str,
    pub severity: Severity,
    /// Roles the check applies to; outside them it is `not_applicable`.
    pub roles: &'static [Role],
    pub rationale: &'static str,
    pub remediation: &'static str,
    /// The controls of the CIS Kubernetes Benchmark ([`crate::cis::BENCHMARK`]) this check
    /// implements, by id (`"1.2.5"`): each finding carries them, and the CIS view of a scan
    /// ([`crate::cis`]) is built from them.
    pub cis: &'static [&'static str],
    /// Other citations: CIS ids of other benchmarks (with the benchmark and its version), the
    /// upstream documentation URL of the setting, CVE or advisory ids. A test refuses anything
    /// else.
    pub references: &'static [&'static str],
    pub params: &'static [ParamSpec],
}

impl CheckMeta {
    /// Every citation of the check, as a finding carries them: its CIS Kubernetes controls
    /// first (`CIS Kubernetes Benchmark v1.12 1.2.5`), then its other references.
    pub fn citations(&self) -> Vec<String> {
        self.cis
            .iter()
            .map(|id| crate::cis::citation(id))
            .chain(self.references.iter().map(|r| r.to_string()))
            .collect()
    }
}

/// Every role: the check applies to any node.
pub const ALL_ROLES: &[Role] = &[Role::Worker, Role::ControlPlane, Role::Host];

/// A check: metadata and the function that judges.
#[derive(Clone, Copy)]
pub struct Check {
    pub meta: CheckMeta,
    pub run: fn(&Ctx<'_>) -> Verdict,
    /// What to change when it fails ([`fix`]): `nodecheck remediate` places and proves it.
    pub fix: Fix,
}

impl fmt::Debug for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Check").field("id", &self.meta.id).finish()
    }
}

/// What a check sees.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    pub facts: &'a Facts,
    pub params: &'a Params,
    /// The node's roles (detected, or forced by the profile).
    pub roles: &'a [Role],
    /// Judge sshd as the newest OpenSSH the defaults table knows (its version being unknown);
    /// see [`run`].
    pub newest_sshd: bool,
}

/// Runs a check. An sshd check on an sshd of unknown version is judged twice, with the
/// oldest and the newest defaults nodecheck knows ([`sshd::across_versions`]).
pub fn run(check: &Check, facts: &Facts, params: &Params, roles: &[Role]) -> Verdict {
    let judge = |newest_sshd: bool| {
        (check.run)(&Ctx {
            facts,
            params,
            roles,
            newest_sshd,
        })
    };
    let verdict = judge(false);
    match &facts.sshd {
        crate::facts::SshdFacts::Loaded(loaded)
            if check.meta.area == sshd::AREA && loaded.newest.is_some() =>
        {
            sshd::across_versions(verdict, judge(true), loaded)
        }
        _ => verdict,
    }
}

impl Ctx<'_> {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

/// TLS cipher suites CIS counts as strong (4.2.12, 1.2.29): ECDHE with AES-GCM or
/// ChaCha20, and the TLS 1.3 suites (which Go always offers; Kubernetes accepts their names).
pub const STRONG_TLS_CIPHER_SUITES: &[&str] = &[
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
];

/// A check's judgement, before profile and waivers.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub status: Status,
    pub message: String,
    pub evidence: Vec<Evidence>,
}

impl Verdict {
    pub fn new(status: Status, message: impl Into<String>, evidence: Vec<Evidence>) -> Verdict {
        Verdict {
            status,
            message: message.into(),
            evidence,
        }
    }

    pub fn not_applicable(message: impl Into<String>) -> Verdict {
        Verdict::new(Status::NotApplicable, message, Vec::new())
    }

    pub fn error(message: impl Into<String>, evidence: Vec<Evidence>) -> Verdict {
        Verdict::new(Status::Error, message, evidence)
    }

    /// Pass when every item passes, else fail; `error` items make it an error.
    pub fn from_evidence(
        evidence: Vec<Evidence>,
        pass_message: impl Into<String>,
        fail_message: impl FnOnce(&[&Evidence]) -> String,
    ) -> Verdict {
        let failing: Vec<&Evidence> = evidence
            .iter()
            .filter(|e| e.status != Status::Pass && e.status != Status::NotApplicable)
            .collect();
        if failing.is_empty() {
            return Verdict::new(Status::Pass, pass_message, evidence);
        }
        let status = if failing.iter().any(|e| e.status == Status::Fail) {
            Status::Fail
        } else {
            Status::Error
        };
        let message = fail_message(&failing);
        Verdict::new(status, message, evidence)
    }
}

/// Builds an evidence item.
pub fn evidence(
    subject: impl Into<String>,
    observed: Option<String>,
    expected: impl Into<String>,
    pass: bool,
    source: Source,
) -> Evidence {
    Evidence {
        subject: subject.into(),
        observed,
        expected: expected.into(),
        status: if pass { Status::Pass } else { Status::Fail },
        source,
        note: None,
    }
}

/// Evidence for one entry of a tree that must be root's: `max_mode` or stricter and owned by
/// root:root; an entry whose metadata cannot be read is an error.
pub fn owned_entry_evidence(entry: &FileFact, max_mode: u32, expected: &str) -> Evidence {
    let source = Source::FileMetadata {
        path: entry.path.clone(),
    };
    match &entry.meta {
        Ok(m) => evidence(
            entry.path.clone(),
            Some(entry.describe()),
            expected,
            mode_within(m.mode, max_mode) && m.uid == 0 && m.gid == 0,
            source,
        ),
        Err(e) => Evidence {
            subject: entry.path.clone(),
            observed: Some(e.to_string()),
            expected: "readable metadata".into(),
            status: Status::Error,
            source,
            note: None,
        },
    }
}

/// `a is 0644 root:root; b is … and 3 more`: the first failing entries of a tree.
pub fn failing_entries(failing: &[&Evidence]) -> String {
    let names: Vec<String> = failing
        .iter()
        .take(3)
        .map(|e| format!("{} is {}", e.subject, e.observed.as_deref().unwrap_or("?")))
        .collect();
    let more = if failing.len() > 3 {
        format!(" and {} more", failing.len() - 3)
    } else {
        String::new()
    };
    format!("{}{more}", names.join("; "))
}

/// Evidence that a file a setting names exists (`expected` says what it is): the file is the
/// subject, `present` or `missing` what was seen, another error as it was.
pub fn exists_evidence(file: &FileFact, expected: &str) -> Evidence {
    let observed = match &file.meta {
        Ok(_) => "present".to_string(),
        Err(crate::host::FileError::NotFound(_)) => "missing".to_string(),
        Err(e) => e.to_string(),
    };
    evidence(
        file.path.clone(),
        Some(observed),
        expected,
        file.meta.is_ok(),
        Source::FileMetadata {
            path: file.path.clone(),
        },
    )
}

/// A control-plane component's facts, or why there is nothing to judge (`absent`) or nothing
/// readable (the first problem reading its settings).
pub fn component_found<'a, T>(
    facts: Option<&'a T>,
    args: impl Fn(&T) -> &crate::facts::control_plane::ComponentArgs,
    component: &str,
    absent: &str,
) -> Result<&'a T, Verdict> {
    let facts = facts.ok_or_else(|| Verdict::not_applicable(absent))?;
    if let Some(problem) = args(facts).problems.first() {
        return Err(Verdict::error(
            format!("cannot read the {component} settings: {problem}"),
            Vec::new(),
        ));
    }
    Ok(facts)
}

/// Evidence for one setting of a control-plane component: its value and source, or the
/// component's default (`component` names it: `kube-apiserver`, `etcd`).
pub fn setting_evidence(
    args: &crate::facts::control_plane::ComponentArgs,
    name: &str,
    default: Option<&str>,
    component: &str,
    expected: &str,
    pass: bool,
) -> Evidence {
    let subject = format!("--{name}");
    match args.value(name) {
        Some((value, source)) => evidence(
            subject,
            Some(value.to_string()),
            expected,
            pass,
            source.clone(),
        ),
        None => evidence(
            subject,
            default.map(str::to_string),
            expected,
            pass,
            Source::default_value(match default {
                Some(d) => format!("not set: {component} default {d}"),
                None => "not set".into(),
            }),
        ),
    }
}

/// File permission judgement shared by the `*-permissions` checks: `mode & !max_mode == 0`
/// (a bitmask, never a decimal comparison) and owner/group among the allowed ones.
pub fn mode_within(mode: u32, max_mode: u32) -> bool {
    mode & !max_mode & 0o7777 == 0
}

/// Judges file metadata: `max_mode` or stricter, owned by root, group among `groups` (a group
/// may bring its own `max_mode`).
pub fn judge_files(
    files: &[FileFact],
    what: &str,
    rules: &dyn Fn(&FileFact) -> (bool, String),
) -> Verdict {
    if files.is_empty() {
        return Verdict::not_applicable(format!("no {what} to judge"));
    }
    let items: Vec<Evidence> = files
        .iter()
        .map(|f| match &f.meta {
            Ok(_) => {
                let (pass, expected) = rules(f);
                evidence(
                    format!("{} permissions", f.path),
                    Some(f.describe()),
                    expected,
                    pass,
                    Source::FileMetadata {
                        path: f.path.clone(),
                    },
                )
            }
            Err(e) if e.is_not_found() => Evidence {
                subject: format!("{} permissions", f.path),
                observed: None,
                expected: "file present".into(),
                status: Status::NotApplicable,
                source: Source::FileMetadata {
                    path: f.path.clone(),
                },
                note: Some(e.to_string()),
            },
            Err(e) => Evidence {
                subject: format!("{} permissions", f.path),
                observed: Some(e.to_string()),
                expected: "readable metadata".into(),
                status: Status::Error,
                source: Source::FileMetadata {
                    path: f.path.clone(),
                },
                note: None,
            },
        })
        .collect();
    let present = items
        .iter()
        .filter(|e| e.status != Status::NotApplicable)
        .count();
    if present == 0 {
        return Verdict::new(
            Status::NotApplicable,
            format!("none of the {what} exist"),
            items,
        );
    }
    Verdict::from_evidence(
        items,
        format!("{what} have safe permissions ({present} checked)"),
        |failing| {
            let names: Vec<String> = failing
                .iter()
                .take(3)
                .map(|e| {
                    format!(
                        "{} is {}",
                        e.subject.trim_end_matches(" permissions"),
                        e.observed.as_deref().unwrap_or("?")
                    )
                })
                .collect();
            format!(
                "{}{}; expected {}",
                names.join("; "),
                if failing.len() > 3 {
                    format!(" and {} more", failing.len() - 3)
                } else {
                    String::new()
                },
                failing[0].expected
            )
        },
    )
}

/// A `0600 root:root`-style rule.
pub fn strict_file_rule(max_mode: u32) -> impl Fn(&FileFact) -> (bool, String) {
    move |f: &FileFact| {
        let expected = format!("{max_mode:04o} or stricter, owned by root:root");
        let pass = match &f.meta {
            Ok(m) => mode_within(m.mode, max_mode) && m.uid == 0 && m.gid == 0,
            Err(_) => false,
        };
        (pass, expected)
    }
}

#[cfg(test)]
pub(crate) mod testing;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_are_compared_as_bitmasks() {
        assert!(mode_within(0o600, 0o600));
        assert!(mode_within(0o400, 0o600));
        assert!(!mode_within(0o444, 0o600), "0444 is not stricter than 0600");
        assert!(!mode_within(0o570, 0o600));
        assert!(!mode_within(0o4600, 0o600), "setuid counts");
        assert!(mode_within(0o640, 0o640));
    }
}
