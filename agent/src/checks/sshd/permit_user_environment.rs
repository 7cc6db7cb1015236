//! `sshd.permit-user-environment`: Users cannot pass environment variables to sshd.

use crate::checks::{ALL_ROLES, Check, CheckMeta, Ctx, Fix, Remedy, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "sshd.permit-user-environment",
        title: "Users cannot pass environment variables to sshd",
        area: super::AREA,
        severity: Severity::Medium,
        roles: ALL_ROLES,
        rationale: "PermitUserEnvironment lets users set variables such as LD_PRELOAD through ~/.ssh/environment, which can bypass ForceCommand and other restrictions.",
        remediation: "Set `PermitUserEnvironment no` in the sshd configuration and reload sshd.",
        cis: &[],
        references: &["CIS Ubuntu Linux 24.04 LTS Benchmark v1.0.0 5.1.21"],
        params: &[],
    },
    run,
    fix: Fix::Settings(fix),
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    super::judge_values(
        ctx,
        "permituserenvironment",
        "PermitUserEnvironment",
        &["no"],
    )
}

/// `PermitUserEnvironment no` wherever it fails.
fn fix(_: &Ctx<'_>, verdict: &Verdict) -> Vec<Remedy> {
    crate::checks::fix::sshd_values(verdict, &[("PermitUserEnvironment", "no")])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use nodecheck_report::Status;

    #[test]
    fn verdicts() {
        assert_cases(
            &CHECK,
            &[
                ("", Status::Pass),
                ("PermitUserEnvironment yes\n", Status::Fail),
                ("PermitUserEnvironment LANG,LC_*\n", Status::Fail),
            ],
        );
        assert_sshd_na_and_error(&CHECK);
    }
}
