//! `kernel.kptr-restrict`: Kernel addresses are hidden from unprivileged readers.

use super::{Want, judge};
use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "kernel.kptr-restrict",
        title: "Kernel addresses are hidden from unprivileged readers",
        area: super::AREA,
        severity: Severity::Medium,
        roles: super::ALL,
        rationale: "With `kernel.kptr_restrict` 0 every user, and every container process, reads the kernel's addresses in /proc/kallsyms, /proc/modules and friends: the kernel's address-space randomisation is undone, and a kernel exploit from inside a container no longer has to guess where its targets are.",
        remediation: "`echo 'kernel.kptr_restrict = 1' > /etc/sysctl.d/60-kernel-hardening.conf && sysctl --system` (2 hides them from root as well).",
        cis: &[],
        references: &["https://docs.kernel.org/admin-guide/sysctl/kernel.html#kptr-restrict"],
        params: &[],
    },
    run,
    fix: Fix::Settings(fix),
};

const WANTS: &[Want] = &[Want::new("kernel.kptr_restrict", "1 or 2", |v| {
    v == 1 || v == 2
})];

fn run(ctx: &Ctx<'_>) -> Verdict {
    judge(ctx, WANTS, "kernel.kptr_restrict hides kernel addresses")
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
            status_with(&CHECK, &[("kernel.kptr_restrict", Some("1"))]),
            Status::Pass
        );
        assert_eq!(
            status_with(&CHECK, &[("kernel.kptr_restrict", Some("2"))]),
            Status::Pass
        );
        assert_eq!(
            status_with(&CHECK, &[("kernel.kptr_restrict", Some("0"))]),
            Status::Fail
        );
        // A copy of a node that recorded no sysctl cannot pass.
        assert_eq!(
            judge_all(&CHECK, &crate::checks::testing::empty_facts()).status,
            Status::Error
        );
    }
}
