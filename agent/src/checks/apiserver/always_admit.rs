//! `apiserver.always-admit`: the AlwaysAdmit admission plugin is off.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "apiserver.always-admit",
        title: "The AlwaysAdmit admission plugin is not enabled",
        area: super::AREA,
        severity: Severity::Low,
        roles: super::ROLES,
        rationale: "AlwaysAdmit admits every request; it is deprecated and does nothing a real plugin does not. It cannot override the other plugins, but a list that needs it is usually a list from a time before admission control was trusted, and CIS refuses it.",
        remediation: "Remove AlwaysAdmit from `--enable-admission-plugins` (or from the deprecated `--admission-control`) on the kube-apiserver.",
        cis: &["1.2.10"],
        references: &[
            "https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/#alwaysadmit",
        ],
        params: &[],
    },
    run,
    fix: Fix::Settings(fix),
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    super::judge_admission_plugin(ctx, "AlwaysAdmit", false)
}

fn fix(_: &Ctx<'_>, verdict: &Verdict) -> Vec<crate::checks::Remedy> {
    super::admission_fix(verdict, "AlwaysAdmit", false)
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
                    &["--enable-admission-plugins=NodeRestriction,AlwaysAdmit"],
                    Status::Fail,
                ),
                (
                    &["--admission-control=AlwaysAdmit,NodeRestriction"],
                    Status::Fail,
                ),
            ],
        );
    }
}
