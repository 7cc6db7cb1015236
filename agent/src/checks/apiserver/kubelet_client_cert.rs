//! `apiserver.kubelet-client-cert`: the API server authenticates to kubelets with a client certificate.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "apiserver.kubelet-client-cert",
        title: "The API server authenticates to kubelets with a client certificate",
        area: super::AREA,
        severity: Severity::High,
        roles: super::ROLES,
        rationale: "Without `--kubelet-client-certificate` and `--kubelet-client-key` the API server calls kubelets (logs, exec, port-forward) without a client identity, which only works when kubelets accept anonymous requests.",
        remediation: "Set `--kubelet-client-certificate` and `--kubelet-client-key` on the kube-apiserver to a client certificate the kubelets' client CA signed (kubeadm: apiserver-kubelet-client.crt/.key).",
        cis: &["1.2.4"],
        references: &[
            "https://kubernetes.io/docs/reference/access-authn-authz/kubelet-authn-authz/",
        ],
        params: &[],
    },
    run,
    fix: Fix::Manual,
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    super::judge_set(
        ctx,
        &["kubelet-client-certificate", "kubelet-client-key"],
        "the kubelet client certificate",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use nodecheck_report::Status;

    #[test]
    fn verdicts() {
        assert_apiserver_cases(
            &CHECK,
            &[
                (
                    &[
                        "--kubelet-client-certificate=/c.crt",
                        "--kubelet-client-key=/c.key",
                    ],
                    Status::Pass,
                ),
                (&["--kubelet-client-certificate=/c.crt"], Status::Fail),
                (&[], Status::Fail),
                (
                    &[
                        "--kubelet-client-certificate=/c.crt",
                        "--kubelet-client-key=",
                    ],
                    Status::Fail,
                ),
            ],
        );
    }
}
