//! `controller-manager.kubeconfig-permissions`: the controller manager's kubeconfig is root-only.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "controller-manager.kubeconfig-permissions",
        title: "The controller manager kubeconfig is 0600 root:root",
        area: super::AREA,
        severity: Severity::High,
        roles: super::ROLES,
        rationale: "The controller manager's kubeconfig holds the client key of system:kube-controller-manager, which can read every secret of the cluster and mint ServiceAccount tokens. It is the file its `--kubeconfig` names (kubeadm: /etc/kubernetes/controller-manager.conf), not a fixed path.",
        remediation: "`chmod 600` and `chown root:root` the file the controller manager's `--kubeconfig` names.",
        cis: &["1.1.17", "1.1.18"],
        references: &[
            "https://kubernetes.io/docs/reference/command-line-tools-reference/kube-controller-manager/",
        ],
        params: &[],
    },
    run,
    fix: Fix::Settings(fix),
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    crate::checks::component::judge_kubeconfig(super::found(ctx), super::NAME)
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
        let files = [("etc/kubernetes/controller-manager.conf", "apiVersion: v1\n")];
        let kind = &crate::facts::components::CONTROLLER_MANAGER;
        let named = component_facts(
            &files,
            kind,
            &["--kubeconfig=/etc/kubernetes/controller-manager.conf"],
        );
        let verdict = judge_control_plane(&CHECK, &named);
        assert_ne!(verdict.status, Status::NotApplicable, "{verdict:?}");
        assert!(
            verdict.evidence[0]
                .subject
                .contains("/etc/kubernetes/controller-manager.conf")
        );
        let unnamed = component_facts(&files, kind, &[]);
        assert_eq!(
            judge_control_plane(&CHECK, &unnamed).status,
            Status::NotApplicable
        );
        let missing = component_facts(&[], kind, &["--kubeconfig=/etc/kubernetes/gone.conf"]);
        assert_eq!(judge_control_plane(&CHECK, &missing).status, Status::Error);
    }
}
