//! `kubelet.kubeconfig-permissions`: The kubelet's kubeconfig is 0600 root:root.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict, judge_files, strict_file_rule};
use crate::facts::FileFact;
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "kubelet.kubeconfig-permissions",
        title: "The kubelet's kubeconfig is 0600 root:root",
        area: super::AREA,
        severity: Severity::High,
        roles: super::ROLES,
        rationale: "The kubelet's kubeconfig holds (or points to) the node's client credentials: whoever reads it acts as the node against the API server.",
        remediation: "Run `chmod 600` and `chown root:root` on the file named by the kubelet's --kubeconfig.",
        cis: &["4.1.5", "4.1.6"],
        references: &["https://kubernetes.io/docs/reference/config-api/kubelet-config.v1beta1/"],
        params: &[],
    },
    run,
    fix: Fix::Settings(fix),
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    match super::found(ctx) {
        Ok(kubelet) => {
            let files: Vec<FileFact> = kubelet.kubeconfig_file.iter().cloned().collect();
            judge_files(&files, "kubelet kubeconfig files", &strict_file_rule(0o600))
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
        let mut facts = kubelet_config("", &["--kubeconfig=/etc/kubernetes/kubelet.conf"]);
        assert_eq!(
            judge_worker(&CHECK, &facts).status,
            Status::NotApplicable,
            "the named kubeconfig does not exist in the fixture"
        );
        let kubelet = facts.kubelet.as_mut().expect("kubelet");
        kubelet.kubeconfig_file = Some(file("/etc/kubernetes/kubelet.conf", 0o600, "root", "root"));
        assert_eq!(judge_worker(&CHECK, &facts).status, Status::Pass);
        let kubelet = facts.kubelet.as_mut().expect("kubelet");
        kubelet.kubeconfig_file = Some(file("/etc/kubernetes/kubelet.conf", 0o640, "root", "root"));
        assert_eq!(judge_worker(&CHECK, &facts).status, Status::Fail);
        assert_eq!(
            judge_worker(&CHECK, &empty_facts()).status,
            Status::NotApplicable
        );
    }
}
