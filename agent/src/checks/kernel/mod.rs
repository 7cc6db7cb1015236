//! The kernel area: the running sysctls that decide how much a process that escapes its
//! container, or a local user, can learn and do — judged from `/proc/sys`, with the file that
//! will set each one at the next boot named where it disagrees ([`crate::facts::kernel`]).
//!
//! `net.*` keys are the node's only where nodecheck shares the host's network namespace: in
//! the DaemonSet those checks are `not_applicable`, with the reason in the message.

pub mod aslr;
pub mod dmesg_restrict;
pub mod icmp_redirects;
pub mod ip_forward;
pub mod kptr_restrict;
pub mod kubelet_tunables;
pub mod link_protection;
pub mod log_martians;
pub mod ptrace_scope;
pub mod rp_filter;
pub mod source_route;
pub mod suid_dumpable;
pub mod swap;
pub mod tcp_syncookies;
pub mod unprivileged_bpf;
pub mod user_namespaces;

use super::{Ctx, Verdict, failing_entries};
use crate::facts::kernel::{Running, Sysctl};
use nodecheck_report::{Evidence, Role, Source, Status};

pub const AREA: &str = "kernel";
pub const ALL: &[Role] = super::ALL_ROLES;
pub const NODES: &[Role] = &[Role::Worker, Role::ControlPlane];

/// What one check wants of one sysctl.
#[derive(Debug, Clone, Copy)]
pub struct Want {
    pub key: &'static str,
    /// `1 or 2`, as the evidence says it.
    pub expected: &'static str,
    pub ok: fn(i64) -> bool,
    /// What a kernel without the key means.
    pub when_missing: Missing,
}

