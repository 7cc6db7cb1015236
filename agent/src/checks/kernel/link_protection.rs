//! `kernel.link-protection`: Links, FIFOs and files in sticky directories are protected.

use super::{Missing, Want, judge};
use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "kernel.link-protection",
        title: "Links, FIFOs and files in sticky directories are protected",
        area: super::AREA,
        severity: Severity::Medium,
        roles: super::ALL,
        rationale: "In world-writable sticky directories (/tmp, and the hostPath /tmp of many pods) a user who plants a symlink, a hard link, a FIFO or a file for a privileged process to open makes it write or read where the attacker chooses. `fs.protected_symlinks`, `protected_hardlinks`, `protected_fifos` and `protected_regular` close those races.",
        remediation: "`printf 'fs.protected_symlinks = 1\\\\nfs.protected_hardlinks = 1\\\\nfs.protected_fifos = 1\\\\nfs.protected_regular = 2\\\\n' > /etc/sysctl.d/60-kernel-hardening.conf && sysctl --system` (systemd ships these in 50-default.conf or 99-protect-links.conf).",
        cis: &[],
        references: &["https://docs.kernel.org/admin-guide/sysctl/fs.html"],
        params: &[],
    },
    run,
    fix: Fix::Settings(fix),
};

const WANTS: &[Want] = &[
    Want::new("fs.protected_symlinks", "1", |v| v == 1),
    Want::new("fs.protected_hardlinks", "1", |v| v == 1),
    Want::new("fs.protected_fifos", "1 or 2", |v| v == 1 || v == 2)
        .or_missing(Missing::NotApplicable("kernel older than 4.19")),
    Want::new("fs.protected_regular", "1 or 2", |v| v == 1 || v == 2)
        .or_missing(Missing::NotApplicable("kernel older than 4.19")),
];

fn run(ctx: &Ctx<'_>) -> Verdict {
    judge(
        ctx,
        WANTS,
        "symlinks, hard links, FIFOs and regular files in sticky directories are protected",
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
        let status = |fifos, regular| {
            judge_all(
                &CHECK,
                &with_sysctls(&[
                    ("fs.protected_symlinks", Some("1")),
                    ("fs.protected_hardlinks", Some("1")),
                    ("fs.protected_fifos", fifos),
                    ("fs.protected_regular", regular),
                ]),
            )
            .status
        };
        assert_eq!(status(Some("1"), Some("2")), Status::Pass);
        assert_eq!(status(Some("0"), Some("0")), Status::Fail);
        // Kernels before 4.19 have neither setting.
        assert_eq!(status(None, None), Status::Pass);
        // A copy of a node that recorded no sysctl cannot pass.
        assert_eq!(
            judge_all(&CHECK, &crate::checks::testing::empty_facts()).status,
            Status::Error
        );
    }
}
