//! `kernel.log-martians`: Packets with impossible addresses are logged.

use super::{Want, judge};
use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "kernel.log-martians",
        title: "Packets with impossible addresses are logged",
        area: super::AREA,
        severity: Severity::Low,
        roles: super::ALL,
        rationale: "Martian packets (a source address that cannot arrive on that interface) are the trace of spoofing, from a pod or a neighbour; logged, they can be alerted on.",
        remediation: "Set `net.ipv4.conf.all.log_martians = 1` and `net.ipv4.conf.default.log_martians = 1` in /etc/sysctl.d/60-net-hardening.conf; `sysctl --system`.",
        cis: &[],
        references: &["https://docs.kernel.org/networking/ip-sysctl.html"],
        params: &[],
    },
    run,
    fix: Fix::Settings(fix),
};

const WANTS: &[Want] = &[
    Want::new("net.ipv4.conf.all.log_martians", "1", |v| v == 1),
    Want::new("net.ipv4.conf.default.log_martians", "1", |v| v == 1),
];

fn run(ctx: &Ctx<'_>) -> Verdict {
    judge(ctx, WANTS, "martian packets are logged")
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
                ("net.ipv4.conf.all.log_martians", Some("1")),
                ("net.ipv4.conf.default.log_martians", Some("1")),
            ],
            "net.ipv4.conf.all.log_martians",
            "0",
        );
    }
}
