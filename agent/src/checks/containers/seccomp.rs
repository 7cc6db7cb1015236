//! `containers.seccomp`: Container processes run under a seccomp filter.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "containers.seccomp",
        title: "Container processes run under a seccomp filter",
        area: super::AREA,
        severity: Severity::Medium,
        roles: super::ROLES,
        rationale: "An unconfined container can call every syscall of the kernel, including the rarely used ones where kernel escapes are found. The kubelet's seccompDefault or a pod's RuntimeDefault profile closes most of them.",
        remediation: "Set `securityContext.seccompProfile.type: RuntimeDefault` on the pods (or `seccompDefault: true` on the kubelet).",
        cis: &[],
        references: &["CIS Kubernetes Benchmark v1.12 5.6.2"],
        params: &[super::EXEMPT_PARAM],
    },
    run,
    fix: Fix::Manual,
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    super::judge_containers(
        ctx,
        "seccomp",
        "a seccomp filter (mode 2) or strict mode",
        &|p| match p.seccomp {
            Some(0) => (Ok(false), "seccomp disabled (unconfined)".to_string()),
            Some(m) => (Ok(true), format!("seccomp mode {m}")),
            None => (
                Err("seccomp mode not reported by the kernel".into()),
                String::new(),
            ),
        },
    )
}
