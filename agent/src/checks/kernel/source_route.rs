//! `kernel.source-route`: Source-routed packets are refused.

use super::{Want, judge};
use crate::checks::{Check, CheckMeta, Ctx, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "kernel.source-route",
        title: "Source-routed packets are refused",
        area: super::AREA,
        severity: Severity::Medium,
        roles: super::ALL,
        rationale: "A source-routed packet chooses its own path: accepted, it lets a sender reach addresses (pod and service ranges, a node's loopback-only services) its own routing would not, around the network's filters.",
        remediation: "Set `net.ipv4.conf.all.accept_source_route = 0` and `net.ipv4.conf.default.accept_source_route = 0` in /etc/sysctl.d/60-net-hardening.conf; `sysctl --system`.",
        cis: &[],
        references: &["https://docs.kernel.org/networking/ip-sysctl.html"],
        params: &[],
    },
    run,
};

const WANTS: &[Want] = &[
    Want::new("net.ipv4.conf.all.accept_source_route", "0", |v| v == 0),
    Want::new("net.ipv4.conf.default.accept_source_route", "0", |v| v == 0),
];

fn run(ctx: &Ctx<'_>) -> Verdict {
    judge(ctx, WANTS, "source-routed packets are refused")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::kernel::testing::*;
    use nodecheck_report::Status;

    #[test]
    fn verdicts() {
        let good = with_sysctls(&[
            ("net.ipv4.conf.all.accept_source_route", Some("0")),
            ("net.ipv4.conf.default.accept_source_route", Some("0")),
        ]);
        assert_eq!(judge_all(&CHECK, &good).status, Status::Pass);
        let bad = with_sysctls(&[
            ("net.ipv4.conf.all.accept_source_route", Some("1")),
            ("net.ipv4.conf.default.accept_source_route", Some("0")),
        ]);
        let v = judge_all(&CHECK, &bad);
        assert_eq!(v.status, Status::Fail);
        assert!(
            v.message
                .contains("net.ipv4.conf.all.accept_source_route is 1"),
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
