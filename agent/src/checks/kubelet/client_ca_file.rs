//! `kubelet.client-ca-file`: client certificates are verified against a CA that exists.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict, evidence};
use nodecheck_report::{Severity, Source};

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "kubelet.client-ca-file",
        title: "The kubelet verifies client certificates against a CA file that exists",
        area: super::AREA,
        severity: Severity::High,
        roles: super::ROLES,
        rationale: "Without a client CA the kubelet cannot authenticate the API server (or anyone) by certificate. A path to a file that does not exist is no better, which presence-only checks miss.",
        remediation: "Set `authentication: {x509: {clientCAFile: /etc/kubernetes/pki/ca.crt}}` (the cluster CA) in the kubelet config file, make sure the file exists, and restart the kubelet.",
        cis: &["4.2.3"],
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
    let path = "authentication.x509.clientCAFile";
    let field = kubelet
        .config
        .get(path)
        .filter(|f| !f.value.to_string().is_empty() && f.value.to_string() != "\"\"");
    let mut items = vec![super::field_evidence(
        kubelet,
        path,
        field,
        "a CA file",
        field.is_some(),
    )];
    if let Some(file) = &kubelet.client_ca_file {
        let exists = file.meta.is_ok();
        items.push(evidence(
            format!("{} exists", file.path),
            Some(if exists {
                "yes".into()
            } else {
                file.describe()
            }),
            "the CA file exists",
            exists,
            Source::FileMetadata {
                path: file.path.clone(),
            },
        ));
    }
    Verdict::from_evidence(
        items,
        "client certificates are verified against an existing CA",
        |failing| super::failing_message(failing, "a client CA file that exists"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use nodecheck_report::Status;

    #[test]
    fn verdicts() {
        let ca = "authentication:\n  x509:\n    clientCAFile: /etc/kubernetes/pki/ca.crt\n";
        let with_file = kubelet_facts(
            &[
                (
                    "/var/lib/kubelet/config.yaml",
                    &format!("{KUBELET_HEAD}{ca}"),
                ),
                (
                    "/etc/kubernetes/pki/ca.crt",
                    "-----BEGIN CERTIFICATE-----\n",
                ),
            ],
            &["--config=/var/lib/kubelet/config.yaml"],
        );
        assert_eq!(judge_worker(&CHECK, &with_file).status, Status::Pass);
        let missing = judge_worker(&CHECK, &kubelet_config(ca, &[]));
        assert_eq!(missing.status, Status::Fail);
        assert!(
            missing.message.contains("does not exist"),
            "{}",
            missing.message
        );
        assert_kubelet_cases(&CHECK, &[("", &[], Status::Fail)]);
        // The apiserver's look-alike flag is not the kubelet's.
        let lookalike = kubelet_config(
            "",
            &["--requestheader-client-ca-file=/etc/kubernetes/pki/ca.crt"],
        );
        assert_eq!(judge_worker(&CHECK, &lookalike).status, Status::Fail);
        assert_kubelet_refused_is_error(&CHECK);
    }
}
