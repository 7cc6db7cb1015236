//! `etcd.manifest-permissions`: etcd's static pod manifest is root-only.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict, judge_files, strict_file_rule};
use crate::facts::FileFact;
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "etcd.manifest-permissions",
        title: "The etcd static pod manifest is 0600 root:root",
        area: super::AREA,
        severity: Severity::Medium,
        roles: super::ROLES,
        rationale: "Whoever writes etcd's manifest chooses its flags (turning off client certificate authentication) and the kubelet restarts it with them.",
        remediation: "Run `chmod 600` and `chown root:root` on /etc/kubernetes/manifests/etcd.yaml.",
        cis: &["1.1.7", "1.1.8"],
        references: &["https://etcd.io/docs/v3.5/op-guide/security/"],
        params: &[],
    },
    run,
    fix: Fix::Settings(fix),
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    match super::found(ctx) {
        Ok(etcd) => {
            let files: Vec<FileFact> = etcd.manifest_file.iter().cloned().collect();
            judge_files(
                &files,
                "etcd static pod manifests",
                &strict_file_rule(0o600),
            )
        }
        Err(v) => v,
    }
}

/// Each failing file 0600 or stricter, owned by root:root.
fn fix(_: &Ctx<'_>, verdict: &Verdict) -> Vec<crate::checks::Remedy> {
    crate::checks::fix::root_owned_modes(verdict, 0o600)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use nodecheck_report::Status;

    #[test]
    fn verdicts() {
        let mut facts = etcd_facts(&[], &[]);
        assert_eq!(
            judge_control_plane(&CHECK, &facts).status,
            Status::NotApplicable
        );
        let etcd = facts.etcd.as_mut().expect("etcd");
        etcd.manifest_file = Some(file(
            "/etc/kubernetes/manifests/etcd.yaml",
            0o644,
            "root",
            "root",
        ));
        assert_eq!(judge_control_plane(&CHECK, &facts).status, Status::Fail);
    }
}
