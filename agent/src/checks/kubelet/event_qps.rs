//! `kubelet.event-qps`: Event creation is rate limited.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use crate::parse::kubelet::KValue;
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "kubelet.event-qps",
        title: "Event creation is rate limited",
        area: super::AREA,
        severity: Severity::Info,
        roles: super::ROLES,
        rationale: "Since Kubernetes 1.27 (k/k #117119) eventRecordQPS 0 means no limit at all, not the default: a misbehaving pod can flood the API server with events. The default is 50.",
        remediation: "Set `eventRecordQPS` to a positive value (the default 50 is fine) and restart the kubelet.",
        cis: &["4.2.8"],
        references: &["https://kubernetes.io/docs/reference/config-api/kubelet-config.v1beta1/"],
        params: &[],
    },
    run,
    fix: Fix::Settings(fix),
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    super::judge_field(
        ctx,
        "eventRecordQPS",
        "above 0 (0 means no limit)",
        &|v| matches!(v, Some(KValue::Int(q)) if *q > 0),
    )
}

/// `eventRecordQPS: 50`, the kubelet's own default.
fn fix(_: &Ctx<'_>, verdict: &Verdict) -> Vec<crate::checks::Remedy> {
    crate::checks::fix::kubelet_values(verdict, &[("eventRecordQPS", serde_json::json!(50))])
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
                ("eventRecordQPS: 0\n", &[], Status::Fail),
                ("", &["--event-qps=0"], Status::Fail),
            ],
        );
        assert_kubelet_refused_is_error(&CHECK);
    }
}
