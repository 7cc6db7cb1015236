//! What a check proposes to change when it fails: settings, not files.
//!
//! A check knows which value passes; it does not know where the component reads that value
//! from, or how a value is written so that it wins there. So a check's [`Fix`] names the
//! setting and the value ([`Remedy`]), and [`crate::remediate`] places it: in an sshd drop-in
//! read first, a patch of the line of a `Match` block, a `sysctl.d` file, a `chmod` line.
//! Whatever it proposes is then proven on a copy of the host by a second scan.
//!
//! A remedy only ever names a setting whose evidence failed: a check that passes some of its
//! items and fails others proposes nothing for the items that pass.

use super::{Ctx, Verdict};
use nodecheck_report::{Evidence, Source, Status};

/// How a failing check can be fixed.
#[derive(Clone, Copy)]
pub enum Fix {
    /// Not by configuration (a weak host key, a listener that should not exist, a container
    /// running as root): the check's remediation text is the manual step.
    Manual,
    /// The settings to change, from the facts and the failing verdict. An empty list means
    /// that this failure needs the manual step after all.
    Settings(fn(&Ctx<'_>, &Verdict) -> Vec<Remedy>),
}

impl std::fmt::Debug for Fix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Fix::Manual => "Manual",
            Fix::Settings(_) => "Settings",
        })
    }
}

/// One setting to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Remedy {
    /// An sshd option, by its keyword as written in sshd_config (`PasswordAuthentication`).
    /// `scope` says whether the global value or a `Match` block's line fails.
    Sshd {
        keyword: String,
        value: String,
        scope: SshdScope,
    },
    /// A field of the kubelet's configuration, by its dotted path
    /// (`authentication.anonymous.enabled`), and the JSON value it must have.
    Kubelet {
        field: String,
        value: serde_json::Value,
    },
    /// No change is right here, and why (the fix is the manual step after all).
    NotHere { why: String },
    /// A kernel parameter (`net.ipv4.conf.all.rp_filter`).
    Sysctl { key: String, value: String },
    /// A command-line flag of a control-plane component (`kube-apiserver`, `etcd`,
    /// `kube-controller-manager`, `kube-scheduler`), changed where the component is started
    /// from: its static pod manifest or its systemd unit.
    ComponentFlag {
        component: &'static str,
        flag: String,
        change: FlagChange,
    },
    /// A file's mode and owner: `max_mode` or stricter (the bits beyond it removed, nothing
    /// added) and, when given, owned by `uid`/`gid`.
    Mode {
        path: String,
        max_mode: u32,
        uid: Option<u32>,
        gid: Option<u32>,
    },
}

/// How a component's flag changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlagChange {
    /// The flag set to this value (every earlier occurrence goes).
    Set(String),
    /// An item added to the flag's comma-separated list (the flag added when absent).
    AddTo(String),
    /// An item taken out of the flag's list (the flag removed when nothing is left).
    RemoveFrom(String),
}

impl std::fmt::Display for FlagChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FlagChange::Set(value) => write!(f, "={value}"),
            FlagChange::AddTo(item) => write!(f, " += {item}"),
            FlagChange::RemoveFrom(item) => write!(f, " -= {item}"),
        }
    }
}

/// Where an sshd value fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SshdScope {
    /// The global value (what `sshd -T` prints without `-C`).
    Global,
    /// The line of a `Match` block that sets it: fixed in that line, since a matching block's
    /// value overrides the global one.
    MatchLine { path: String, line: u32 },
}

impl Remedy {
    /// The setting, as an operator names it.
    pub fn setting(&self) -> String {
        match self {
            Remedy::Sshd { keyword, scope, .. } => match scope {
                SshdScope::Global => keyword.clone(),
                SshdScope::MatchLine { path, line } => format!("{keyword} ({path}:{line})"),
            },
            Remedy::Kubelet { field, value } => format!("{field}: {value}"),
            Remedy::Sysctl { key, .. } => key.clone(),
            Remedy::NotHere { .. } => String::new(),
            Remedy::Mode { path, .. } => format!("{path} mode and owner"),
            Remedy::ComponentFlag {
                component,
                flag,
                change,
            } => format!("{component} --{flag}{change}"),
        }
    }
}

impl Remedy {
    /// The change as an operator writes it, short enough for one line of the text report
    /// (`PasswordAuthentication no`, `kernel.kptr_restrict = 1`); `None` for [`Remedy::NotHere`].
    pub fn hint(&self) -> Option<String> {
        let short = |text: &str| crate::text::shorten(text, 48);
        Some(match self {
            Remedy::Sshd {
                keyword,
                value,
                scope,
            } => match scope {
                SshdScope::Global => format!("`{keyword} {}`", short(value)),
                SshdScope::MatchLine { path, line } => {
                    format!(
                        "`{keyword} {}` in the Match block at {path}:{line}",
                        short(value)
                    )
                }
            },
            Remedy::Kubelet { field, value } => {
                format!("`{field}: {}` (kubelet)", short(&value.to_string()))
            }
            Remedy::Sysctl { key, value } => format!("`{key} = {value}`"),
            Remedy::Mode {
                path,
                max_mode,
                uid,
                ..
            } => match (mode_removal(*max_mode), uid) {
                (removal, Some(_)) if removal.is_empty() => format!("`chown root` {path}"),
                (removal, owner) => format!(
                    "`chmod {removal}` {path}{}",
                    if owner.is_some() {
                        ", owned by root"
                    } else {
                        ""
                    }
                ),
            },
            Remedy::ComponentFlag {
                component,
                flag,
                change,
            } => format!("`{component} --{flag}{change}`"),
            Remedy::NotHere { .. } => return None,
        })
    }
}

