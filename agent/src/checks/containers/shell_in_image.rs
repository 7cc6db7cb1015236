//! `containers.shell-in-image`: Container images ship no shell.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "containers.shell-in-image",
        title: "Container images ship no shell",
        area: super::AREA,
        severity: Severity::Low,
        roles: super::ROLES,
        rationale: "A shell in the image turns any command injection or exec access into an interactive foothold. Distroless images have none. Paths are resolved inside the container's own root (/proc/<pid>/root): an absolute symlink to the host's /bin/sh does not count.",
        remediation: "Build the image from a distroless or scratch base, or remove the shell in the final stage.",
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
        "shell",
        "no /bin/sh, bash or busybox in the root filesystem",
        &|p| match &p.shell {
            Ok(None) => (Ok(true), "no shell".to_string()),
            Ok(Some(path)) => (Ok(false), format!("{path} present")),
            Err(e) => (Err(e.clone()), String::new()),
        },
    )
}
