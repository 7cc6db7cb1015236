//! `sshd.x11-forwarding`: X11 forwarding is disabled.

use crate::checks::{ALL_ROLES, Check, CheckMeta, Ctx, Fix, Remedy, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "sshd.x11-forwarding",
        title: "X11 forwarding is disabled",
        area: super::AREA,
        severity: Severity::Medium,
        roles: ALL_ROLES,
        rationale: "X11 forwarding exposes the client's display to the server and the server's users to X11 attacks; servers do not need it. Debian's and RHEL's stock configurations turn it on.",
        remediation: "Set `X11Forwarding no` in the sshd configuration (Debian: edit the line in /etc/ssh/sshd_config; RHEL: 50-redhat.conf) and reload sshd.",
        cis: &[],
        references: &[
            "CIS Ubuntu Linux 24.04 LTS Benchmark v1.0.0 5.1.8",
            "https://man.openbsd.org/sshd_config#X11Forwarding",
        ],
        params: &[],
    },
    run,
    fix: Fix::Settings(fix),
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    super::judge_values(ctx, "x11forwarding", "X11Forwarding", &["no"])
}

/// `X11Forwarding no` wherever it fails.
fn fix(_: &Ctx<'_>, verdict: &Verdict) -> Vec<Remedy> {
    crate::checks::fix::sshd_values(verdict, &[("X11Forwarding", "no")])
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
                ("X11Forwarding yes\n", Status::Fail),
                ("Match User x\nX11Forwarding yes\n", Status::Fail),
            ],
        );
        assert_sshd_na_and_error(&CHECK);
    }
}
