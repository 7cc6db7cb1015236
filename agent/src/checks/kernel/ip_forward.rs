//! `kernel.ip-forward`: IP forwarding is on only where Kubernetes routes pod traffic.

use super::{Want, judge};
use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use nodecheck_report::{Role, Severity};

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "kernel.ip-forward",
        title: "IP forwarding is on only where Kubernetes routes pod traffic",
        area: super::AREA,
        severity: Severity::Low,
        roles: super::ALL,
        rationale: "A host that forwards packets is a router: anything that reaches it can reach the networks behind it. Hardening guides turn `net.ipv4.ip_forward` off, and on a plain host (a bastion) it should be. A Kubernetes node is the exception: every CNI routes pod traffic through the node, kubeadm's preflight requires forwarding, and the runtime and kube-proxy turn it on — there it is expected, and its absence breaks pod networking.",
        remediation: "On a plain host: `echo 'net.ipv4.ip_forward = 0' > /etc/sysctl.d/60-net-hardening.conf && sysctl --system`. On a Kubernetes node: `net.ipv4.ip_forward = 1` (and restrict what reaches the node with network policies and the cloud's firewall).",
        cis: &[],
        references: &[
            "https://docs.kernel.org/networking/ip-sysctl.html",
            "https://kubernetes.io/docs/setup/production-environment/container-runtimes/#prerequisite-ipv4-forwarding-optional",
        ],
        params: &[],
    },
    run,
    fix: Fix::Manual,
};

const KEY: &str = "net.ipv4.ip_forward";

fn run(ctx: &Ctx<'_>) -> Verdict {
    if ctx.has_role(Role::Worker) || ctx.has_role(Role::ControlPlane) {
        judge(
            ctx,
            &[Want::new(
                KEY,
                "1 on a Kubernetes node (pods are routed through it)",
                |v| v == 1,
            )],
            "the node forwards pod traffic, as Kubernetes needs",
        )
    } else {
        judge(
            ctx,
            &[Want::new(
                KEY,
                "0 on a host that is not a Kubernetes node",
                |v| v == 0,
            )],
            "the host does not route packets",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::kernel::testing::*;
    use crate::checks::testing::judge_worker;
    use nodecheck_report::Status;

    #[test]
    fn verdicts_follow_the_role() {
        let on = with_sysctls(&[(KEY, Some("1"))]);
        let off = with_sysctls(&[(KEY, Some("0"))]);
        assert_eq!(judge_worker(&CHECK, &on).status, Status::Pass);
        assert_eq!(judge_worker(&CHECK, &off).status, Status::Fail);
        assert_eq!(judge_all(&CHECK, &on).status, Status::Fail);
        assert_eq!(judge_all(&CHECK, &off).status, Status::Pass);
    }
}