/// The `chmod` symbolic mode that takes away every bit beyond `max_mode` (`go-rwx` for 0600).
fn mode_removal(max_mode: u32) -> String {
    // Whose bits go, grouped by the bits: `go-rwx` rather than `g-rwx,o-rwx`.
    let mut parts: Vec<(String, String)> = Vec::new();
    for (who, shift) in [('u', 6), ('g', 3), ('o', 0)] {
        let allowed = (max_mode >> shift) & 0o7;
        let taken: String = [(4, 'r'), (2, 'w'), (1, 'x')]
            .into_iter()
            .filter(|(bit, _)| allowed & bit == 0)
            .map(|(_, name)| name)
            .collect();
        if taken.is_empty() {
            continue;
        }
        match parts.iter_mut().find(|(_, t)| *t == taken) {
            Some((whom, _)) => whom.push(who),
            None => parts.push((who.to_string(), taken)),
        }
    }
    parts
        .iter()
        .map(|(whom, taken)| format!("{whom}-{taken}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The failing items of a verdict (a `fail` status; `error` items are not known to be wrong).
pub fn failing(verdict: &Verdict) -> impl Iterator<Item = &Evidence> {
    verdict.evidence.iter().filter(|e| e.status == Status::Fail)
}

/// sshd remedies for the failing items of a verdict whose subject is `display` (an sshd
/// keyword): the global value set to `value`, and each failing `Match` line likewise.
pub fn sshd_values(verdict: &Verdict, wanted: &[(&str, &str)]) -> Vec<Remedy> {
    let mut out = Vec::new();
    for item in failing(verdict) {
        let Some((keyword, value)) = wanted.iter().find(|(k, _)| *k == item.subject) else {
            continue;
        };
        let scope = match (&item.source, item.note.as_deref()) {
            (
                Source::File {
                    path,
                    line: Some(line),
                },
                Some(note),
            ) if note.starts_with("Match ") => SshdScope::MatchLine {
                path: path.clone(),
                line: *line,
            },
            _ => SshdScope::Global,
        };
        let remedy = Remedy::Sshd {
            keyword: keyword.to_string(),
            value: value.to_string(),
            scope,
        };
        if !out.contains(&remedy) {
            out.push(remedy);
        }
    }
    out
}

/// A control-plane flag change when the verdict has a failing item.
pub fn component_flag(
    verdict: &Verdict,
    component: &'static str,
    flag: &str,
    change: FlagChange,
) -> Vec<Remedy> {
    if failing(verdict).next().is_none() {
        return Vec::new();
    }
    vec![Remedy::ComponentFlag {
        component,
        flag: flag.to_string(),
        change,
    }]
}

/// Kubelet remedies for the failing items whose subject is a configuration field of `wanted`.
pub fn kubelet_values(verdict: &Verdict, wanted: &[(&str, serde_json::Value)]) -> Vec<Remedy> {
    let mut out = Vec::new();
    for item in failing(verdict) {
        if let Some((field, value)) = wanted.iter().find(|(f, _)| *f == item.subject) {
            let remedy = Remedy::Kubelet {
                field: field.to_string(),
                value: value.clone(),
            };
            if !out.contains(&remedy) {
                out.push(remedy);
            }
        }
    }
    out
}

/// Mode remedies for the failing file-metadata items of a verdict: `max_mode` or stricter,
/// owned by root:root; a directory that holds a judged file (`… (holds …)`) owned by root and
/// writable by root only. Files seen inside a container's root (`/proc/<pid>/root/…`) belong to
/// the container's image or volume, not to the host: they are left to the manual step.
pub fn root_owned_modes(verdict: &Verdict, max_mode: u32) -> Vec<Remedy> {
    let mut out = Vec::new();
    for item in failing(verdict) {
        let Source::FileMetadata { path } = &item.source else {
            continue;
        };
        if path.starts_with("/proc/") {
            continue;
        }
        let remedy = if item.subject.contains(" (holds ") {
            Remedy::Mode {
                path: path.clone(),
                max_mode: 0o7755,
                uid: Some(0),
                gid: None,
            }
        } else {
            Remedy::Mode {
                path: path.clone(),
                max_mode,
                uid: Some(0),
                gid: Some(0),
            }
        };
        if !out.contains(&remedy) {
            out.push(remedy);
        }
    }
    out
}

/// Sysctl remedies for the failing items whose subject is a sysctl key, each set to what
/// `value` says for it. A key of one interface (`net.ipv4.conf.eth0.send_redirects`) becomes the
/// glob over every interface (`net.ipv4.conf.*.send_redirects`): interfaces come and go with
/// pods, and the glob also sets the ones to come.
pub fn sysctls(verdict: &Verdict, value: &dyn Fn(&str) -> Option<String>) -> Vec<Remedy> {
    let mut out = Vec::new();
    for item in failing(verdict) {
        let key = item.subject.as_str();
        if !key.contains('.') || key.contains(' ') {
            continue;
        }
        let key = match per_interface(key) {
            Some((family, param)) => format!("net.{family}.conf.*.{param}"),
            None => key.to_string(),
        };
        if let Some(value) = value(&key) {
            let remedy = Remedy::Sysctl { key, value };
            if !out.contains(&remedy) {
                out.push(remedy);
            }
        }
    }
    out
}

/// `net.ipv4.conf.eth0.rp_filter`: a key of one interface, as its family and parameter.
fn per_interface(key: &str) -> Option<(&str, &str)> {
    ["ipv4", "ipv6"].into_iter().find_map(|family| {
        let rest = key.strip_prefix(&format!("net.{family}.conf."))?;
        let (interface, param) = rest.split_once('.')?;
        (!matches!(interface, "all" | "default")).then_some((family, param))
    })
}
