//! `kernel.source-route`: Source-routed packets are refused.

use super::{Want, judge};
use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
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
    fix: Fix::Settings(fix),
};

const WANTS: &[Want] = &[
    Want::new("net.ipv4.conf.all.accept_source_route", "0", |v| v == 0),
    Want::new("net.ipv4.conf.default.accept_source_route", "0", |v| v == 0),
];

fn run(ctx: &Ctx<'_>) -> Verdict {
    judge(ctx, WANTS, "source-routed packets are refused")
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
            &[
                ("net.ipv4.conf.all.accept_source_route", Some("0")),
                ("net.ipv4.conf.default.accept_source_route", Some("0")),
            ],
            "net.ipv4.conf.default.accept_source_route",
            "1",
        );
    }
}
