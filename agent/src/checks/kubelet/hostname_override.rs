//! `kubelet.hostname-override`: the node name is the host's own.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "kubelet.hostname-override",
        title: "The kubelet does not override its hostname",
        area: super::AREA,
        severity: Severity::Info,
        roles: super::ROLES,
        rationale: "An overridden hostname can make the node's TLS certificate and name disagree with the host. EKS (nodeadm) and k3s always pass --hostname-override, so this is informational.",
        remediation: "Remove `--hostname-override` from the kubelet's arguments where the platform does not need it.",
        cis: &["4.2.7"],
        references: &["https://kubernetes.io/docs/reference/config-api/kubelet-config.v1beta1/"],
        params: &[],
    },
    run,
    fix: Fix::Manual,
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    let kubelet = match super::found(ctx) {
        Ok(k) => k,
        Err(v) => return v,
    };
    let field = kubelet.config.hostname_override.as_ref();
    let item = super::field_evidence(
        kubelet,
        "--hostname-override",
        field,
        "not set",
        field.is_none(),
    );
    Verdict::from_evidence(vec![item], "--hostname-override is not set", |failing| {
        super::failing_message(failing, "not set")
    })
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
                    "",
                    &["--hostname-override=ip-10-0-0-1.ec2.internal"],
                    Status::Fail,
                ),
            ],
        );
    }
}
