//! `sshd.gssapi`: GSSAPI authentication is disabled.

use crate::checks::{ALL_ROLES, Check, CheckMeta, Ctx, Fix, Remedy, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "sshd.gssapi",
        title: "GSSAPI authentication is disabled",
        area: super::AREA,
        severity: Severity::Info,
        roles: ALL_ROLES,
        rationale: "GSSAPI (Kerberos) authentication adds a large attack surface that few Kubernetes nodes need; CIS Level 2 servers disable it.",
        remediation: "Set `GSSAPIAuthentication no` in /etc/ssh/sshd_config (above any Include and Match lines, or in a drop-in that is read first), then reload sshd.",
        cis: &[],
        references: &["CIS Ubuntu Linux 24.04 LTS Benchmark v1.0.0 5.1.9"],
        params: &[],
    },
    run,
    fix: Fix::Settings(fix),
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    super::judge_values(ctx, "gssapiauthentication", "GSSAPIAuthentication", &["no"])
}

/// `GSSAPIAuthentication no` wherever it fails.
fn fix(_: &Ctx<'_>, verdict: &Verdict) -> Vec<Remedy> {
    crate::checks::fix::sshd_values(verdict, &[("GSSAPIAuthentication", "no")])
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
                ("GSSAPIAuthentication yes\n", Status::Fail),
                ("Match User x\n  GSSAPIAuthentication yes\n", Status::Fail),
            ],
        );
        assert_sshd_na_and_error(&CHECK);
    }
}
