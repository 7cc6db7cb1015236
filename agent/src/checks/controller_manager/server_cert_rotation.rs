//! `controller-manager.server-cert-rotation`: kubelet serving certificates can be rotated.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use crate::parse::flags::parse_bool;
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "controller-manager.server-cert-rotation",
        title: "The RotateKubeletServerCertificate feature gate is not turned off",
        area: super::AREA,
        severity: Severity::Low,
        roles: super::ROLES,
        rationale: "The controller manager approves and signs the kubelets' serving certificate requests only with the RotateKubeletServerCertificate gate, on by default (beta since 1.12, still beta in 1.36); turned off, kubelets keep self-signed or expiring certificates.",
        remediation: "Remove `RotateKubeletServerCertificate=false` from `--feature-gates` on the kube-controller-manager.",
        cis: &["1.3.6"],
        references: &[
            "https://kubernetes.io/docs/reference/command-line-tools-reference/kube-controller-manager/",
            "https://kubernetes.io/docs/reference/command-line-tools-reference/feature-gates/",
        ],
        params: &[],
    },
    run,
    fix: Fix::Manual,
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    let component = match super::found(ctx) {
        Ok(c) => c,
        Err(v) => return v,
    };
    // Go merges every --feature-gates occurrence into one map, later entries winning.
    let merged: Vec<&str> = component
        .args
        .flags
        .flags
        .iter()
        .filter(|f| f.name == "feature-gates")
        .map(|f| f.value.as_str())
        .collect();
    let value = gate(&merged.join(","));
    crate::checks::component::judge_setting(
        Ok(component),
        super::NAME,
        "feature-gates",
        None,
        None,
        "RotateKubeletServerCertificate not false (on by default)",
        &|_| value != Some(false),
    )
}

/// The gate's value in a `--feature-gates` list (`A=true,B=false`); the last one counts.
fn gate(list: &str) -> Option<bool> {
    list.split(',')
        .filter_map(|item| item.trim().split_once('='))
        .filter(|(name, _)| name.trim() == "RotateKubeletServerCertificate")
        .map(|(_, value)| parse_bool(value.trim()))
        .next_back()
        .flatten()
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
                (&[], Status::Pass),
                (
                    &["--feature-gates=RotateKubeletServerCertificate=true"],
                    Status::Pass,
                ),
                (
                    &["--feature-gates=Foo=true,RotateKubeletServerCertificate=false"],
                    Status::Fail,
                ),
                (
                    &[
                        "--feature-gates=RotateKubeletServerCertificate=false,RotateKubeletServerCertificate=true",
                    ],
                    Status::Pass,
                ),
            ],
        );
    }

    #[test]
    fn repeated_feature_gates_merge() {
        assert_kind_cases(
            &CHECK,
            &crate::facts::components::CONTROLLER_MANAGER,
            &[(
                &[
                    "--feature-gates=RotateKubeletServerCertificate=false",
                    "--feature-gates=Foo=true",
                ],
                Status::Fail,
            )],
        );
    }
}
