//! `controller-manager.service-account-private-key`: ServiceAccount tokens are signed with a key of their own.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "controller-manager.service-account-private-key",
        title: "The controller manager signs ServiceAccount tokens with a configured key",
        area: super::AREA,
        severity: Severity::Medium,
        roles: super::ROLES,
        rationale: "`--service-account-private-key-file` is the key the token controller signs ServiceAccount tokens with; unset, it creates none, and the API server verifies tokens with whatever key it falls back to. Set, the key can be rotated on its own.",
        remediation: "Set `--service-account-private-key-file` on the kube-controller-manager to the private half of the API server's `--service-account-key-file` (kubeadm: /etc/kubernetes/pki/sa.key).",
        cis: &["1.3.4"],
        references: &[
            "https://kubernetes.io/docs/reference/command-line-tools-reference/kube-controller-manager/",
            "https://kubernetes.io/docs/reference/access-authn-authz/service-accounts-admin/",
        ],
        params: &[],
    },
    run,
    fix: Fix::Manual,
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    crate::checks::component::judge_set(
        super::found(ctx),
        super::NAME,
        "service-account-private-key-file",
    )
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
                (
                    &["--service-account-private-key-file=/etc/kubernetes/pki/sa.key"],
                    Status::Pass,
                ),
            ],
        );
    }
}
