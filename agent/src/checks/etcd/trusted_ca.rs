//! `etcd.trusted-ca`: etcd trusts its own CA, not the Kubernetes one.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict, evidence};
use nodecheck_report::{Severity, Source};

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "etcd.trusted-ca",
        title: "etcd trusts a CA of its own",
        area: super::AREA,
        severity: Severity::Medium,
        roles: super::ROLES,
        rationale: "If etcd trusts the cluster CA, every client certificate the cluster issues (any kubelet's, any user's) is also a key to etcd. Presence-only checks miss this; nodecheck compares the file with the API server's --client-ca-file.",
        remediation: "Give etcd its own CA (kubeadm: /etc/kubernetes/pki/etcd/ca.crt) in `--trusted-ca-file`, separate from the Kubernetes CA.",
        cis: &["2.7"],
        references: &["https://etcd.io/docs/v3.5/op-guide/security/"],
        params: &[],
    },
    run,
    fix: Fix::Manual,
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    let etcd = match super::found(ctx) {
        Ok(e) => e,
        Err(v) => return v,
    };
    let ca = etcd
        .args
        .value("trusted-ca-file")
        .filter(|(v, _)| !v.is_empty());
    let mut items = vec![super::setting_evidence(
        &etcd.args,
        "trusted-ca-file",
        None,
        "set",
        ca.is_some(),
    )];
    if let (Some((ca, _)), Some(apiserver)) = (ca, ctx.facts.apiserver.as_ref())
        && let Some((client_ca, source)) = apiserver.args.value("client-ca-file")
    {
        let same =
            crate::host::normalise_lexically(ca) == crate::host::normalise_lexically(client_ca);
        items.push(evidence(
            "kube-apiserver --client-ca-file",
            Some(client_ca.to_string()),
            "a different file from etcd's trusted CA",
            !same,
            match source {
                Source::Flag { .. } | Source::File { .. } => source.clone(),
                other => other.clone(),
            },
        ));
    }
    Verdict::from_evidence(items, "etcd trusts a CA of its own", |failing| {
        super::failing_message(failing, "an etcd-only CA in --trusted-ca-file")
    })
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
                (
                    &["--trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt"],
                    Status::Pass,
                ),
                (&[], Status::Fail),
            ],
        );
        let mut facts = etcd_facts(&[], &["--trusted-ca-file=/etc/kubernetes/pki/ca.crt"]);
        facts.apiserver =
            apiserver_facts(&[], &["--client-ca-file=/etc/kubernetes/pki/ca.crt"]).apiserver;
        let v = judge_control_plane(&CHECK, &facts);
        assert_eq!(v.status, Status::Fail);
        assert!(v.message.contains("client-ca-file"), "{}", v.message);
    }
}
