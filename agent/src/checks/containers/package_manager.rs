//! `containers.package-manager`: Container images ship no package manager.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "containers.package-manager",
        title: "Container images ship no package manager",
        area: super::AREA,
        severity: Severity::Low,
        roles: super::ROLES,
        rationale: "A package manager lets an intruder install tooling inside the container; it also signals an image built without a minimal final stage.",
        remediation: "Use a multi-stage build whose final stage has no package manager (distroless, scratch).",
        cis: &[],
        references: &["https://kubernetes.io/docs/concepts/security/security-checklist/"],
        params: &[super::EXEMPT_PARAM],
    },
    run,
    fix: Fix::Manual,
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    super::judge_containers(
        ctx,
        "package manager",
        "no apt, dpkg, apk, yum, dnf, rpm or microdnf in the root filesystem",
        &|p| match &p.package_manager {
            Ok(None) => (Ok(true), "no package manager".to_string()),
            Ok(Some(path)) => (Ok(false), format!("{path} present")),
            Err(e) => (Err(e.clone()), String::new()),
        },
    )
}
