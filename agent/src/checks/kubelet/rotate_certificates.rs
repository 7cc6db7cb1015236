//! `kubelet.rotate-certificates`: The kubelet rotates its client certificate.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use crate::parse::kubelet::KValue;
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "kubelet.rotate-certificates",
        title: "The kubelet rotates its client certificate",
        area: super::AREA,
        severity: Severity::Medium,
        roles: super::ROLES,
        rationale: "Without rotation the kubelet's client certificate expires and the node drops out, or someone issues long-lived certificates to avoid that. rotateCertificates defaults to false in every mode; kubeadm sets it, EKS, GKE and k3s do not (they authenticate or renew otherwise).",
        remediation: "Set `rotateCertificates: true` in the kubelet config file and restart the kubelet.",
        cis: &["4.2.10"],
        references: &["https://kubernetes.io/docs/reference/config-api/kubelet-config.v1beta1/"],
        params: &[],
    },
    run,
    fix: Fix::Settings(fix),
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    super::judge_field(ctx, "rotateCertificates", "true", &|v| {
        matches!(v, Some(KValue::Bool(true)))
    })
}

/// `rotateCertificates: true`.
fn fix(_: &Ctx<'_>, verdict: &Verdict) -> Vec<crate::checks::Remedy> {
    crate::checks::fix::kubelet_values(verdict, &[("rotateCertificates", serde_json::json!(true))])
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
                ("", &[], Status::Fail),
                ("rotateCertificates: true\n", &[], Status::Pass),
                (
                    "rotateCertificates: true\n",
                    &["--rotate-certificates=false"],
                    Status::Fail,
                ),
            ],
        );
        assert_kubelet_refused_is_error(&CHECK);
    }
}
