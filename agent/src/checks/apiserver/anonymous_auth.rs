//! `apiserver.anonymous-auth`: Anonymous requests to the API server are refused.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use crate::parse::flags::parse_bool;
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "apiserver.anonymous-auth",
        title: "Anonymous requests to the API server are refused",
        area: super::AREA,
        severity: Severity::Medium,
        roles: super::ROLES,
        rationale: "Anonymous requests reach the API server as system:anonymous; RBAC usually grants that user little, but every mistake in a binding then becomes public. The default is on.",
        remediation: "Add `--anonymous-auth=false` to the kube-apiserver command (the static pod manifest on kubeadm nodes).",
        cis: &["1.2.1"],
        references: &[
            "https://kubernetes.io/docs/reference/command-line-tools-reference/kube-apiserver/",
        ],
        params: &[],
    },
    run,
    fix: Fix::Settings(fix),
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    super::judge_flag(
        ctx,
        "anonymous-auth",
        Some("true"),
        "false",
        &|v| matches!(v, Some(b) if parse_bool(b) == Some(false)),
    )
}

/// Never turned off here: kubeadm's (and most distributions') liveness, readiness and startup
/// probes call `/livez` and `/readyz` without credentials, so an API server without anonymous
/// access is restarted by its kubelet in a loop.
fn fix(_: &Ctx<'_>, verdict: &Verdict) -> Vec<crate::checks::Remedy> {
    if crate::checks::fix::failing(verdict).next().is_none() {
        return Vec::new();
    }
    vec![crate::checks::Remedy::NotHere {
        why: "the kubelet's probes of the API server (/livez, /readyz) are anonymous: with --anonymous-auth=false it restarts the API server in a loop. Limit anonymous access to the health endpoints with an AuthenticationConfiguration (`anonymous.conditions`, Kubernetes 1.32+) instead".into(),
    }]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use nodecheck_report::Status;

    #[test]
    fn verdicts() {
        assert_apiserver_cases(
            &CHECK,
            &[
                (&[], Status::Fail),
                (&["--anonymous-auth=false"], Status::Pass),
                (&["--anonymous-auth"], Status::Fail),
            ],
        );
    }
}
