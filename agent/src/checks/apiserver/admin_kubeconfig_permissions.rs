//! `apiserver.admin-kubeconfig-permissions`: the administrators' kubeconfigs are root-only.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict, judge_files, strict_file_rule};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "apiserver.admin-kubeconfig-permissions",
        title: "Administrator kubeconfigs are 0600 root:root",
        area: super::AREA,
        severity: Severity::Critical,
        roles: super::ROLES,
        rationale: "kubeadm's admin.conf (group kubeadm:cluster-admins) and super-admin.conf (system:masters, which no RBAC rule can restrict), k3s's k3s.yaml and rke2's rke2.yaml hold cluster-admin client keys: any local user who can read one owns the cluster.",
        remediation: "`chmod 600` and `chown root:root` /etc/kubernetes/admin.conf and /etc/kubernetes/super-admin.conf (kubeadm), /etc/rancher/k3s/k3s.yaml (k3s: `write-kubeconfig-mode: \"0600\"`) or /etc/rancher/rke2/rke2.yaml (rke2).",
        cis: &["1.1.13", "1.1.14"],
        references: &[
            "https://kubernetes.io/docs/setup/production-environment/tools/kubeadm/kubeadm-certs/",
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
    if apiserver.admin_kubeconfigs.is_empty() {
        return Verdict::not_applicable(format!(
            "no administrator kubeconfig on this node (looked for {})",
            crate::facts::control_plane::ADMIN_KUBECONFIGS.join(", ")
        ));
    }
    judge_files(
        &apiserver.admin_kubeconfigs,
        "administrator kubeconfigs",
        &strict_file_rule(0o600),
    )
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
        apiserver.admin_kubeconfigs = vec![
            file("/etc/kubernetes/admin.conf", 0o600, "root", "root"),
            file("/etc/kubernetes/super-admin.conf", 0o600, "root", "root"),
        ];
        assert_eq!(judge_control_plane(&CHECK, &facts).status, Status::Pass);
        let apiserver = facts.apiserver.as_mut().expect("apiserver");
        apiserver.admin_kubeconfigs[1] =
            file("/etc/kubernetes/super-admin.conf", 0o644, "root", "root");
        let v = judge_control_plane(&CHECK, &facts);
        assert_eq!(v.status, Status::Fail);
        assert!(
            v.message.contains("super-admin.conf is 0644"),
            "{}",
            v.message
        );
        // Found on the host, whatever the API server's flags say.
        let facts = apiserver_facts(&[("etc/rancher/k3s/k3s.yaml", "apiVersion: v1\n")], &[]);
        assert_eq!(judge_control_plane(&CHECK, &facts).status, Status::Pass);
    }
}
