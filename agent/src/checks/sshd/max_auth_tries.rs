//! `sshd.max-auth-tries`: few authentication attempts per connection.

use crate::checks::{
    ALL_ROLES, Check, CheckMeta, Ctx, Fix, ParamDefault, ParamSpec, Remedy, Verdict,
};
use nodecheck_report::Severity;

pub const MAX: ParamSpec = ParamSpec {
    name: "max",
    default: ParamDefault::Integer(4),
    doc: "Largest accepted MaxAuthTries (dev-sec uses 2).",
};

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "sshd.max-auth-tries",
        title: "MaxAuthTries is 4 or less",
        area: super::AREA,
        severity: Severity::Medium,
        roles: ALL_ROLES,
        rationale: "Each connection may try this many authentications; a low limit slows password guessing and makes brute force visible in the logs.",
        remediation: "Set `MaxAuthTries 4` (or lower) in the sshd configuration and reload sshd.",
        cis: &[],
        references: &["CIS Ubuntu Linux 24.04 LTS Benchmark v1.0.0 5.1.16"],
        params: &[MAX],
    },
    run,
    fix: Fix::Settings(fix),
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    let max = ctx.params.int(&MAX);
    super::judge_integer(
        ctx,
        "maxauthtries",
        "MaxAuthTries",
        &format!("{max} or less"),
        &|v| v <= max,
    )
}

/// The profile's bound itself (4 by default).
fn fix(ctx: &Ctx<'_>, verdict: &Verdict) -> Vec<Remedy> {
    let value = ctx.params.int(&MAX).to_string();
    crate::checks::fix::sshd_values(verdict, &[("MaxAuthTries", &value)])
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
                ("MaxAuthTries 3\n", Status::Pass),
                ("", Status::Fail),
                (
                    "MaxAuthTries 3\nMatch User x\nMaxAuthTries 10\n",
                    Status::Fail,
                ),
            ],
        );
        assert_sshd_na_and_error(&CHECK);
    }
}
