//! `apiserver.file-permissions`: the API server's manifest and encryption config are
//! root-only (its PKI is `apiserver.pki-permissions`).

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict, judge_files, strict_file_rule};
use crate::facts::FileFact;
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "apiserver.file-permissions",
        title: "API server manifest and encryption config are 0600 root:root",
        area: super::AREA,
        severity: Severity::Medium,
        roles: super::ROLES,
        rationale: "Writing the manifest changes the API server's flags; reading the encryption config gives away the keys that encrypt every secret in etcd.",
        remediation: "Run `chmod 600` and `chown root:root` on the kube-apiserver static pod manifest (kubeadm: /etc/kubernetes/manifests/kube-apiserver.yaml) and the --encryption-provider-config file.",
        cis: &["1.1.1", "1.1.2"],
        references: &[
            "https://kubernetes.io/docs/reference/command-line-tools-reference/kube-apiserver/",
        ],
        params: &[],
    },
    run,
    fix: Fix::Settings(fix),
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    let apiserver = match super::found(ctx) {
        Ok(a) => a,
        Err(v) => return v,
    };
    let mut files: Vec<FileFact> = apiserver.manifest_file.iter().cloned().collect();
    files.extend(apiserver.encryption.iter().map(|e| e.file.clone()));
    judge_files(&files, "API server files", &strict_file_rule(0o600))
}

/// Each failing file 0600 or stricter, owned by root:root.
fn fix(_: &Ctx<'_>, verdict: &Verdict) -> Vec<crate::checks::Remedy> {
    crate::checks::fix::root_owned_modes(verdict, 0o600)
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
        apiserver.manifest_file = Some(file(
            "/etc/kubernetes/manifests/kube-apiserver.yaml",
            0o600,
            "root",
            "root",
        ));
        assert_eq!(judge_control_plane(&CHECK, &facts).status, Status::Pass);
        let apiserver = facts.apiserver.as_mut().expect("apiserver");
        apiserver.manifest_file = Some(file(
            "/etc/kubernetes/manifests/kube-apiserver.yaml",
            0o644,
            "root",
            "root",
        ));
        let v = judge_control_plane(&CHECK, &facts);
        assert_eq!(v.status, Status::Fail);
        assert!(
            v.message.contains("kube-apiserver.yaml is 0644"),
            "{}",
            v.message
        );
    }
}
