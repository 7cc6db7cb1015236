//! `controller-manager.manifest-permissions`: the controller manager's static pod manifest is root-only.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "controller-manager.manifest-permissions",
        title: "The controller manager manifest is 0600 root:root",
        area: super::AREA,
        severity: Severity::Medium,
        roles: super::ROLES,
        rationale: "Whoever writes the static pod manifest of the controller manager chooses its flags and image, and so runs code with its credentials (it can read every secret and create tokens for every ServiceAccount).",
        remediation: "`chmod 600` and `chown root:root` the kube-controller-manager static pod manifest (kubeadm: /etc/kubernetes/manifests/kube-controller-manager.yaml; rke2 writes 0644 unless `profile: cis`).",
        cis: &["1.1.3", "1.1.4"],
        references: &["https://kubernetes.io/docs/tasks/configure-pod-container/static-pod/"],
        params: &[],
    },
    run,
    fix: Fix::Settings(fix),
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    crate::checks::component::judge_manifest(super::found(ctx), super::NAME)
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
        let facts = component_facts(
            &[(
                "etc/kubernetes/manifests/kube-controller-manager.yaml",
                "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - command: [kube-controller-manager]\n",
            )],
            &crate::facts::components::CONTROLLER_MANAGER,
            &[],
        );
        // The fixture writes 0600; owned by whoever runs the test.
        let verdict = judge_control_plane(&CHECK, &facts);
        assert_ne!(verdict.status, Status::NotApplicable, "{verdict:?}");
        let without = component_facts(&[], &crate::facts::components::CONTROLLER_MANAGER, &[]);
        assert_eq!(
            judge_control_plane(&CHECK, &without).status,
            Status::NotApplicable
        );
    }
}
