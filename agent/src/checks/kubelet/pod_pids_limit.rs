//! `kubelet.pod-pids-limit`: Pods have a process limit.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use crate::parse::kubelet::KValue;
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "kubelet.pod-pids-limit",
        title: "Pods have a process limit",
        area: super::AREA,
        severity: Severity::Low,
        roles: super::ROLES,
        rationale: "Without a PID limit one pod's fork bomb exhausts the node's PIDs and takes every other pod and the kubelet down with it. The default (-1) is unlimited.",
        remediation: "Set `podPidsLimit` (e.g. 4096) in the kubelet config file and restart the kubelet.",
        cis: &["4.2.13"],
        references: &["https://kubernetes.io/docs/reference/config-api/kubelet-config.v1beta1/"],
        params: &[],
    },
    run,
    fix: Fix::Manual,
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    super::judge_field(
        ctx,
        "podPidsLimit",
        "above 0",
        &|v| matches!(v, Some(KValue::Int(n)) if *n > 0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use nodecheck_report::Status;

    #[test]
    fn verdicts() {
        assert_kubelet_cases(
            &CHECK,
            &[
                ("", &[], Status::Fail),
                ("podPidsLimit: 4096\n", &[], Status::Pass),
                ("podPidsLimit: -1\n", &[], Status::Fail),
                ("", &["--pod-max-pids=1024"], Status::Pass),
            ],
        );
        assert_kubelet_refused_is_error(&CHECK);
    }
}
