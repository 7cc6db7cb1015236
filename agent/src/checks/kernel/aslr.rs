//! `kernel.aslr`: Address-space layout randomisation is full.

use super::{Want, judge};
use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "kernel.aslr",
        title: "Address-space layout randomisation is full",
        area: super::AREA,
        severity: Severity::Medium,
        roles: super::ALL,
        rationale: "`kernel.randomize_va_space` 2 randomises the stack, mmap base, VDSO and heap of every process; below that, memory-corruption exploits in node daemons and container workloads find their targets at fixed addresses.",
        remediation: "`echo 'kernel.randomize_va_space = 2' > /etc/sysctl.d/60-kernel-hardening.conf && sysctl --system`.",
        cis: &[],
        references: &["https://docs.kernel.org/admin-guide/sysctl/kernel.html#randomize-va-space"],
        params: &[],
    },
    run,
    fix: Fix::Settings(fix),
};

const WANTS: &[Want] = &[Want::new("kernel.randomize_va_space", "2", |v| v == 2)];

fn run(ctx: &Ctx<'_>) -> Verdict {
    judge(ctx, WANTS, "kernel.randomize_va_space is 2")
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
            status_with(&CHECK, &[("kernel.randomize_va_space", Some("2"))]),
            Status::Pass
        );
        assert_eq!(
            status_with(&CHECK, &[("kernel.randomize_va_space", Some("1"))]),
            Status::Fail
        );
        assert_eq!(
            status_with(&CHECK, &[("kernel.randomize_va_space", Some("x"))]),
            Status::Error
        );
        // A copy of a node that recorded no sysctl cannot pass.
        assert_eq!(
            judge_all(&CHECK, &crate::checks::testing::empty_facts()).status,
            Status::Error
        );
    }
}
