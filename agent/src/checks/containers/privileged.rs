//! `containers.privileged`: No container process is privileged.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use crate::facts::containers::{CAP_SYS_ADMIN, capability_names};
use nodecheck_report::Severity;

/// Every capability the kernel knows (41 in Linux 5.9+).
const FULL: u64 = (1 << 41) - 1;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "containers.privileged",
        title: "No container process is privileged",
        area: super::AREA,
        severity: Severity::Critical,
        roles: super::ROLES,
        rationale: "A privileged container (every capability) or one with CAP_SYS_ADMIN can mount the host's filesystems, load kernel modules through helpers, and escape at will. Capabilities in a user namespace do not reach the host and pass.",
        remediation: "Remove `privileged: true` and `CAP_SYS_ADMIN`; drop all capabilities and add back only what the workload needs.",
        cis: &[],
        references: &[
            "https://kubernetes.io/docs/concepts/security/pod-security-standards/",
            "CIS Kubernetes Benchmark v1.12 5.2.2",
        ],
        params: &[super::EXEMPT_PARAM],
    },
    run,
    fix: Fix::Manual,
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    super::judge_containers(
        ctx,
        "capabilities",
        "neither the full capability set nor CAP_SYS_ADMIN",
        &|p| {
            let names = capability_names(p.cap_effective);
            let full = p.cap_effective & FULL == FULL;
            let admin = p.cap_effective & (1 << CAP_SYS_ADMIN) != 0;
            let in_userns = p.user_ns_root.is_some();
            (
                Ok(in_userns || !(full || admin)),
                if full {
                    "full capability set".to_string()
                } else if admin {
                    "CAP_SYS_ADMIN among ".to_string() + &names.len().to_string() + " capabilities"
                } else {
                    format!("{} capabilities", names.len())
                },
            )
        },
    )
}
