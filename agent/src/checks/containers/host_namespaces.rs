//! `containers.host-namespaces`: Containers do not share the host's namespaces.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "containers.host-namespaces",
        title: "Containers do not share the host's namespaces",
        area: super::AREA,
        severity: Severity::Medium,
        roles: super::ROLES,
        rationale: "hostNetwork reaches every host-local service (the kubelet, etcd on loopback, cloud metadata); hostPID lets a container see and signal every process; hostIPC shares memory segments with the host.",
        remediation: "Remove `hostNetwork`, `hostPID` and `hostIPC` from the pod spec unless the component needs them (then add its namespace to `exempt`).",
        cis: &[],
        references: &[
            "CIS Kubernetes Benchmark v1.12 5.2.4",
            "CIS Kubernetes Benchmark v1.12 5.2.5",
            "CIS Kubernetes Benchmark v1.12 5.2.3",
        ],
        params: &[super::EXEMPT_PARAM],
    },
    run,
    fix: Fix::Manual,
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    super::judge_containers(
        ctx,
        "host namespaces",
        "no host network, PID or IPC namespace",
        &|p| {
            (
                Ok(p.host_namespaces.is_empty()),
                if p.host_namespaces.is_empty() {
                    "own namespaces".to_string()
                } else {
                    format!("shares the host's {}", p.host_namespaces.join(", "))
                },
            )
        },
    )
}
