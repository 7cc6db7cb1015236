//! `sshd.hostbased-auth`: Host-based authentication is disabled.

use crate::checks::{ALL_ROLES, Check, CheckMeta, Ctx, Fix, Remedy, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "sshd.hostbased-auth",
        title: "Host-based authentication is disabled",
        area: super::AREA,
        severity: Severity::High,
        roles: ALL_ROLES,
        rationale: "Host-based authentication trusts a client host's key and its .rhosts/.shosts files: one compromised host becomes a login to every node that trusts it.",
        remediation: "Set `HostbasedAuthentication no` in the sshd configuration and reload sshd.",
        cis: &[],
        references: &["CIS Ubuntu Linux 24.04 LTS Benchmark v1.0.0 5.1.10"],
        params: &[],
    },
    run,
    fix: Fix::Settings(fix),
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    super::judge_values(
        ctx,
        "hostbasedauthentication",
        "HostbasedAuthentication",
        &["no"],
    )
}

/// `HostbasedAuthentication no` wherever it fails.
fn fix(_: &Ctx<'_>, verdict: &Verdict) -> Vec<Remedy> {
    crate::checks::fix::sshd_values(verdict, &[("HostbasedAuthentication", "no")])
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
                ("HostbasedAuthentication yes\n", Status::Fail),
                (
                    "Match Address 10.0.0.0/8\nHostbasedAuthentication yes\n",
                    Status::Fail,
                ),
            ],
        );
        assert_sshd_na_and_error(&CHECK);
    }
}
