//! `apiserver.file-permissions`: the API server's manifest, encryption config and PKI keys
//! are root-only.

use crate::checks::{Check, CheckMeta, Ctx, Verdict, judge_files, strict_file_rule};
use crate::facts::FileFact;
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "apiserver.file-permissions",
        title: "API server manifest, encryption config and PKI keys are 0600 root:root",
        area: super::AREA,
        severity: Severity::Medium,
        roles: super::ROLES,
        rationale: "Writing the manifest changes the API server's flags; reading the encryption config or a PKI key (CA, service-account signing key, apiserver key) gives away the keys to secrets and identities.",
        remediation: "Run `chmod 600` and `chown root:root` on /etc/kubernetes/manifests/kube-apiserver.yaml, the --encryption-provider-config file and /etc/kubernetes/pki/*.key.",
        references: &["CIS K8s 1.1.1", "CIS K8s 1.1.2", "CIS K8s 1.1.21"],
        params: &[],
    },
    run,
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    let apiserver = match super::found(ctx) {
        Ok(a) => a,
        Err(v) => return v,
    };
    let mut files: Vec<FileFact> = apiserver.manifest_file.iter().cloned().collect();
    files.extend(apiserver.encryption.iter().map(|e| e.file.clone()));
    files.extend(apiserver.pki_keys.iter().cloned());
    judge_files(&files, "API server files", &strict_file_rule(0o600))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use nodecheck_report::Status;

    #[test]
    fn verdicts() {
        let mut facts = apiserver_facts(&[], &[]);
        assert_eq!(
            judge_control_plane(&CHECK, &facts).status,
            Status::NotApplicable
        );
        let apiserver = facts.apiserver.as_mut().expect("apiserver");
        apiserver.pki_keys = vec![
            file("/etc/kubernetes/pki/ca.key", 0o600, "root", "root"),
            file("/etc/kubernetes/pki/sa.key", 0o644, "root", "root"),
        ];
        let v = judge_control_plane(&CHECK, &facts);
        assert_eq!(v.status, Status::Fail);
        assert!(v.message.contains("sa.key is 0644"), "{}", v.message);
    }
}
