//! `apiserver.tls-cert`: the API server serves a certificate it was given.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "apiserver.tls-cert",
        title: "The API server serves with a configured certificate and key",
        area: super::AREA,
        severity: Severity::Medium,
        roles: super::ROLES,
        rationale: "Without `--tls-cert-file` and `--tls-private-key-file` the API server makes up a self-signed certificate in its `--cert-dir`, which clients can only accept by not verifying it.",
        remediation: "Set `--tls-cert-file` and `--tls-private-key-file` on the kube-apiserver to a certificate signed by the cluster CA (kubeadm: apiserver.crt/.key).",
        cis: &["1.2.24"],
        references: &[
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
        &["tls-cert-file", "tls-private-key-file"],
        "the serving certificate",
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
                    &["--tls-cert-file=/a.crt", "--tls-private-key-file=/a.key"],
                    Status::Pass,
                ),
                (&["--tls-private-key-file=/a.key"], Status::Fail),
            ],
        );
    }
}
