//! `controller-manager.terminated-pod-gc`: terminated pods are garbage-collected at a bound.

use crate::checks::{Check, CheckMeta, Ctx, Fix, ParamDefault, ParamSpec, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "controller-manager.terminated-pod-gc",
        title: "Terminated pods are garbage-collected",
        area: super::AREA,
        severity: Severity::Info,
        roles: super::ROLES,
        rationale: "Terminated pods stay in etcd until the pod garbage collector removes them above `--terminated-pod-gc-threshold` (default 12500); a threshold of 0 or below turns the collector off and lets them pile up. CIS asks for an explicit threshold sized to the cluster (cis profile: require_explicit); the default is a bound, so the default profile passes it.",
        remediation: "Set `--terminated-pod-gc-threshold` on the kube-controller-manager to a bound that fits the cluster (rke2 uses 1000).",
        cis: &["1.3.1"],
        references: &[
            "https://kubernetes.io/docs/reference/command-line-tools-reference/kube-controller-manager/",
        ],
        params: &[REQUIRE_EXPLICIT],
    },
    run,
    fix: Fix::Settings(fix),
};

pub const REQUIRE_EXPLICIT: ParamSpec = ParamSpec {
    name: "require_explicit",
    default: ParamDefault::Bool(false),
    doc: "Fail when --terminated-pod-gc-threshold is unset (the 12500 default) as CIS words it.",
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    let require_explicit = ctx.params.flag(&REQUIRE_EXPLICIT);
    crate::checks::component::judge_setting(
        super::found(ctx),
        super::NAME,
        "terminated-pod-gc-threshold",
        None,
        (!require_explicit).then_some("12500"),
        "a threshold above 0",
        &|v| v.and_then(|v| v.parse::<i64>().ok()).is_some_and(|n| n > 0),
    )
}

fn fix(_: &Ctx<'_>, verdict: &Verdict) -> Vec<crate::checks::Remedy> {
    crate::checks::fix::component_flag(
        verdict,
        super::NAME,
        "terminated-pod-gc-threshold",
        crate::checks::FlagChange::Set("12500".into()),
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
                (&[], Status::Pass),
                (&["--terminated-pod-gc-threshold=1000"], Status::Pass),
                (&["--terminated-pod-gc-threshold=0"], Status::Fail),
                (&["--terminated-pod-gc-threshold=lots"], Status::Fail),
            ],
        );
        let mut params = crate::checks::Params::defaults(&CHECK.meta);
        params.0.insert(
            "require_explicit".into(),
            crate::checks::ParamValue::Bool(true),
        );
        let facts = component_facts(&[], &crate::facts::components::CONTROLLER_MANAGER, &[]);
        let verdict = judge_with(
            &CHECK,
            &facts,
            &[nodecheck_report::Role::ControlPlane],
            &params,
        );
        assert_eq!(verdict.status, Status::Fail);
    }
}
