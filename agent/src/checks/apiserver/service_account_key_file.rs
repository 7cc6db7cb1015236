//! `apiserver.service-account-key-file`: ServiceAccount tokens are verified with a key of their own.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "apiserver.service-account-key-file",
        title: "The API server verifies ServiceAccount tokens with a dedicated key",
        area: super::AREA,
        severity: Severity::Medium,
        roles: super::ROLES,
        rationale: "Without `--service-account-key-file` the API server verifies ServiceAccount tokens with its serving key, so the serving key cannot be rotated without invalidating every token, and the two cannot be kept apart.",
        remediation: "Set `--service-account-key-file` on the kube-apiserver to the public half of the key the controller manager signs with (`--service-account-private-key-file`; kubeadm: sa.pub).",
        cis: &["1.2.22"],
        references: &[
            "https://kubernetes.io/docs/reference/access-authn-authz/service-accounts-admin/",
            "https://kubernetes.io/docs/reference/command-line-tools-reference/kube-apiserver/",
        ],
        params: &[],
    },
    run,
    fix: Fix::Manual,
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    super::judge_set(
        ctx,
        &["service-account-key-file"],
        "the ServiceAccount verification key",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use nodecheck_report::Status;

    #[test]
    fn verdicts() {
        assert_apiserver_cases(
            &CHECK,
            &[
                (
                    &["--service-account-key-file=/etc/kubernetes/pki/sa.pub"],
                    Status::Pass,
                ),
                (&[], Status::Fail),
            ],
        );
    }
}
