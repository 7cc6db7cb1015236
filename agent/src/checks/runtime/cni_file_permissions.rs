//! `runtime.cni-file-permissions`: the CNI configuration is root's.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict, failing_entries, owned_entry_evidence};
use crate::host::EntryKind;
use nodecheck_report::{Evidence, Severity, Status};

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "runtime.cni-file-permissions",
        title: "CNI configuration files are 0600 root:root",
        area: super::AREA,
        severity: Severity::Medium,
        roles: super::ROLES,
        rationale: "The container runtime runs the plugins the CNI configuration names, as root, for every pod: whoever writes a file there runs code as root on the node and sits in every pod's network path; some plugins' files also hold API credentials. The directory is the one the runtime is configured with (containerd's cni.conf_dir, CRI-O's network_dir, k3s's own), not a fixed path.",
        remediation: "`chown -R root:root` the CNI configuration directory and `chmod 600` its files (the directory itself 0755 or stricter).",
        cis: &["1.1.9", "1.1.10"],
        references: &[
            "https://www.cni.dev/docs/spec/",
            "https://github.com/containerd/containerd/blob/main/docs/cri/config.md",
        ],
        params: &[],
    },
    run,
    fix: Fix::Manual,
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    let Some(cni) = &ctx.facts.cni else {
        return Verdict::not_applicable(format!(
            "no CNI configuration directory on this node ({} does not exist and no container runtime names another)",
            crate::facts::cni::DEFAULT_CONF_DIR
        ));
    };
    let mut items: Vec<Evidence> = cni
        .entries
        .iter()
        .map(|entry| {
            let is_dir = entry.meta.as_ref().is_ok_and(|m| m.kind == EntryKind::Dir);
            if is_dir {
                owned_entry_evidence(entry, 0o755, "directory: root:root, writable by root only")
            } else {
                owned_entry_evidence(entry, 0o600, "0600 or stricter, root:root")
            }
        })
        .collect();
    if let Some(first) = items.first_mut() {
        first.note = Some(format!("the runtime's CNI directory ({})", cni.source));
    }
    items.extend(cni.problems.iter().map(|p| Evidence {
        subject: "CNI configuration directory".into(),
        observed: Some(p.clone()),
        expected: "the runtime's configuration read".into(),
        status: Status::Error,
        source: cni.source.clone(),
        note: None,
    }));
    Verdict::from_evidence(
        items,
        format!("{} and its files are root's and private", cni.conf_dir),
        |failing| {
            format!(
                "{}; expected files 0600 root:root in {}",
                failing_entries(failing),
                cni.conf_dir
            )
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use crate::facts::cni::CniFacts;

    fn with(entries: Vec<crate::facts::FileFact>) -> crate::facts::Facts {
        crate::facts::Facts {
            cni: Some(CniFacts {
                conf_dir: "/etc/cni/net.d".into(),
                source: nodecheck_report::Source::default_value("test"),
                entries,
                problems: Vec::new(),
            }),
            detected_roles: vec![nodecheck_report::Role::Worker],
            ..empty_facts()
        }
    }

    #[test]
    fn verdicts() {
        let mut dir = file("/etc/cni/net.d", 0o755, "root", "root");
        if let Ok(m) = &mut dir.meta {
            m.kind = EntryKind::Dir;
        }
        let good = file("/etc/cni/net.d/10-calico.conflist", 0o600, "root", "root");
        assert_eq!(
            judge_worker(&CHECK, &with(vec![dir.clone(), good])).status,
            Status::Pass
        );
        let readable = file("/etc/cni/net.d/10-calico.conflist", 0o644, "root", "root");
        let v = judge_worker(&CHECK, &with(vec![dir.clone(), readable]));
        assert_eq!(v.status, Status::Fail);
        assert!(
            v.message.contains("10-calico.conflist is 0644"),
            "{}",
            v.message
        );
        let owned = file("/etc/cni/net.d/10-calico.conflist", 0o600, "calico", "root");
        assert_eq!(
            judge_worker(&CHECK, &with(vec![dir, owned])).status,
            Status::Fail
        );
        assert_eq!(
            judge_worker(&CHECK, &empty_facts()).status,
            Status::NotApplicable
        );
    }
}
