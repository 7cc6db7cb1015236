//! `sshd.banner`: a warning banner is shown before login.

use crate::checks::{ALL_ROLES, Check, CheckMeta, Ctx, Fix, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "sshd.banner",
        title: "A login banner is configured",
        area: super::AREA,
        severity: Severity::Info,
        roles: ALL_ROLES,
        rationale: "A banner states the terms of access before authentication, which some jurisdictions require before unauthorized access can be prosecuted.",
        remediation: "Set `Banner /etc/issue.net` in the sshd configuration, put the site's warning text in that file, and reload sshd.",
        cis: &[],
        references: &["CIS Ubuntu Linux 24.04 LTS Benchmark v1.0.0 5.1.5"],
        params: &[],
    },
    run,
    fix: Fix::Manual,
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    super::judge_option(ctx, "banner", "Banner", "a file (not none)", &|s| {
        !s.value().eq_ignore_ascii_case("none")
    })
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
                ("Banner /etc/issue.net\n", Status::Pass),
                ("Banner \"/etc/issue net\"\n", Status::Pass),
                ("", Status::Fail),
                ("Banner None\n", Status::Fail),
                (
                    "Banner /etc/issue.net\nMatch User x\nBanner none\n",
                    Status::Fail,
                ),
            ],
        );
        assert_sshd_na_and_error(&CHECK);
    }
}
