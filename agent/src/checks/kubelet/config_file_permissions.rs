//! `kubelet.config-file-permissions`: The kubelet config file and drop-ins are 0600 root:root.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict, judge_files, strict_file_rule};
use crate::facts::FileFact;
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "kubelet.config-file-permissions",
        title: "The kubelet config file and drop-ins are 0600 root:root",
        area: super::AREA,
        severity: Severity::Medium,
        roles: super::ROLES,
        rationale: "Whoever can write the kubelet's config can turn on anonymous access or AlwaysAllow; it also names the files that hold the node's credentials. kubeadm writes /var/lib/kubelet/config.yaml 0644, so this fails on a stock kubeadm node.",
        remediation: "Run `chmod 600` and `chown root:root` on the kubelet's --config file and every drop-in of its --config-dir.",
        cis: &["4.1.9", "4.1.10"],
        references: &["https://kubernetes.io/docs/reference/config-api/kubelet-config.v1beta1/"],
        params: &[],
    },
    run,
    fix: Fix::Settings(fix),
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    match super::found(ctx) {
        Ok(kubelet) => {
            let mut files: Vec<FileFact> = kubelet.config_file.iter().cloned().collect();
            files.extend(kubelet.drop_in_files.iter().cloned());
            judge_files(&files, "kubelet config files", &strict_file_rule(0o600))
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
        let mut facts = kubelet_config("", &[]);
        let kubelet = facts.kubelet.as_mut().expect("kubelet");
        kubelet.config_file = Some(file("/var/lib/kubelet/config.yaml", 0o600, "root", "root"));
        assert_eq!(judge_worker(&CHECK, &facts).status, Status::Pass);
        let kubelet = facts.kubelet.as_mut().expect("kubelet");
        kubelet.config_file = Some(file("/var/lib/kubelet/config.yaml", 0o644, "root", "root"));
        let v = judge_worker(&CHECK, &facts);
        assert_eq!(v.status, Status::Fail);
        assert!(v.message.contains("0644"), "{}", v.message);
        let kubelet = facts.kubelet.as_mut().expect("kubelet");
        kubelet.config_file = Some(file("/var/lib/kubelet/config.yaml", 0o600, "root", "root"));
        kubelet.drop_in_files = vec![file("/etc/k/d/10.conf", 0o600, "admin", "root")];
        assert_eq!(judge_worker(&CHECK, &facts).status, Status::Fail);
        assert_eq!(
            judge_worker(&CHECK, &empty_facts()).status,
            Status::NotApplicable
        );
        let flags_only = kubelet_facts(&[], &[]);
        assert_eq!(
            judge_worker(&CHECK, &flags_only).status,
            Status::NotApplicable
        );
    }
}
