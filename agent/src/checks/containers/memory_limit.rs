//! `containers.memory-limit`: Containers have a memory limit.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "containers.memory-limit",
        title: "Containers have a memory limit",
        area: super::AREA,
        severity: Severity::Low,
        roles: super::ROLES,
        rationale: "Without a limit one container can take the node's memory and get the kubelet and its neighbours killed.",
        remediation: "Set `resources.limits.memory` on every container (or a LimitRange in the namespace).",
        cis: &[],
        references: &[
            "https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/",
        ],
        params: &[super::EXEMPT_PARAM],
    },
    run,
    fix: Fix::Manual,
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    super::judge_containers(
        ctx,
        "memory limit",
        "a memory limit on the container's cgroup",
        &|p| match &p.memory_limit {
            Ok(Some(bytes)) => (Ok(true), format!("{} MiB", bytes / (1024 * 1024))),
            Ok(None) => (Ok(false), "no memory limit".to_string()),
            Err(e) => (Err(e.clone()), String::new()),
        },
    )
}
