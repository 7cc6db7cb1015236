//! `kubelet.anonymous-auth`: Anonymous requests to the kubelet are refused.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use crate::parse::kubelet::KValue;
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "kubelet.anonymous-auth",
        title: "Anonymous requests to the kubelet are refused",
        area: super::AREA,
        severity: Severity::Critical,
        roles: super::ROLES,
        rationale: "With anonymous authentication on, anyone who reaches port 10250 is `system:anonymous`; with AlwaysAllow authorization that is a remote shell in every pod. Without a --config file the kubelet's own default is on.",
        remediation: "Set `authentication: {anonymous: {enabled: false}}` in the kubelet config file (or `--anonymous-auth=false`) and restart the kubelet.",
        cis: &["4.2.1"],
        references: &[
            "https://kubernetes.io/docs/reference/access-authn-authz/kubelet-authn-authz/",
        ],
        params: &[],
    },
    run,
    fix: Fix::Settings(fix),
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    super::judge_field(ctx, "authentication.anonymous.enabled", "false", &|v| {
        matches!(v, Some(KValue::Bool(false)))
    })
}

/// `authentication.anonymous.enabled: false`.
fn fix(_: &Ctx<'_>, verdict: &Verdict) -> Vec<crate::checks::Remedy> {
    crate::checks::fix::kubelet_values(
        verdict,
        &[("authentication.anonymous.enabled", serde_json::json!(false))],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use nodecheck_report::Status;

    #[test]
    fn verdicts() {
        assert_kubelet_cases(
            &CHECK,
            &[
                ("", &[], Status::Pass),
                (
                    "authentication:\n  anonymous:\n    enabled: true\n",
                    &[],
                    Status::Fail,
                ),
                ("", &["--anonymous-auth"], Status::Fail),
                (
                    "authentication:\n  anonymous:\n    enabled: true\n",
                    &["--anonymous-auth=false"],
                    Status::Pass,
                ),
            ],
        );
        assert_kubelet_refused_is_error(&CHECK);
    }

    #[test]
    fn flags_only_mode_uses_the_legacy_default() {
        let facts = kubelet_facts(&[], &["--kubeconfig=/etc/kubernetes/kubelet.conf"]);
        let verdict = judge_worker(&CHECK, &facts);
        assert_eq!(verdict.status, Status::Fail);
        assert!(
            verdict.message.contains("flag default"),
            "{}",
            verdict.message
        );
    }
}
