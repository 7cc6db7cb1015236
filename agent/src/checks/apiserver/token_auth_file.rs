//! `apiserver.token-auth-file`: No static token file authenticates API requests.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "apiserver.token-auth-file",
        title: "No static token file authenticates API requests",
        area: super::AREA,
        severity: Severity::High,
        roles: super::ROLES,
        rationale: "Static bearer tokens in --token-auth-file never expire and cannot be revoked without restarting the API server.",
        remediation: "Remove `--token-auth-file` from the kube-apiserver command; use client certificates, service account tokens or OIDC.",
        cis: &["1.2.2"],
        references: &[
            "https://kubernetes.io/docs/reference/command-line-tools-reference/kube-apiserver/",
        ],
        params: &[],
    },
    run,
    fix: Fix::Manual,
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    super::judge_flag(ctx, "token-auth-file", None, "not set", &|v| v.is_none())
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
                (&[], Status::Pass),
                (
                    &["--token-auth-file=/etc/kubernetes/tokens.csv"],
                    Status::Fail,
                ),
            ],
        );
    }
}
