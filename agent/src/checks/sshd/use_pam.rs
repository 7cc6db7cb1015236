//! `sshd.use-pam`: sshd uses PAM.

use crate::checks::{ALL_ROLES, Check, CheckMeta, Ctx, Fix, Remedy, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "sshd.use-pam",
        title: "sshd uses PAM",
        area: super::AREA,
        severity: Severity::Low,
        roles: ALL_ROLES,
        rationale: "Without PAM, account lockout, password policy and session limits configured in PAM do not apply to SSH logins. Note that OpenSSH's compiled default is `no`; distributions turn it on in their sshd_config.",
        remediation: "Set `UsePAM yes` in the sshd configuration and restart sshd.",
        cis: &[],
        references: &["CIS Ubuntu Linux 24.04 LTS Benchmark v1.0.0 5.1.22"],
        params: &[],
    },
    run,
    fix: Fix::Settings(fix),
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    super::judge_values(ctx, "usepam", "UsePAM", &["yes"])
}

/// `UsePAM yes`.
fn fix(_: &Ctx<'_>, verdict: &Verdict) -> Vec<Remedy> {
    crate::checks::fix::sshd_values(verdict, &[("UsePAM", "yes")])
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
                ("UsePAM yes\n", Status::Pass),
                ("", Status::Fail),
                ("UsePAM no\n", Status::Fail),
            ],
        );
        assert_sshd_na_and_error(&CHECK);
    }
}
