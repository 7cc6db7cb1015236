//! `containers.no-new-privs`: Container processes cannot gain privileges.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "containers.no-new-privs",
        title: "Container processes cannot gain privileges",
        area: super::AREA,
        severity: Severity::Medium,
        roles: super::ROLES,
        rationale: "Without NoNewPrivs a setuid binary in the image (su, ping, mount) gives a process more privileges than the container started with.",
        remediation: "Set `securityContext.allowPrivilegeEscalation: false` on every container.",
        cis: &[],
        references: &[
            "https://kubernetes.io/docs/concepts/security/pod-security-standards/",
            "https://docs.kernel.org/userspace-api/no_new_privs.html",
            "CIS Kubernetes Benchmark v1.12 5.2.6",
        ],
        params: &[super::EXEMPT_PARAM],
    },
    run,
    fix: Fix::Manual,
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    super::judge_containers(
        ctx,
        "NoNewPrivs",
        "NoNewPrivs set (allowPrivilegeEscalation: false)",
        &|p| match p.no_new_privs {
            Some(v) => (Ok(v), format!("NoNewPrivs {}", u8::from(v))),
            None => (
                Err("NoNewPrivs not reported by the kernel".into()),
                String::new(),
            ),
        },
    )
}
