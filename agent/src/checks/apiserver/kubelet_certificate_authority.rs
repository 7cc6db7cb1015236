//! `apiserver.kubelet-certificate-authority`: the API server verifies kubelets' serving certificates.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "apiserver.kubelet-certificate-authority",
        title: "The API server verifies the kubelets' serving certificates",
        area: super::AREA,
        severity: Severity::Medium,
        roles: super::ROLES,
        rationale: "Without `--kubelet-certificate-authority` the API server does not verify whom it talks to when it proxies exec, logs and port-forward to a kubelet: anyone who can redirect a node's address gets those streams, credentials included. kubeadm does not set it, because kubelets serve self-signed certificates unless serverTLSBootstrap is on.",
        remediation: "Enable kubelet serving certificates signed by the cluster CA (kubelet `serverTLSBootstrap: true` and approve their CSRs), then set `--kubelet-certificate-authority` on the kube-apiserver to that CA.",
        cis: &["1.2.5"],
        references: &[
            "https://kubernetes.io/docs/reference/access-authn-authz/kubelet-authn-authz/",
            "https://kubernetes.io/docs/reference/command-line-tools-reference/kube-apiserver/",
        ],
        params: &[],
    },
    run,
    fix: Fix::Manual,
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    super::judge_set(
        ctx,
        &["kubelet-certificate-authority"],
        "the kubelet certificate authority",
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
                (&["--kubelet-certificate-authority=/ca.crt"], Status::Pass),
                (&[], Status::Fail),
            ],
        );
    }
}
