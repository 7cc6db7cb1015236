//! `kernel.tcp-syncookies`: TCP SYN cookies protect listeners from SYN floods.

use super::{Want, judge};
use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
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
    fix: Fix::Settings(fix),
};

const WANTS: &[Want] = &[Want::new("net.ipv4.tcp_syncookies", "1 or 2", |v| {
    v == 1 || v == 2
})];

fn run(ctx: &Ctx<'_>) -> Verdict {
    judge(ctx, WANTS, "TCP SYN cookies are on")
}

/// Each failing key in a `sysctl.d` file read last.
fn fix(ctx: &Ctx<'_>, verdict: &Verdict) -> Vec<crate::checks::Remedy> {
    super::fix_wants(ctx, verdict, WANTS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::kernel::testing::*;

    #[test]
    fn verdicts() {
        assert_net_check(
            &CHECK,
            &[("net.ipv4.tcp_syncookies", Some("1"))],
            "net.ipv4.tcp_syncookies",
            "0",
        );
        // 2 sends cookies always: still protected.
        let always = with_sysctls(&[("net.ipv4.tcp_syncookies", Some("2"))]);
        assert_eq!(
            judge_all(&CHECK, &always).status,
            nodecheck_report::Status::Pass
        );
    }
}
