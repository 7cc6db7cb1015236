//! `controller-manager.profiling`: controller manager profiling is off.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use crate::parse::flags::parse_bool;
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "controller-manager.profiling",
        title: "Controller manager profiling is disabled",
        area: super::AREA,
        severity: Severity::Low,
        roles: super::ROLES,
        rationale: "The controller manager serves /debug/pprof to anyone its authorization allows; profiles expose internals and cost CPU. `--profiling` is on by default, and kubeadm leaves it on.",
        remediation: "Add `--profiling=false` to the kube-controller-manager command.",
        cis: &["1.3.2"],
        references: &[
            "https://kubernetes.io/docs/reference/command-line-tools-reference/kube-controller-manager/",
        ],
        params: &[],
    },
    run,
    fix: Fix::Settings(fix),
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    crate::checks::component::judge_setting(
        super::found(ctx),
        super::NAME,
        "profiling",
        None,
        Some("true"),
        "false",
        &|v| v.and_then(parse_bool) == Some(false),
    )
}

fn fix(_: &Ctx<'_>, verdict: &Verdict) -> Vec<crate::checks::Remedy> {
    crate::checks::fix::component_flag(
        verdict,
        super::NAME,
        "profiling",
        crate::checks::FlagChange::Set("false".into()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use nodecheck_report::Status;

    #[test]
    fn verdicts() {
        assert_kind_cases(
            &CHECK,
            &crate::facts::components::CONTROLLER_MANAGER,
            &[
                (&[], Status::Fail),
                (&["--profiling=false"], Status::Pass),
                (&["--profiling"], Status::Fail),
            ],
        );
    }
}
