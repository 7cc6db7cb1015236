//! `apiserver.client-ca-file`: clients can authenticate with certificates the API server
//! verifies.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "apiserver.client-ca-file",
        title: "The API server verifies client certificates against a CA",
        area: super::AREA,
        severity: Severity::High,
        roles: super::ROLES,
        rationale: "`--client-ca-file` is the CA the API server checks client certificates against; kubelets, the controller manager and the scheduler authenticate with such certificates. Unset, or naming a file that does not exist, certificate authentication is off and those components fall back to weaker means.",
        remediation: "Set `--client-ca-file` on the kube-apiserver to the cluster CA (kubeadm: /etc/kubernetes/pki/ca.crt) and make sure the file is mounted into its pod.",
        cis: &["1.2.25"],
        references: &[
            "https://kubernetes.io/docs/reference/access-authn-authz/authentication/#x509-client-certificates",
        ],
        params: &[],
    },
    run,
    fix: Fix::Manual,
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    let apiserver = match super::found(ctx) {
        Ok(a) => a,
        Err(v) => return v,
    };
    let set = apiserver
        .args
        .value("client-ca-file")
        .is_some_and(|(v, _)| !v.is_empty());
    let mut items = vec![super::flag_evidence(
        &apiserver.args,
        "client-ca-file",
        None,
        "set",
        set,
    )];
    if let Some(file) = &apiserver.client_ca_file {
        items.push(crate::checks::exists_evidence(file, "the CA file exists"));
    }
    Verdict::from_evidence(
        items,
        "client certificates are verified against a CA",
        |failing| super::failing_message(failing, "--client-ca-file naming an existing CA file"),
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
                (&[], Status::Fail),
                (
                    &["--client-ca-file=/etc/kubernetes/pki/gone.crt"],
                    Status::Fail,
                ),
                // K7: another flag's value never counts.
                (&["--requestheader-client-ca-file=/ca.crt"], Status::Fail),
            ],
        );
        let facts = apiserver_facts(
            &[("etc/kubernetes/pki/ca.crt", "-----BEGIN CERTIFICATE-----\n")],
            &["--client-ca-file=/etc/kubernetes/pki/ca.crt"],
        );
        assert_eq!(judge_control_plane(&CHECK, &facts).status, Status::Pass);
    }
}
