//! `kernel.icmp-redirects`: ICMP redirects are neither accepted nor sent.

use super::{Want, judge};
use crate::checks::{Check, CheckMeta, Ctx, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "kernel.icmp-redirects",
        title: "ICMP redirects are neither accepted nor sent",
        area: super::AREA,
        severity: Severity::Medium,
        roles: super::ALL,
        rationale: "An accepted ICMP redirect rewrites the node's routing table on a neighbour's say-so, steering its traffic (API server, etcd, kubelet) through an attacker; a node that sends redirects tells neighbours, pods on its bridge among them, how to route around it. Kubernetes needs neither: routes come from the CNI.",
        remediation: "In /etc/sysctl.d/60-net-hardening.conf set `net.ipv4.conf.all.accept_redirects`, `.default.accept_redirects`, `.all.secure_redirects`, `.default.secure_redirects`, `.all.send_redirects` and `.default.send_redirects` to 0; `sysctl --system`.",
        cis: &[],
        references: &["https://docs.kernel.org/networking/ip-sysctl.html"],
        params: &[],
    },
    run,
};

const WANTS: &[Want] = &[
    Want::new("net.ipv4.conf.all.accept_redirects", "0", |v| v == 0),
    Want::new("net.ipv4.conf.default.accept_redirects", "0", |v| v == 0),
    Want::new("net.ipv4.conf.all.secure_redirects", "0", |v| v == 0),
    Want::new("net.ipv4.conf.default.secure_redirects", "0", |v| v == 0),
    Want::new("net.ipv4.conf.all.send_redirects", "0", |v| v == 0),
    Want::new("net.ipv4.conf.default.send_redirects", "0", |v| v == 0),
];

fn run(ctx: &Ctx<'_>) -> Verdict {
    judge(
        ctx,
        WANTS,
        "the node neither accepts nor sends ICMP redirects",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::kernel::testing::*;
    use nodecheck_report::Status;

    #[test]
    fn verdicts() {
        let good = with_sysctls(&[
            ("net.ipv4.conf.all.accept_redirects", Some("0")),
            ("net.ipv4.conf.default.accept_redirects", Some("0")),
            ("net.ipv4.conf.all.secure_redirects", Some("0")),
            ("net.ipv4.conf.default.secure_redirects", Some("0")),
            ("net.ipv4.conf.all.send_redirects", Some("0")),
            ("net.ipv4.conf.default.send_redirects", Some("0")),
        ]);
        assert_eq!(judge_all(&CHECK, &good).status, Status::Pass);
        let bad = with_sysctls(&[
            ("net.ipv4.conf.all.accept_redirects", Some("1")),
            ("net.ipv4.conf.default.accept_redirects", Some("0")),
            ("net.ipv4.conf.all.secure_redirects", Some("0")),
            ("net.ipv4.conf.default.secure_redirects", Some("0")),
            ("net.ipv4.conf.all.send_redirects", Some("0")),
            ("net.ipv4.conf.default.send_redirects", Some("0")),
        ]);
        let v = judge_all(&CHECK, &bad);
        assert_eq!(v.status, Status::Fail);
        assert!(
            v.message
                .contains("net.ipv4.conf.all.accept_redirects is 1"),
            "{}",
            v.message
        );
        // In a pod's own network namespace the node's values cannot be read.
        let mut hidden = good.clone();
        net_hidden(&mut hidden);
        let v = judge_all(&CHECK, &hidden);
        assert_eq!(v.status, Status::NotApplicable);
        assert!(v.message.contains("network namespace"), "{}", v.message);
    }
}
