//! `sshd.max-sessions`: a bounded number of sessions per connection.

use crate::checks::{
    ALL_ROLES, Check, CheckMeta, Ctx, Fix, ParamDefault, ParamSpec, Remedy, Verdict,
};
use nodecheck_report::Severity;

pub const MAX: ParamSpec = ParamSpec {
    name: "max",
    default: ParamDefault::Integer(10),
    doc: "Largest accepted MaxSessions.",
};

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "sshd.max-sessions",
        title: "MaxSessions is 10 or less",
        area: super::AREA,
        severity: Severity::Low,
        roles: ALL_ROLES,
        rationale: "Each multiplexed connection may open this many sessions; a bound limits what one stolen connection can do and how much it can consume.",
        remediation: "Set `MaxSessions 10` (or lower) in the sshd configuration and reload sshd.",
        cis: &[],
        references: &["CIS Ubuntu Linux 24.04 LTS Benchmark v1.0.0 5.1.17"],
        params: &[MAX],
    },
    run,
    fix: Fix::Settings(fix),
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    let max = ctx.params.int(&MAX);
    super::judge_integer(
        ctx,
        "maxsessions",
        "MaxSessions",
        &format!("{max} or less"),
        &|v| v <= max,
    )
}

/// The profile's bound itself (10 by default).
fn fix(ctx: &Ctx<'_>, verdict: &Verdict) -> Vec<Remedy> {
    let value = ctx.params.int(&MAX).to_string();
    crate::checks::fix::sshd_values(verdict, &[("MaxSessions", &value)])
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
                ("MaxSessions 11\n", Status::Fail),
                ("Match Group ops\nMaxSessions 50\n", Status::Fail),
            ],
        );
        assert_sshd_na_and_error(&CHECK);
    }
}
