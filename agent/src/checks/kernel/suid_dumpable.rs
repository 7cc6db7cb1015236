//! `kernel.suid-dumpable`: Set-uid programs do not leave readable core dumps.

use super::{Want, judge};
use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "kernel.suid-dumpable",
        title: "Set-uid programs do not leave readable core dumps",
        area: super::AREA,
        severity: Severity::Low,
        roles: super::ALL,
        rationale: "With `fs.suid_dumpable` 1 a process that changed its credentials (a set-uid program, a daemon that dropped root) dumps core owned by the user who crashed it: its memory, secrets included, in that user's hands. 0 dumps nothing; 2 dumps only to root (a pipe or an absolute core_pattern).",
        remediation: "`echo 'fs.suid_dumpable = 0' > /etc/sysctl.d/60-kernel-hardening.conf && sysctl --system`.",
        cis: &[],
        references: &["https://docs.kernel.org/admin-guide/sysctl/fs.html#suid-dumpable"],
        params: &[],
    },
    run,
    fix: Fix::Settings(fix),
};

const WANTS: &[Want] = &[Want::new("fs.suid_dumpable", "0, or 2 (root only)", |v| {
    v == 0 || v == 2
})];

fn run(ctx: &Ctx<'_>) -> Verdict {
    judge(
        ctx,
        WANTS,
        "fs.suid_dumpable gives no user a privileged process's core",
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
            status_with(&CHECK, &[("fs.suid_dumpable", Some("0"))]),
            Status::Pass
        );
        assert_eq!(
            status_with(&CHECK, &[("fs.suid_dumpable", Some("2"))]),
            Status::Pass
        );
        assert_eq!(
            status_with(&CHECK, &[("fs.suid_dumpable", Some("1"))]),
            Status::Fail
        );
        // A copy of a node that recorded no sysctl cannot pass.
        assert_eq!(
            judge_all(&CHECK, &crate::checks::testing::empty_facts()).status,
            Status::Error
        );
    }
}
