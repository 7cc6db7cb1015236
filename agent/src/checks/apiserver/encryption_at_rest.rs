//! `apiserver.encryption-at-rest`: secrets are encrypted in etcd.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict, evidence};
use nodecheck_report::{Evidence, Severity, Source, Status};

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "apiserver.encryption-at-rest",
        title: "Secrets are encrypted at rest",
        area: super::AREA,
        severity: Severity::High,
        roles: super::ROLES,
        rationale: "Without an encryption provider, every secret is stored in etcd (and its backups) in plain text. A configuration whose first provider for secrets is `identity` writes them unencrypted too. Only provider names are read; keys are never reported.",
        remediation: "Write an EncryptionConfiguration whose first provider for `secrets` is kms (v2), aescbc, aesgcm or secretbox, pass it with `--encryption-provider-config`, restart the API server, and rewrite existing secrets (`kubectl get secrets -A -o json | kubectl replace -f -`).",
        cis: &["1.2.27", "1.2.28"],
        references: &["https://kubernetes.io/docs/tasks/administer-cluster/encrypt-data/"],
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
    let Some(encryption) = &apiserver.encryption else {
        let item = super::flag_evidence(
            &apiserver.args,
            "encryption-provider-config",
            None,
            "set",
            false,
        );
        return Verdict::new(
            Status::Fail,
            "--encryption-provider-config is not set: secrets are stored unencrypted in etcd",
            vec![item],
        );
    };
    let path = encryption.file.path.clone();
    let flag = super::flag_evidence(
        &apiserver.args,
        "encryption-provider-config",
        None,
        "set",
        true,
    );
    match &encryption.first_secret_provider {
        Err(reason) => Verdict::error(
            format!("cannot judge the encryption configuration {path}: {reason}"),
            vec![
                flag,
                super::error_item(
                    path.clone(),
                    reason.clone(),
                    Source::file(path.clone(), None),
                ),
            ],
        ),
        Ok(None) => Verdict::new(
            Status::Fail,
            format!("{path} has no provider for secrets: they are stored unencrypted"),
            vec![
                flag,
                evidence(
                    "provider for secrets",
                    None,
                    "a provider other than identity",
                    false,
                    Source::file(path.clone(), None),
                ),
            ],
        ),
        Ok(Some((provider, line))) => {
            let ok = provider != "identity";
            let item: Evidence = evidence(
                "first provider for secrets",
                Some(provider.clone()),
                "not identity",
                ok,
                Source::file(path.clone(), Some(*line)),
            );
            Verdict::from_evidence(
                vec![flag, item],
                format!("secrets are encrypted with {provider}"),
                |_| {
                    format!(
                        "the first provider for secrets in {path}:{line} is identity: new secrets are written unencrypted; put kms, aescbc, aesgcm or secretbox first"
                    )
                },
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;

    const HEAD: &str = "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n- resources:\n  - secrets\n  providers:\n";

    fn with(config: &str) -> Verdict {
        let facts = apiserver_facts(
            &[("/etc/kubernetes/enc.yaml", config)],
            &["--encryption-provider-config=/etc/kubernetes/enc.yaml"],
        );
        judge_control_plane(&CHECK, &facts)
    }

    #[test]
    fn verdicts() {
        assert_eq!(with(&format!("{HEAD}  - aescbc:\n      keys:\n      - name: k\n        secret: c2VjcmV0\n  - identity: {{}}\n")).status, Status::Pass);
        let identity = with(&format!(
            "{HEAD}  - identity: {{}}\n  - aescbc:\n      keys:\n      - name: k\n        secret: c2VjcmV0\n"
        ));
        assert_eq!(identity.status, Status::Fail);
        assert!(
            !format!("{identity:?}").contains("c2VjcmV0"),
            "keys never reach a finding"
        );
        assert_eq!(
            with("apiVersion: v1\nkind: ConfigMap\n").status,
            Status::Error
        );
        assert_eq!(with("a: [1,\n").status, Status::Error);
        assert_apiserver_cases(
            &CHECK,
            &[
                (&[], Status::Fail),
                (
                    &["--encryption-provider-config=/missing.yaml"],
                    Status::Error,
                ),
            ],
        );
    }
}
