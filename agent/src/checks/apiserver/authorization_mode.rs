//! `apiserver.authorization-mode`: requests are authorized by Node and RBAC.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "apiserver.authorization-mode",
        title: "The API server authorizes with Node and RBAC, never AlwaysAllow",
        area: super::AREA,
        severity: Severity::Critical,
        roles: super::ROLES,
        rationale: "AlwaysAllow makes every authenticated caller cluster-admin. Without the Node authorizer a kubelet can read every secret in the cluster; without RBAC there is no least privilege. The default is AlwaysAllow.",
        remediation: "Set `--authorization-mode=Node,RBAC` on the kube-apiserver.",
        cis: &["1.2.6", "1.2.7", "1.2.8"],
        references: &["https://kubernetes.io/docs/reference/access-authn-authz/authorization/"],
        params: &[],
    },
    run,
    fix: Fix::Manual,
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    super::judge_flag(
        ctx,
        "authorization-mode",
        Some("AlwaysAllow"),
        "Node and RBAC, not AlwaysAllow",
        &|v| {
            let modes: Vec<&str> = v.unwrap_or_default().split(',').map(str::trim).collect();
            modes.contains(&"Node") && modes.contains(&"RBAC") && !modes.contains(&"AlwaysAllow")
        },
    )
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
                (&["--authorization-mode=Node,RBAC"], Status::Pass),
                (&[], Status::Fail),
                (&["--authorization-mode=RBAC"], Status::Fail),
                (
                    &["--authorization-mode=Node,RBAC,AlwaysAllow"],
                    Status::Fail,
                ),
                (&["--authorization-mode", "Node,RBAC"], Status::Pass),
                (
                    &[
                        "--authorization-mode=Node,RBAC",
                        "--authorization-mode=AlwaysAllow",
                    ],
                    Status::Fail,
                ),
                // A string slice: the first occurrence is not replaced but extended.
                (
                    &[
                        "--authorization-mode=AlwaysAllow",
                        "--authorization-mode=Node,RBAC",
                    ],
                    Status::Fail,
                ),
            ],
        );
    }
}
