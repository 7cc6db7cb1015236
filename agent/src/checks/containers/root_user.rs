//! `containers.root-user`: No container process runs as host root.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "containers.root-user",
        title: "No container process runs as host root",
        area: super::AREA,
        severity: Severity::High,
        roles: super::ROLES,
        rationale: "A process that is root on the host owns the node as soon as it escapes its container (a kernel bug, a writable hostPath, a mounted socket). Root inside a user namespace whose 0 maps to an unprivileged host UID is not host root and passes. Judged from /proc/<pid>/status and uid_map, not from pod manifests.",
        remediation: "Run the container as a non-root user (`securityContext.runAsNonRoot: true`, `runAsUser`), or in a user namespace (`hostUsers: false`).",
        cis: &[],
        references: &[
            "https://kubernetes.io/docs/concepts/security/pod-security-standards/",
            "https://kubernetes.io/docs/concepts/workloads/pods/user-namespaces/",
            "CIS Kubernetes Benchmark v1.12 5.2.7",
        ],
        params: &[super::EXEMPT_PARAM],
    },
    run,
    fix: Fix::Manual,
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    super::judge_containers(
        ctx,
        "uid",
        "a non-zero host UID (or root only inside a user namespace)",
        &|p| {
            (
                Ok(!p.is_host_root()),
                match p.user_ns_root {
                    Some(Some(root)) => {
                        format!("uid {} in a user namespace (0 maps to host {root})", p.uid)
                    }
                    Some(None) => format!("uid {} in a user namespace", p.uid),
                    None => format!("host uid {}", p.uid),
                },
            )
        },
    )
}
