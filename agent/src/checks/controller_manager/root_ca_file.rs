//! `controller-manager.root-ca-file`: pods get the cluster CA to verify the API server.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "controller-manager.root-ca-file",
        title: "Pods receive the CA that verifies the API server",
        area: super::AREA,
        severity: Severity::Medium,
        roles: super::ROLES,
        rationale: "`--root-ca-file` is the CA bundle the controller manager publishes to every namespace (kube-root-ca.crt) and puts in ServiceAccount token secrets; without it pods cannot verify the API server they talk to and are open to a man in the middle.",
        remediation: "Set `--root-ca-file` on the kube-controller-manager to the cluster CA (kubeadm: /etc/kubernetes/pki/ca.crt).",
        cis: &["1.3.5"],
        references: &[
            "https://kubernetes.io/docs/reference/command-line-tools-reference/kube-controller-manager/",
        ],
        params: &[],
    },
    run,
    fix: Fix::Manual,
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    crate::checks::component::judge_set(super::found(ctx), super::NAME, "root-ca-file")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use nodecheck_report::Status;

    #[test]
    fn verdicts() {
        assert_kind_cases(
            &CHECK,
            &crate::facts::components::CONTROLLER_MANAGER,
            &[
                (&[], Status::Fail),
                (&["--root-ca-file=/etc/kubernetes/pki/ca.crt"], Status::Pass),
            ],
        );
    }
}
