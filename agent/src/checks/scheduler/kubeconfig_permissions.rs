//! `scheduler.kubeconfig-permissions`: the scheduler's kubeconfig is root-only.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "scheduler.kubeconfig-permissions",
        title: "The scheduler kubeconfig is 0600 root:root",
        area: super::AREA,
        severity: Severity::High,
        roles: super::ROLES,
        rationale: "The scheduler's kubeconfig holds the client key of system:kube-scheduler, which can bind any pod to any node. It is the file its `--kubeconfig` names, or with `--config` the configuration's clientConnection.kubeconfig (kubeadm: /etc/kubernetes/scheduler.conf).",
        remediation: "`chmod 600` and `chown root:root` the scheduler's kubeconfig.",
        cis: &["1.1.15", "1.1.16"],
        references: &[
            "https://kubernetes.io/docs/reference/command-line-tools-reference/kube-scheduler/",
        ],
        params: &[],
    },
    run,
    fix: Fix::Settings(fix),
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    crate::checks::component::judge_kubeconfig(super::found(ctx), super::NAME)
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
        let kind = &crate::facts::components::SCHEDULER;
        let files = [
            ("etc/kubernetes/scheduler.conf", "apiVersion: v1\n"),
            (
                "etc/kubernetes/scheduler-config.yaml",
                "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nclientConnection:\n  kubeconfig: /etc/kubernetes/other.conf\n",
            ),
        ];
        let named = component_facts(
            &files,
            kind,
            &["--kubeconfig=/etc/kubernetes/scheduler.conf"],
        );
        assert_ne!(
            judge_control_plane(&CHECK, &named).status,
            Status::NotApplicable
        );
        // With --config, the file's kubeconfig is the one used (and it is missing here).
        let config = component_facts(
            &files,
            kind,
            &[
                "--kubeconfig=/etc/kubernetes/scheduler.conf",
                "--config=/etc/kubernetes/scheduler-config.yaml",
            ],
        );
        let verdict = judge_control_plane(&CHECK, &config);
        assert_eq!(verdict.status, Status::Error, "{verdict:?}");
        assert!(
            verdict.message.contains("other.conf"),
            "{}",
            verdict.message
        );
    }
}