/// What it means that the running kernel has no such key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// Every supported kernel has it: the read is wrong.
    Error,
    /// The feature is not built in, and its absence is harmless (why).
    NotApplicable(&'static str),
    /// The feature is not built in, and that is the weakness (what that means).
    Fail(&'static str),
}

impl Want {
    pub const fn new(key: &'static str, expected: &'static str, ok: fn(i64) -> bool) -> Want {
        Want {
            key,
            expected,
            ok,
            when_missing: Missing::Error,
        }
    }

    pub const fn or_missing(self, when_missing: Missing) -> Want {
        Want {
            when_missing,
            ..self
        }
    }
}

/// The sysctl remedies of a failing check: each failing key set to the first of 1, 0 and 2 its
/// [`Want`] accepts (so `kptr_restrict` 1, `suid_dumpable` 0, `randomize_va_space` 2), and keys
/// of one interface through the glob over all of them. A key the running kernel does not have
/// (Yama not built in) is no file's to set.
pub fn fix_wants(ctx: &Ctx<'_>, verdict: &Verdict, wants: &[Want]) -> Vec<crate::checks::Remedy> {
    let kernel = &ctx.facts.kernel;
    let missing = std::cell::RefCell::new(Vec::new());
    let remedies = crate::checks::fix::sysctls(verdict, &|key| {
        // A glob stands for the interfaces' keys: it wants what `all` wants.
        let want = wants
            .iter()
            .find(|w| w.key == key || w.key == key.replace(".*.", ".all."))?;
        if !key.contains('*') && !matches!(kernel.get(want.key).running, Running::Value(_)) {
            missing.borrow_mut().push(key.to_string());
            return None;
        }
        [1, 0, 2]
            .into_iter()
            .find(|v| (want.ok)(*v))
            .map(|v| v.to_string())
    });
    let missing = missing.into_inner();
    if remedies.is_empty() && !missing.is_empty() {
        return vec![crate::checks::Remedy::NotHere {
            why: format!(
                "the running kernel has no {}: no sysctl.d file can set it",
                missing.join(", ")
            ),
        }];
    }
    remedies
}

/// What the next boot will set, said where it differs from the running value.
pub fn next_boot_note(s: &Sysctl) -> Option<String> {
    let running = match &s.running {
        Running::Value(v) => v.split_whitespace().collect::<Vec<_>>().join(" "),
        _ => return None,
    };
    let same = |a: &str| match (
        crate::facts::kernel::kernel_int(a),
        crate::facts::kernel::kernel_int(&running),
    ) {
        (Some(x), Some(y)) => x == y,
        _ => a.split_whitespace().collect::<Vec<_>>().join(" ") == running,
    };
    match &s.next_boot {
        Some(a) if !same(&a.value) => {
            let via = a
                .pattern
                .as_ref()
                .map(|p| format!(" (through the pattern {p})"))
                .unwrap_or_default();
            Some(format!(
                "at the next boot {}:{} sets {}{via}",
                a.path, a.line, a.value
            ))
        }
        _ => None,
    }
}

/// Evidence for one sysctl: its running value against `want`, the next boot noted.
pub fn sysctl_evidence(s: &Sysctl, want: &Want) -> Evidence {
    let source = Source::file(s.proc_path(), None);
    let item = |observed: String, status: Status, note: Option<String>| Evidence {
        subject: s.key.to_string(),
        observed: Some(observed),
        expected: want.expected.to_string(),
        status,
        source: source.clone(),
        note,
    };
    match &s.running {
        Running::Value(v) => match v.parse::<i64>() {
            Ok(n) => {
                let pass = (want.ok)(n);
                let mut note = next_boot_note(s);
                if !pass && s.next_boot.is_none() {
                    note = Some(
                        "no sysctl.d file sets it: the kernel's default returns at the next boot"
                            .into(),
                    );
                }
                item(
                    v.clone(),
                    if pass { Status::Pass } else { Status::Fail },
                    note,
                )
            }
            Err(_) => item(format!("{v:?}, not a number"), Status::Error, None),
        },
        Running::Missing => match want.when_missing {
            Missing::NotApplicable(why) => item(
                "not in this kernel".into(),
                Status::NotApplicable,
                Some(why.into()),
            ),
            Missing::Fail(what) => item(what.into(), Status::Fail, None),
            Missing::Error => item(
                "not in this kernel".into(),
                Status::Error,
                Some("every supported kernel has this setting".into()),
            ),
        },
        Running::Hidden(why) => item("not visible".into(), Status::NotApplicable, Some(why.clone())),
        Running::NotRecorded => item(
            "not recorded".into(),
            Status::Error,
            Some("this copy of the node's proc tree holds no sysctl (a snapshot older than nodecheck's kernel checks)".into()),
        ),
        Running::Unreadable(e) => item(e.clone(), Status::Error, None),
    }
}

/// Judges `wants` against the running kernel. When every key is hidden (`net.*` outside the
/// host's network namespace) or missing-and-not-applicable, the check does not apply.
pub fn judge(ctx: &Ctx<'_>, wants: &[Want], pass_message: &str) -> Verdict {
    if let Err(v) = recorded(ctx) {
        return v;
    }
    let items: Vec<Evidence> = wants
        .iter()
        .map(|w| sysctl_evidence(&ctx.facts.kernel.get(w.key), w))
        .collect();
    verdict(items, pass_message)
}

/// The error verdict of facts that hold no sysctl at all.
pub fn recorded(ctx: &Ctx<'_>) -> Result<(), Verdict> {
    if ctx.facts.kernel.is_recorded() {
        return Ok(());
    }
    Err(Verdict::error(
        "the kernel's settings are not in this copy of the node: it holds no /proc/sys (a snapshot made before nodecheck judged the kernel)",
        vec![Evidence {
            subject: "/proc/sys".into(),
            observed: Some("not recorded".into()),
            expected: "the node's running sysctls".into(),
            status: Status::Error,
            source: Source::file("/proc/sys", None),
            note: None,
        }],
    ))
}

/// A verdict from sysctl evidence (as [`judge`]).
pub fn verdict(items: Vec<Evidence>, pass_message: &str) -> Verdict {
    if let Some(first) = items.first()
        && items.iter().all(|e| e.status == Status::NotApplicable)
    {
        return Verdict::new(
            Status::NotApplicable,
            format!(
                "{} is not judged here: {}",
                first.subject,
                first.note.as_deref().unwrap_or("not visible")
            ),
            items,
        );
    }
    Verdict::from_evidence(items, pass_message, |failing| {
        let mut expected: Vec<&str> = Vec::new();
        for e in failing {
            if !expected.contains(&e.expected.as_str()) {
                expected.push(&e.expected);
            }
        }
        format!(
            "{}; expected {}",
            failing_entries(failing),
            expected.join(" / ")
        )
    })
}

#[cfg(test)]
pub mod testing {
    use crate::facts::Facts;
    use crate::facts::kernel::{Assignment, KernelFacts, Running, Sysctl};

    /// Facts of a node whose sysctls are `values` (`None`: not in this kernel), and whose
    /// sysctl.d files set `persisted`.
    pub fn with_sysctls(values: &[(&'static str, Option<&str>)]) -> Facts {
        let mut kernel = KernelFacts {
            sysctls: Default::default(),
            interfaces: Ok(Vec::new()),
            swaps: Ok(Vec::new()),
            problems: Vec::new(),
        };
        for (key, value) in values {
            kernel.sysctls.insert(
                key,
                Sysctl {
                    key,
                    running: value.map_or(Running::Missing, |v| Running::Value(v.into())),
                    next_boot: None,
                },
            );
        }
        Facts {
            kernel,
            ..crate::checks::testing::empty_facts()
        }
    }

    /// Marks `key` as set to `value` by `path` line 1 at the next boot.
    pub fn persisted(facts: &mut Facts, key: &'static str, value: &str, path: &str) {
        if let Some(s) = facts.kernel.sysctls.get_mut(key) {
            s.next_boot = Some(Assignment {
                value: value.into(),
                path: path.into(),
                line: 1,
                pattern: None,
            });
        }
    }

    /// Runs a check on a plain host (kernel checks apply to every role).
    pub fn judge_all(check: &crate::checks::Check, facts: &Facts) -> crate::checks::Verdict {
        crate::checks::testing::judge(check, facts)
    }

    /// The status of `check` on a node whose running sysctls are `values`.
    pub fn status_with(
        check: &crate::checks::Check,
        values: &[(&'static str, Option<&str>)],
    ) -> nodecheck_report::Status {
        judge_all(check, &with_sysctls(values)).status
    }

    /// Asserts what every `net.*` check must do: pass on `good`, fail naming `key` when only it
    /// is set to `bad`, and not apply in a pod's own network namespace. Returns `good`.
    pub fn assert_net_check(
        check: &crate::checks::Check,
        good: &[(&'static str, Option<&str>)],
        key: &'static str,
        bad: &str,
    ) -> Facts {
        use nodecheck_report::Status;
        let facts = with_sysctls(good);
        assert_eq!(judge_all(check, &facts).status, Status::Pass);
        let broken: Vec<(&'static str, Option<&str>)> = good
            .iter()
            .map(|&(k, v)| if k == key { (k, Some(bad)) } else { (k, v) })
            .collect();
        let v = judge_all(check, &with_sysctls(&broken));
        assert_eq!(v.status, Status::Fail);
        assert!(
            v.message.contains(&format!("{key} is {bad}")),
            "{}",
            v.message
        );
        let mut hidden = facts.clone();
        net_hidden(&mut hidden);
        let v = judge_all(check, &hidden);
        assert_eq!(v.status, Status::NotApplicable);
        assert!(v.message.contains("network namespace"), "{}", v.message);
        facts
    }

    /// Marks every `net.*` key hidden.
    pub fn net_hidden(facts: &mut Facts) {
        facts.kernel.interfaces = Err("a pod's own network namespace".into());
        for s in facts.kernel.sysctls.values_mut() {
            if s.key.starts_with("net.") {
                s.running = Running::Hidden("a pod's own network namespace".into());
            }
        }
    }
}
