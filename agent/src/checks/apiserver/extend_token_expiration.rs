//! `apiserver.extend-token-expiration`: bound ServiceAccount tokens keep their short lifetime.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use crate::parse::flags::parse_bool;
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "apiserver.extend-token-expiration",
        title: "Bound ServiceAccount tokens are not extended to a year",
        area: super::AREA,
        severity: Severity::Medium,
        roles: super::ROLES,
        rationale: "With `--service-account-extend-token-expiration` (true by default) the tokens kubelets mount into pods are valid for a year instead of about an hour, so a token stolen from a pod stays usable long after the pod is gone. It exists to ease migration from legacy tokens; clients that refresh tokens (client-go since 1.21) do not need it.",
        remediation: "Set `--service-account-extend-token-expiration=false` on the kube-apiserver once no client reads its token only once (watch the `kubernetes.io/legacy-token` / stale-token audit annotations first).",
        cis: &["1.2.30"],
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
    super::judge_flag(
        ctx,
        "service-account-extend-token-expiration",
        Some("true"),
        "false",
        &|v| v.and_then(parse_bool) == Some(false),
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
                (&[], Status::Fail),
                (
                    &["--service-account-extend-token-expiration=false"],
                    Status::Pass,
                ),
                (
                    &["--service-account-extend-token-expiration=true"],
                    Status::Fail,
                ),
            ],
        );
    }
}
