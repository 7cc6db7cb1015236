//! `kubelet.server-cert-rotation`: the serving certificate is rotated.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use crate::parse::kubelet::KValue;
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "kubelet.server-cert-rotation",
        title: "The kubelet's serving certificate rotation is not disabled",
        area: super::AREA,
        severity: Severity::Medium,
        roles: super::ROLES,
        rationale: "Rotation of the serving certificate needs serverTLSBootstrap, or at least the RotateKubeletServerCertificate feature gate (on by default since 1.12) not turned off.",
        remediation: "Set `serverTLSBootstrap: true`, and remove `RotateKubeletServerCertificate: false` from the feature gates; restart the kubelet.",
        cis: &["4.2.11"],
        references: &["https://kubernetes.io/docs/reference/config-api/kubelet-config.v1beta1/"],
        params: &[],
    },
    run,
    fix: Fix::Manual,
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    let kubelet = match super::accepted(ctx) {
        Ok(k) => k,
        Err(v) => return v,
    };
    let bootstrap = kubelet.config.get("serverTLSBootstrap");
    let gate = kubelet
        .config
        .get("featureGates.RotateKubeletServerCertificate");
    let bootstraps = matches!(bootstrap.map(|f| &f.value), Some(KValue::Bool(true)));
    let gate_off = matches!(gate.map(|f| &f.value), Some(KValue::Bool(false)));
    let ok = bootstraps || !gate_off;
    let mut gate_item = super::field_evidence(
        kubelet,
        "featureGates.RotateKubeletServerCertificate",
        gate,
        "not false (default true)",
        ok,
    );
    if gate.is_none() {
        gate_item.observed = Some("true".into());
        gate_item.note = Some("not set: the gate defaults to true".into());
    }
    let items = vec![
        super::field_evidence(
            kubelet,
            "serverTLSBootstrap",
            bootstrap,
            "true, or the gate not false",
            ok,
        ),
        gate_item,
    ];
    Verdict::from_evidence(
        items,
        "serving certificate rotation is enabled",
        |failing| {
            super::failing_message(
                failing,
                "serverTLSBootstrap true or RotateKubeletServerCertificate not false",
            )
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
        assert_kubelet_cases(
            &CHECK,
            &[
                ("", &[], Status::Pass),
                (
                    "featureGates:\n  RotateKubeletServerCertificate: false\n",
                    &[],
                    Status::Fail,
                ),
                (
                    "featureGates:\n  RotateKubeletServerCertificate: false\nserverTLSBootstrap: true\n",
                    &[],
                    Status::Pass,
                ),
                (
                    "featureGates:\n  RotateKubeletServerCertificate: true\n",
                    &["--feature-gates=RotateKubeletServerCertificate=false"],
                    Status::Fail,
                ),
            ],
        );
        assert_kubelet_refused_is_error(&CHECK);
    }
}
