//! `kubelet.ca-file-permissions`: The kubelet's client CA file is 0644 root:root or stricter.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict, judge_files, strict_file_rule};
use crate::facts::FileFact;
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "kubelet.ca-file-permissions",
        title: "The kubelet's client CA file is 0644 root:root or stricter",
        area: super::AREA,
        severity: Severity::Low,
        roles: super::ROLES,
        rationale: "The client CA decides who the kubelet trusts: whoever can replace it can authenticate to the kubelet with certificates of their own. The file is the effective `authentication.x509.clientCAFile`, not only a command-line flag.",
        remediation: "Run `chmod 644` and `chown root:root` on the kubelet's client CA file.",
        cis: &["4.1.7", "4.1.8"],
        references: &["https://kubernetes.io/docs/reference/config-api/kubelet-config.v1beta1/"],
        params: &[],
    },
    run,
    fix: Fix::Settings(fix),
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    match super::found(ctx) {
        Ok(kubelet) => {
            let files: Vec<FileFact> = kubelet.client_ca_file.iter().cloned().collect();
            judge_files(&files, "kubelet client CA files", &strict_file_rule(0o644))
        }
        Err(v) => v,
    }
}

/// Each failing file 0644 or stricter, owned by root:root.
fn fix(_: &Ctx<'_>, verdict: &Verdict) -> Vec<crate::checks::Remedy> {
    crate::checks::fix::root_owned_modes(verdict, 0o644)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use nodecheck_report::Status;

    #[test]
    fn verdicts() {
        let mut facts = kubelet_config("", &[]);
        assert_eq!(
            judge_worker(&CHECK, &facts).status,
            Status::NotApplicable,
            "no client CA configured"
        );
        let kubelet = facts.kubelet.as_mut().expect("kubelet");
        kubelet.client_ca_file = Some(file("/etc/kubernetes/pki/ca.crt", 0o644, "root", "root"));
        assert_eq!(judge_worker(&CHECK, &facts).status, Status::Pass);
        let kubelet = facts.kubelet.as_mut().expect("kubelet");
        kubelet.client_ca_file = Some(file("/etc/kubernetes/pki/ca.crt", 0o664, "root", "root"));
        assert_eq!(judge_worker(&CHECK, &facts).status, Status::Fail);
    }
}
