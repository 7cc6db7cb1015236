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
    fix: Fix::Settings(fix),
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

/// Node and RBAC added to the modes there are, AlwaysAllow taken out. An API server
/// configured with `--authorization-config` refuses `--authorization-mode`, so it is left alone.
fn fix(ctx: &Ctx<'_>, verdict: &Verdict) -> Vec<crate::checks::Remedy> {
    use crate::checks::{FlagChange, Remedy};
    if crate::checks::fix::failing(verdict).next().is_none() {
        return Vec::new();
    }
    let Ok(apiserver) = super::found(ctx) else {
        return Vec::new();
    };
    if let Some((path, _)) = apiserver.args.value("authorization-config") {
        return vec![Remedy::NotHere {
            why: format!(
                "authorization is configured in {path} (--authorization-config), which the API server does not combine with --authorization-mode: add the Node and RBAC authorizers there"
            ),
        }];
    }
    let modes = apiserver
        .args
        .list("authorization-mode")
        .map(|(modes, _)| modes)
        .unwrap_or_default();
    let mut changes = Vec::new();
    if modes.iter().any(|m| m == "AlwaysAllow") {
        changes.push(FlagChange::RemoveFrom("AlwaysAllow".into()));
    }
    for wanted in ["Node", "RBAC"] {
        if !modes.iter().any(|m| m == wanted) {
            changes.push(FlagChange::AddTo(wanted.into()));
        }
    }
    changes
        .into_iter()
        .map(|change| Remedy::ComponentFlag {
            component: super::NAME,
            flag: "authorization-mode".into(),
            change,
        })
        .collect()
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
