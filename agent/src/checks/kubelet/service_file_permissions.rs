//! `kubelet.service-file-permissions`: The kubelet's systemd unit and drop-ins are 0600 root:root.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict, judge_files, strict_file_rule};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "kubelet.service-file-permissions",
        title: "The kubelet's systemd unit and drop-ins are 0600 root:root",
        area: super::AREA,
        severity: Severity::Low,
        roles: super::ROLES,
        rationale: "The unit and its drop-ins (10-kubeadm.conf and the like) carry the kubelet's command line: writing them changes its flags at the next restart.",
        remediation: "Run `chmod 600` and `chown root:root` on the kubelet unit and every file under kubelet.service.d.",
        cis: &["4.1.1", "4.1.2"],
        references: &["https://kubernetes.io/docs/reference/config-api/kubelet-config.v1beta1/"],
        params: &[],
    },
    run,
    fix: Fix::Settings(fix),
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    match super::found(ctx) {
        Ok(kubelet) => judge_files(
            &kubelet.unit_files,
            "kubelet systemd unit files",
            &strict_file_rule(0o600),
        ),
        Err(v) => v,
    }
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
        let mut facts = kubelet_config("", &[]);
        assert_eq!(
            judge_worker(&CHECK, &facts).status,
            Status::NotApplicable,
            "no systemd units"
        );
        let kubelet = facts.kubelet.as_mut().expect("kubelet");
        kubelet.unit_files = vec![
            file(
                "/usr/lib/systemd/system/kubelet.service",
                0o600,
                "root",
                "root",
            ),
            file(
                "/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf",
                0o644,
                "root",
                "root",
            ),
        ];
        let v = judge_worker(&CHECK, &facts);
        assert_eq!(v.status, Status::Fail);
        assert!(v.message.contains("10-kubeadm.conf"), "{}", v.message);
    }
}
