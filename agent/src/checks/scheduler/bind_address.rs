//! `scheduler.bind-address`: the scheduler serves on loopback only.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "scheduler.bind-address",
        title: "The scheduler serves on loopback only",
        area: super::AREA,
        severity: Severity::Medium,
        roles: super::ROLES,
        rationale: "The scheduler's secure port (10259) serves health, metrics and, with profiling, pprof; `--bind-address` defaults to 0.0.0.0 (the configuration file has no such field since v1beta3), exposing them on every interface. kubeadm sets 127.0.0.1. kube-bench passes an unset `--bind-address`, which is the 0.0.0.0 default: wrong.",
        remediation: "Set `--bind-address=127.0.0.1` on the kube-scheduler.",
        cis: &["1.4.2"],
        references: &[
            "https://kubernetes.io/docs/reference/command-line-tools-reference/kube-scheduler/",
        ],
        params: &[],
    },
    run,
    fix: Fix::Settings(fix),
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    crate::checks::component::judge_secure_bind_address(ctx, super::found(ctx), super::NAME, 10259)
}

fn fix(_: &Ctx<'_>, verdict: &Verdict) -> Vec<crate::checks::Remedy> {
    crate::checks::fix::component_flag(
        verdict,
        super::NAME,
        "bind-address",
        crate::checks::FlagChange::Set("127.0.0.1".into()),
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
            &crate::facts::components::SCHEDULER,
            &[
                (&[], Status::Fail),
                (&["--bind-address=127.0.0.1"], Status::Pass),
                (&["--bind-address=0.0.0.0"], Status::Fail),
            ],
        );
    }
}
