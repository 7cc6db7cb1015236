//! `scheduler.manifest-permissions`: the scheduler's static pod manifest is root-only.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "scheduler.manifest-permissions",
        title: "The scheduler manifest is 0600 root:root",
        area: super::AREA,
        severity: Severity::Medium,
        roles: super::ROLES,
        rationale: "Whoever writes the scheduler's static pod manifest chooses its flags and image, and so runs code with its credentials and decides where every pod lands.",
        remediation: "`chmod 600` and `chown root:root` the kube-scheduler static pod manifest (kubeadm: /etc/kubernetes/manifests/kube-scheduler.yaml; rke2 writes 0644 unless `profile: cis`).",
        cis: &["1.1.5", "1.1.6"],
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
                "etc/kubernetes/manifests/kube-scheduler.yaml",
                "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - command: [kube-scheduler]\n",
            )],
            &crate::facts::components::SCHEDULER,
            &[],
        );
        let verdict = judge_control_plane(&CHECK, &facts);
        assert_ne!(verdict.status, Status::NotApplicable, "{verdict:?}");
        let without = component_facts(&[], &crate::facts::components::SCHEDULER, &[]);
        assert_eq!(
            judge_control_plane(&CHECK, &without).status,
            Status::NotApplicable
        );
    }
}
