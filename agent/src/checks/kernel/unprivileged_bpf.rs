//! `kernel.unprivileged-bpf`: Unprivileged users cannot load BPF programs.

use super::{Missing, Want, judge};
use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "kernel.unprivileged-bpf",
        title: "Unprivileged users cannot load BPF programs",
        area: super::AREA,
        severity: Severity::Medium,
        roles: super::ALL,
        rationale: "The BPF verifier is one of the kernel's largest attack surfaces: bugs in it have given unprivileged users root more than once (CVE-2021-3490 among them). With `kernel.unprivileged_bpf_disabled` 0 every local user and container process may load programs; Kubernetes' own BPF users (Cilium, Calico's eBPF data plane) are privileged and do not need it.",
        remediation: "`echo 'kernel.unprivileged_bpf_disabled = 1' > /etc/sysctl.d/60-kernel-hardening.conf && sysctl --system` (1 cannot be undone until reboot; 2 can be lowered by root).",
        cis: &[],
        references: &[
            "https://docs.kernel.org/admin-guide/sysctl/kernel.html#unprivileged-bpf-disabled",
            "CVE-2021-3490",
        ],
        params: &[],
    },
    run,
    fix: Fix::Settings(fix),
};

const WANTS: &[Want] = &[
    Want::new("kernel.unprivileged_bpf_disabled", "1 or 2", |v| {
        v == 1 || v == 2
    })
    .or_missing(Missing::NotApplicable(
        "this kernel has no bpf() system call (CONFIG_BPF_SYSCALL is off)",
    )),
];

fn run(ctx: &Ctx<'_>) -> Verdict {
    judge(
        ctx,
        WANTS,
        "kernel.unprivileged_bpf_disabled keeps BPF to privileged users",
    )
}

/// Each failing key in a `sysctl.d` file read last.
fn fix(ctx: &Ctx<'_>, verdict: &Verdict) -> Vec<crate::checks::Remedy> {
    super::fix_wants(ctx, verdict, WANTS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::kernel::testing::*;
    use nodecheck_report::Status;

    #[test]
    fn verdicts() {
        assert_eq!(
            status_with(&CHECK, &[("kernel.unprivileged_bpf_disabled", Some("2"))]),
            Status::Pass
        );
        assert_eq!(
            status_with(&CHECK, &[("kernel.unprivileged_bpf_disabled", Some("0"))]),
            Status::Fail
        );
        assert_eq!(
            status_with(&CHECK, &[("kernel.unprivileged_bpf_disabled", None)]),
            Status::NotApplicable
        );
        // A copy of a node that recorded no sysctl cannot pass.
        assert_eq!(
            judge_all(&CHECK, &crate::checks::testing::empty_facts()).status,
            Status::Error
        );
    }
}
