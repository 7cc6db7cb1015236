//! `sshd.client-alive`: idle sessions are probed and dropped.

use crate::checks::{
    ALL_ROLES, Check, CheckMeta, Ctx, Fix, ParamDefault, ParamSpec, Remedy, Verdict,
};
use nodecheck_report::Severity;

pub const MAX_INTERVAL: ParamSpec = ParamSpec {
    name: "max_interval",
    default: ParamDefault::Integer(300),
    doc: "Largest accepted ClientAliveInterval, in seconds.",
};

pub const MAX_COUNT: ParamSpec = ParamSpec {
    name: "max_count",
    default: ParamDefault::Integer(3),
    doc: "Largest accepted ClientAliveCountMax.",
};

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "sshd.client-alive",
        title: "Idle sessions time out (ClientAliveInterval and ClientAliveCountMax)",
        area: super::AREA,
        severity: Severity::Low,
        roles: ALL_ROLES,
        rationale: "ClientAliveInterval 0 (the default) disables the probe: an abandoned session stays open forever. Both values must be above 0; the upper bounds keep the timeout short.",
        remediation: "Set `ClientAliveInterval 300` and `ClientAliveCountMax 3` (or lower) in the sshd configuration and reload sshd.",
        cis: &[],
        references: &["CIS Ubuntu Linux 24.04 LTS Benchmark v1.0.0 5.1.7"],
        params: &[MAX_INTERVAL, MAX_COUNT],
    },
    run,
    fix: Fix::Settings(fix),
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    let max_interval = ctx.params.int(&MAX_INTERVAL);
    let max_count = ctx.params.int(&MAX_COUNT);
    let sshd = match super::accepted(ctx) {
        Ok(s) => s,
        Err(v) => return v,
    };
    let in_range = |max: i64| {
        move |s: &crate::parse::sshd::Setting| {
            s.value().parse::<i64>().is_ok_and(|v| v > 0 && v <= max)
        }
    };
    let interval_expected = format!("1 to {max_interval} seconds (0 disables the probe)");
    let count_expected = format!("1 to {max_count}");
    let mut items = super::option_evidence(
        sshd,
        "clientaliveinterval",
        "ClientAliveInterval",
        &interval_expected,
        &in_range(max_interval),
    );
    items.extend(super::option_evidence(
        sshd,
        "clientalivecountmax",
        "ClientAliveCountMax",
        &count_expected,
        &in_range(max_count),
    ));
    Verdict::from_evidence(
        items,
        format!(
            "idle sessions time out after {}s × {}",
            sshd.global.value("clientaliveinterval"),
            sshd.global.value("clientalivecountmax")
        ),
        |failing| super::failing_message(failing, "both above 0 and within the bounds"),
    )
}

/// The profile's bounds themselves (300 seconds, 3 probes by default).
fn fix(ctx: &Ctx<'_>, verdict: &Verdict) -> Vec<Remedy> {
    let interval = ctx.params.int(&MAX_INTERVAL).max(1).to_string();
    let count = ctx.params.int(&MAX_COUNT).max(1).to_string();
    crate::checks::fix::sshd_values(
        verdict,
        &[
            ("ClientAliveInterval", &interval),
            ("ClientAliveCountMax", &count),
        ],
    )
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
                (
                    "ClientAliveInterval 5m\nClientAliveCountMax 3\n",
                    Status::Pass,
                ),
                ("", Status::Fail),
                (
                    "ClientAliveInterval 300\nClientAliveCountMax 0\n",
                    Status::Fail,
                ),
                ("ClientAliveInterval 900\n", Status::Fail),
                (
                    "ClientAliveInterval 60\nMatch User x\nClientAliveInterval 0\n",
                    Status::Fail,
                ),
            ],
        );
        assert_sshd_na_and_error(&CHECK);
    }
}
