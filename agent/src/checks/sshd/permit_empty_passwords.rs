//! `sshd.permit-empty-passwords`: Logins with empty passwords are refused.

use crate::checks::{ALL_ROLES, Check, CheckMeta, Ctx, Fix, Remedy, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "sshd.permit-empty-passwords",
        title: "Logins with empty passwords are refused",
        area: super::AREA,
        severity: Severity::Critical,
        roles: ALL_ROLES,
        rationale: "An account with an empty password becomes a login for anyone who can reach sshd.",
        remediation: "Set `PermitEmptyPasswords no` in the sshd configuration and reload sshd.",
        cis: &[],
        references: &[
            "CIS Ubuntu Linux 24.04 LTS Benchmark v1.0.0 5.1.19",
            "https://man.openbsd.org/sshd_config#PermitEmptyPasswords",
        ],
        params: &[],
    },
    run,
    fix: Fix::Settings(fix),
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    super::judge_values(ctx, "permitemptypasswords", "PermitEmptyPasswords", &["no"])
}

/// `PermitEmptyPasswords no` wherever it fails.
fn fix(_: &Ctx<'_>, verdict: &Verdict) -> Vec<Remedy> {
    crate::checks::fix::sshd_values(verdict, &[("PermitEmptyPasswords", "no")])
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
                ("PermitEmptyPasswords yes\n", Status::Fail),
                ("permitemptypasswords=YES\n", Status::Fail),
                ("Match all\nPermitEmptyPasswords yes\n", Status::Fail),
            ],
        );
        assert_sshd_na_and_error(&CHECK);
    }
}
