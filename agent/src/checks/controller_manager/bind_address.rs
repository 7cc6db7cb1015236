//! `controller-manager.bind-address`: the controller manager serves on loopback only.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "controller-manager.bind-address",
        title: "The controller manager serves on loopback only",
        area: super::AREA,
        severity: Severity::Medium,
        roles: super::ROLES,
        rationale: "The controller manager's secure port (10257) serves health, metrics and, with profiling, pprof; `--bind-address` defaults to 0.0.0.0, which exposes them on every interface. kubeadm sets 127.0.0.1. kube-bench passes an unset `--bind-address`, which is the 0.0.0.0 default: wrong.",
        remediation: "Set `--bind-address=127.0.0.1` on the kube-controller-manager.",
        cis: &["1.3.7"],
        references: &[
            "https://kubernetes.io/docs/reference/command-line-tools-reference/kube-controller-manager/",
        ],
        params: &[],
    },
    run,
    fix: Fix::Settings(fix),
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    crate::checks::component::judge_secure_bind_address(ctx, super::found(ctx), super::NAME, 10257)
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
            &crate::facts::components::CONTROLLER_MANAGER,
            &[
                (&[], Status::Fail),
                (&["--bind-address=127.0.0.1"], Status::Pass),
                (&["--bind-address=0.0.0.0"], Status::Fail),
                (&["--bind-address=::1"], Status::Pass),
                (&["--bind-address=10.0.0.5"], Status::Fail),
            ],
        );
    }
}
