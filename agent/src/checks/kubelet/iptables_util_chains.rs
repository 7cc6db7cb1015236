//! `kubelet.iptables-util-chains`: The kubelet manages its iptables utility chains.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use crate::parse::kubelet::KValue;
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "kubelet.iptables-util-chains",
        title: "The kubelet manages its iptables utility chains",
        area: super::AREA,
        severity: Severity::Low,
        roles: super::ROLES,
        rationale: "With makeIPTablesUtilChains the kubelet keeps the KUBE-FIREWALL/KUBE-MARK chains that drop martian traffic to localhost services; turning it off leaves that to whoever remembers.",
        remediation: "Remove `makeIPTablesUtilChains: false` (or `--make-iptables-util-chains=false`) and restart the kubelet.",
        cis: &["4.2.6"],
        references: &["https://kubernetes.io/docs/reference/config-api/kubelet-config.v1beta1/"],
        params: &[],
    },
    run,
    fix: Fix::Settings(fix),
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    super::judge_field(ctx, "makeIPTablesUtilChains", "true", &|v| {
        matches!(v, Some(KValue::Bool(true)))
    })
}

/// `makeIPTablesUtilChains: true`.
fn fix(_: &Ctx<'_>, verdict: &Verdict) -> Vec<crate::checks::Remedy> {
    crate::checks::fix::kubelet_values(
        verdict,
        &[("makeIPTablesUtilChains", serde_json::json!(true))],
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
                ("makeIPTablesUtilChains: false\n", &[], Status::Fail),
            ],
        );
        assert_kubelet_refused_is_error(&CHECK);
    }
}
