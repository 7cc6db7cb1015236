//! `controller-manager.service-account-credentials`: each controller runs with its own ServiceAccount.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use crate::parse::flags::parse_bool;
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "controller-manager.service-account-credentials",
        title: "Controllers run with their own ServiceAccount credentials",
        area: super::AREA,
        severity: Severity::Medium,
        roles: super::ROLES,
        rationale: "Without `--use-service-account-credentials` (false by default) every controller acts with the controller manager's own broad identity; with it, each controller gets a ServiceAccount with only its own role, so one misbehaving controller cannot use the others' rights. kubeadm sets it.",
        remediation: "Add `--use-service-account-credentials=true` to the kube-controller-manager command.",
        cis: &["1.3.3"],
        references: &[
            "https://kubernetes.io/docs/reference/command-line-tools-reference/kube-controller-manager/",
            "https://kubernetes.io/docs/reference/access-authn-authz/rbac/#controller-roles",
        ],
        params: &[],
    },
    run,
    fix: Fix::Settings(fix),
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    crate::checks::component::judge_setting(
        super::found(ctx),
        super::NAME,
        "use-service-account-credentials",
        None,
        Some("false"),
        "true",
        &|v| v.and_then(parse_bool) == Some(true),
    )
}

fn fix(_: &Ctx<'_>, verdict: &Verdict) -> Vec<crate::checks::Remedy> {
    crate::checks::fix::component_flag(
        verdict,
        super::NAME,
        "use-service-account-credentials",
        crate::checks::FlagChange::Set("true".into()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use nodecheck_report::Status;

    #[test]
    fn verdicts() {
        assert_kind_cases(
            &CHECK,
            &crate::facts::components::CONTROLLER_MANAGER,
            &[
                (&[], Status::Fail),
                (&["--use-service-account-credentials=true"], Status::Pass),
                (&["--use-service-account-credentials"], Status::Pass),
                (&["--use-service-account-credentials=false"], Status::Fail),
            ],
        );
    }
}
