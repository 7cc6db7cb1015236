//! `kernel.dmesg-restrict`: Only privileged users read the kernel log.

use super::{Want, judge};
use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "kernel.dmesg-restrict",
        title: "Only privileged users read the kernel log",
        area: super::AREA,
        severity: Severity::Low,
        roles: super::ALL,
        rationale: "The kernel log carries addresses, device and driver details and the traces of failed exploits: with `kernel.dmesg_restrict` 0 any local user, and any container without a seccomp profile, reads it with `dmesg`.",
        remediation: "`echo 'kernel.dmesg_restrict = 1' > /etc/sysctl.d/60-kernel-hardening.conf && sysctl --system`.",
        cis: &[],
        references: &["https://docs.kernel.org/admin-guide/sysctl/kernel.html#dmesg-restrict"],
        params: &[],
    },
    run,
    fix: Fix::Settings(fix),
};

const WANTS: &[Want] = &[Want::new("kernel.dmesg_restrict", "1", |v| v == 1)];

fn run(ctx: &Ctx<'_>) -> Verdict {
    judge(
        ctx,
        WANTS,
        "kernel.dmesg_restrict keeps the kernel log to privileged users",
    )
}

/// Each failing key in a `sysctl.d` file read last.
fn fix(ctx: &Ctx<'_>, verdict: &Verdict) -> Vec<crate::checks::Remedy> {
    super::fix_wants(ctx, verdict, WANTS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::kernel::testing::*;
    use nodecheck_report::Status;

    #[test]
    fn verdicts() {
        assert_eq!(
            status_with(&CHECK, &[("kernel.dmesg_restrict", Some("1"))]),
            Status::Pass
        );
        assert_eq!(
            status_with(&CHECK, &[("kernel.dmesg_restrict", Some("0"))]),
            Status::Fail
        );
        // A copy of a node that recorded no sysctl cannot pass.
        assert_eq!(
            judge_all(&CHECK, &crate::checks::testing::empty_facts()).status,
            Status::Error
        );
    }
}
