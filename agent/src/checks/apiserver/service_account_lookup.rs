//! `apiserver.service-account-lookup`: revoked ServiceAccount tokens are refused.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use crate::parse::flags::parse_bool;
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "apiserver.service-account-lookup",
        title: "The API server checks that a ServiceAccount token still exists",
        area: super::AREA,
        severity: Severity::High,
        roles: super::ROLES,
        rationale: "With `--service-account-lookup=false` a legacy ServiceAccount token stays valid after its secret or ServiceAccount is deleted, so a leaked token cannot be revoked. It is true by default.",
        remediation: "Remove `--service-account-lookup=false` from the kube-apiserver (or set it to true).",
        cis: &["1.2.21"],
        references: &[
            "https://kubernetes.io/docs/reference/command-line-tools-reference/kube-apiserver/",
        ],
        params: &[],
    },
    run,
    fix: Fix::Settings(fix),
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    super::judge_flag(ctx, "service-account-lookup", Some("true"), "true", &|v| {
        v.and_then(parse_bool) == Some(true)
    })
}

fn fix(_: &Ctx<'_>, verdict: &Verdict) -> Vec<crate::checks::Remedy> {
    crate::checks::fix::component_flag(
        verdict,
        super::NAME,
        "service-account-lookup",
        crate::checks::FlagChange::Set("true".into()),
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
                (&[], Status::Pass),
                (&["--service-account-lookup=true"], Status::Pass),
                (&["--service-account-lookup=false"], Status::Fail),
            ],
        );
    }
}
