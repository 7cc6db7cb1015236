//! `sshd.login-grace-time`: unauthenticated connections are dropped quickly.

use crate::checks::{
    ALL_ROLES, Check, CheckMeta, Ctx, Fix, ParamDefault, ParamSpec, Remedy, Verdict,
};
use nodecheck_report::Severity;

pub const MAX: ParamSpec = ParamSpec {
    name: "max",
    default: ParamDefault::Integer(60),
    doc: "Largest accepted LoginGraceTime, in seconds.",
};

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "sshd.login-grace-time",
        title: "LoginGraceTime is between 1 and 60 seconds",
        area: super::AREA,
        severity: Severity::Low,
        roles: ALL_ROLES,
        rationale: "A long grace time lets unauthenticated connections pile up and exhaust MaxStartups; 0 means no limit at all.",
        remediation: "Set `LoginGraceTime 60` (or lower) in the sshd configuration and reload sshd.",
        cis: &[],
        references: &["CIS Ubuntu Linux 24.04 LTS Benchmark v1.0.0 5.1.13"],
        params: &[MAX],
    },
    run,
    fix: Fix::Settings(fix),
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    let max = ctx.params.int(&MAX);
    super::judge_integer(
        ctx,
        "logingracetime",
        "LoginGraceTime",
        &format!("1 to {max} seconds"),
        &|v| (1..=max).contains(&v),
    )
}

/// The profile's bound itself (60 seconds by default).
fn fix(ctx: &Ctx<'_>, verdict: &Verdict) -> Vec<Remedy> {
    let value = ctx.params.int(&MAX).to_string();
    crate::checks::fix::sshd_values(verdict, &[("LoginGraceTime", &value)])
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
                ("LoginGraceTime 1m\n", Status::Pass),
                ("LoginGraceTime 30s\n", Status::Pass),
                ("", Status::Fail),
                ("LoginGraceTime 0\n", Status::Fail),
                ("LoginGraceTime 1m1s\n", Status::Fail),
            ],
        );
        assert_sshd_na_and_error(&CHECK);
    }
}
