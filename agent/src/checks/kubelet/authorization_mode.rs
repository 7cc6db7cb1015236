//! `kubelet.authorization-mode`: Kubelet requests are authorized (not AlwaysAllow).

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use crate::parse::kubelet::KValue;
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "kubelet.authorization-mode",
        title: "Kubelet requests are authorized (not AlwaysAllow)",
        area: super::AREA,
        severity: Severity::Critical,
        roles: super::ROLES,
        rationale: "AlwaysAllow lets every authenticated (or anonymous) caller exec into pods, read secrets mounted in them and proxy to any container. The kubelet's flag default is AlwaysAllow; only the v1beta1 file default is Webhook.",
        remediation: "Set `authorization: {mode: Webhook}` in the kubelet config file (or `--authorization-mode=Webhook`) and restart the kubelet.",
        cis: &["4.2.2"],
        references: &[
            "https://kubernetes.io/docs/reference/access-authn-authz/kubelet-authn-authz/",
        ],
        params: &[],
    },
    run,
    fix: Fix::Settings(fix),
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    super::judge_field(
        ctx,
        "authorization.mode",
        "not AlwaysAllow",
        &|v| matches!(v, Some(KValue::Str(m)) if m != "AlwaysAllow"),
    )
}

/// `authorization.mode: Webhook` (the kubelet asks the API server).
fn fix(_: &Ctx<'_>, verdict: &Verdict) -> Vec<crate::checks::Remedy> {
    crate::checks::fix::kubelet_values(
        verdict,
        &[("authorization.mode", serde_json::json!("Webhook"))],
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
                ("authorization:\n  mode: AlwaysAllow\n", &[], Status::Fail),
                ("", &["--authorization-mode", "AlwaysAllow"], Status::Fail),
            ],
        );
        assert_kubelet_refused_is_error(&CHECK);
    }

    #[test]
    fn the_space_separated_flag_form_counts() {
        let facts = kubelet_facts(&[], &["--authorization-mode", "Webhook"]);
        assert_eq!(judge_worker(&CHECK, &facts).status, Status::Pass);
    }
}
