//! `etcd.client-tls`: etcd serves clients over TLS.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "etcd.client-tls",
        title: "etcd serves clients over TLS",
        area: super::AREA,
        severity: Severity::Critical,
        roles: super::ROLES,
        rationale: "Without --cert-file and --key-file etcd serves its clients, the API server included, in plain HTTP: every secret crosses the network readable.",
        remediation: "Set `--cert-file` and `--key-file` on etcd (kubeadm: /etc/kubernetes/pki/etcd/server.{crt,key}).",
        cis: &["2.1"],
        references: &["https://etcd.io/docs/v3.5/op-guide/security/"],
        params: &[],
    },
    run,
    fix: Fix::Manual,
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    super::judge_set(
        ctx,
        &["cert-file", "key-file"],
        "etcd serves clients over TLS",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use nodecheck_report::Status;

    #[test]
    fn verdicts() {
        assert_etcd_cases(
            &CHECK,
            &[
                (&["--cert-file=/c", "--key-file=/k"], Status::Pass),
                (&["--cert-file=/c"], Status::Fail),
                (&[], Status::Fail),
            ],
        );
    }
}
