//! `kubelet.protect-kernel-defaults`: The kubelet refuses to run on unexpected kernel tunables.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use crate::parse::kubelet::KValue;
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "kubelet.protect-kernel-defaults",
        title: "The kubelet refuses to run on unexpected kernel tunables",
        area: super::AREA,
        severity: Severity::Low,
        roles: super::ROLES,
        rationale: "With protectKernelDefaults the kubelet fails instead of silently running with kernel settings (vm.overcommit_memory, kernel.panic, …) that differ from what it needs. Dropped from CIS 1.7 and later, kept as low severity.",
        remediation: "Set the kernel tunables the kubelet expects, then `protectKernelDefaults: true` in the kubelet config file, and restart the kubelet.",
        cis: &[],
        references: &["CIS Kubernetes Benchmark v1.24 4.2.6"],
        params: &[],
    },
    run,
    fix: Fix::Settings(fix),
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    super::judge_field(ctx, "protectKernelDefaults", "true", &|v| {
        matches!(v, Some(KValue::Bool(true)))
    })
}

/// `protectKernelDefaults: true`, when the kernel's tunables already are what it demands.
fn fix(ctx: &Ctx<'_>, verdict: &Verdict) -> Vec<crate::checks::Remedy> {
    // A kubelet that protects kernel defaults refuses to start on a kernel whose tunables
    // differ: proposed only once kernel.kubelet-tunables passes.
    let tunables = crate::checks::kernel::kubelet_tunables::CHECK;
    if (tunables.run)(ctx).status != nodecheck_report::Status::Pass {
        return vec![crate::checks::Remedy::NotHere {
            why: "the kernel's tunables are not yet what a kubelet that protects them demands (kernel.kubelet-tunables), and such a kubelet would not start".into(),
        }];
    }
    crate::checks::fix::kubelet_values(
        verdict,
        &[("protectKernelDefaults", serde_json::json!(true))],
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
                ("protectKernelDefaults: true\n", &[], Status::Pass),
            ],
        );
        assert_kubelet_refused_is_error(&CHECK);
    }
}
