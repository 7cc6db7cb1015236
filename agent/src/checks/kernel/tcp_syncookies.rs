//! `kernel.tcp-syncookies`: TCP SYN cookies protect listeners from SYN floods.

use super::{Want, judge};
use crate::checks::{Check, CheckMeta, Ctx, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "kernel.tcp-syncookies",
        title: "TCP SYN cookies protect listeners from SYN floods",
        area: super::AREA,
        severity: Severity::Low,
        roles: super::ALL,
        rationale: "Without SYN cookies (1: when the backlog overflows; 2: always) a flood of half-open connections fills a listener's backlog: the API server, etcd and the kubelet stop accepting connections from the cluster.",
        remediation: "Set `net.ipv4.tcp_syncookies = 1` in /etc/sysctl.d/60-net-hardening.conf; `sysctl --system`.",
        cis: &[],
        references: &["https://docs.kernel.org/networking/ip-sysctl.html"],
        params: &[],
    },
    run,
};

const WANTS: &[Want] = &[Want::new("net.ipv4.tcp_syncookies", "1 or 2", |v| {
    v == 1 || v == 2
})];

fn run(ctx: &Ctx<'_>) -> Verdict {
    judge(ctx, WANTS, "TCP SYN cookies are on")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::kernel::testing::*;
    use nodecheck_report::Status;

    #[test]
    fn verdicts() {
        let good = with_sysctls(&[("net.ipv4.tcp_syncookies", Some("1"))]);
        assert_eq!(judge_all(&CHECK, &good).status, Status::Pass);
        // 2 sends cookies always: still protected.
        let always = with_sysctls(&[("net.ipv4.tcp_syncookies", Some("2"))]);
        assert_eq!(judge_all(&CHECK, &always).status, Status::Pass);
        let bad = with_sysctls(&[("net.ipv4.tcp_syncookies", Some("0"))]);
        let v = judge_all(&CHECK, &bad);
        assert_eq!(v.status, Status::Fail);
        assert!(
            v.message.contains("net.ipv4.tcp_syncookies is 0"),
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
