//! `kubelet.streaming-idle-timeout`: Streaming connections time out when idle.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use crate::parse::kubelet::{KValue, parse_duration};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "kubelet.streaming-idle-timeout",
        title: "Streaming connections time out when idle",
        area: super::AREA,
        severity: Severity::Low,
        roles: super::ROLES,
        rationale: "An idle exec or port-forward stream with no timeout stays open forever. A `0s` written in a config file is re-defaulted to 4h by the kubelet (kubeadm writes one); only `--streaming-connection-idle-timeout=0` on the command line disables the timeout. The field is a no-op from Kubernetes 1.34, where the CRI runtime's stream timeout governs.",
        remediation: "Remove `--streaming-connection-idle-timeout=0` from the kubelet's command line (or set it to e.g. `4h`).",
        cis: &["4.2.5"],
        references: &["https://kubernetes.io/docs/reference/config-api/kubelet-config.v1beta1/"],
        params: &[],
    },
    run,
    fix: Fix::Settings(fix),
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    super::judge_field(
        ctx,
        "streamingConnectionIdleTimeout",
        "not 0",
        &|v| matches!(v, Some(KValue::Str(d)) if parse_duration(d) != Some(0)),
    )
}

/// `streamingConnectionIdleTimeout: 4h0m0s`, the kubelet's own default.
fn fix(_: &Ctx<'_>, verdict: &Verdict) -> Vec<crate::checks::Remedy> {
    crate::checks::fix::kubelet_values(
        verdict,
        &[(
            "streamingConnectionIdleTimeout",
            serde_json::json!("4h0m0s"),
        )],
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
                ("streamingConnectionIdleTimeout: 0s\n", &[], Status::Pass),
                ("", &["--streaming-connection-idle-timeout=0"], Status::Fail),
                ("streamingConnectionIdleTimeout: 5m\n", &[], Status::Pass),
            ],
        );
        assert_kubelet_refused_is_error(&CHECK);
    }
}
