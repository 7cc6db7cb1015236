//! `sshd.ignore-rhosts`: sshd ignores .rhosts and .shosts files.

use crate::checks::{ALL_ROLES, Check, CheckMeta, Ctx, Fix, Remedy, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "sshd.ignore-rhosts",
        title: "sshd ignores .rhosts and .shosts files",
        area: super::AREA,
        severity: Severity::High,
        roles: ALL_ROLES,
        rationale: "With IgnoreRhosts off, a user's ~/.rhosts or ~/.shosts can grant logins without a password or key.",
        remediation: "Set `IgnoreRhosts yes` in the sshd configuration and reload sshd.",
        cis: &[],
        references: &["CIS Ubuntu Linux 24.04 LTS Benchmark v1.0.0 5.1.11"],
        params: &[],
    },
    run,
    fix: Fix::Settings(fix),
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    super::judge_values(ctx, "ignorerhosts", "IgnoreRhosts", &["yes"])
}

/// `IgnoreRhosts yes` wherever it fails.
fn fix(_: &Ctx<'_>, verdict: &Verdict) -> Vec<Remedy> {
    crate::checks::fix::sshd_values(verdict, &[("IgnoreRhosts", "yes")])
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
                ("IgnoreRhosts no\n", Status::Fail),
                ("IgnoreRhosts shosts-only\n", Status::Fail),
                ("Match User x\nIgnoreRhosts no\n", Status::Fail),
            ],
        );
        assert_sshd_na_and_error(&CHECK);
    }
}
