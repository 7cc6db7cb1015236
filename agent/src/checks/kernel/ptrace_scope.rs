//! `kernel.ptrace-scope`: Processes cannot ptrace other processes of their user.

use super::{Missing, Want, judge};
use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "kernel.ptrace-scope",
        title: "Processes cannot ptrace other processes of their user",
        area: super::AREA,
        severity: Severity::Medium,
        roles: super::ALL,
        rationale: "Without Yama's restriction a process may attach to any other process of the same user and read its memory: a compromised service reads the secrets of every other process of its uid. On a Kubernetes node many containers run as the same uid (0, or 1000).",
        remediation: "Enable the Yama security module and `echo 'kernel.yama.ptrace_scope = 1' > /etc/sysctl.d/60-kernel-hardening.conf && sysctl --system` (2 admin-only, 3 no ptrace at all).",
        cis: &[],
        references: &["https://docs.kernel.org/admin-guide/LSM/Yama.html"],
        params: &[],
    },
    run,
    fix: Fix::Settings(fix),
};

const WANTS: &[Want] = &[Want::new("kernel.yama.ptrace_scope", "1, 2 or 3", |v| {
    (1..=3).contains(&v)
})
.or_missing(Missing::Fail(
    "absent: Yama is not active, so any process may trace the processes of its own user",
))];

fn run(ctx: &Ctx<'_>) -> Verdict {
    judge(ctx, WANTS, "Yama restricts ptrace")
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
            status_with(&CHECK, &[("kernel.yama.ptrace_scope", Some("1"))]),
            Status::Pass
        );
        assert_eq!(
            status_with(&CHECK, &[("kernel.yama.ptrace_scope", Some("0"))]),
            Status::Fail
        );
        assert_eq!(
            status_with(&CHECK, &[("kernel.yama.ptrace_scope", None)]),
            Status::Fail
        );
        // A copy of a node that recorded no sysctl cannot pass.
        assert_eq!(
            judge_all(&CHECK, &crate::checks::testing::empty_facts()).status,
            Status::Error
        );
    }
}
