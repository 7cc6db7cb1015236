//! `sshd.macs`: No weak MACs are offered.

use crate::checks::{
    ALL_ROLES, Check, CheckMeta, Ctx, Fix, ParamDefault, ParamSpec, Remedy, Verdict,
};
use nodecheck_report::Severity;

/// Weak MACs (patterns with `*`), as CHECKS.md lists them.
pub const WEAK: &[&str] = &[
    "hmac-md5",
    "hmac-md5-96",
    "hmac-ripemd160",
    "hmac-sha1-96",
    "umac-64@openssh.com",
    "hmac-md5-etm@openssh.com",
    "hmac-md5-96-etm@openssh.com",
    "hmac-ripemd160-etm@openssh.com",
    "hmac-sha1-96-etm@openssh.com",
    "umac-64-etm@openssh.com",
];

pub const WEAK_PARAM: ParamSpec = ParamSpec {
    name: "weak",
    default: ParamDefault::Strings(WEAK),
    doc: "Algorithm names (with `*` wildcards) that fail the check.",
};

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "sshd.macs",
        title: "No weak MACs are offered",
        area: super::AREA,
        severity: Severity::Medium,
        roles: ALL_ROLES,
        rationale: "MD5, RIPEMD-160, truncated SHA-1 and 64-bit UMAC tags are too weak for integrity protection. Every untouched OpenSSH 9.x/10.x offers umac-64: this check fails on a stock sshd until the list is trimmed.",
        remediation: concat!(
            "Name the MACs to offer, e.g. nodecheck's recommended line (docs/sshd-crypto-policy.md: it also drops the SHA-1 and 128-bit UMAC tags that the bastion and cis profiles and ssh-audit fail), `",
            recommended_macs!(),
            "`; then reload sshd."
        ),
        cis: &[],
        references: &["CIS Ubuntu Linux 24.04 LTS Benchmark v1.0.0 5.1.15"],
        params: &[WEAK_PARAM],
    },
    run,
    fix: Fix::Settings(fix),
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    super::judge_algorithms(ctx, "macs", "MACs", &ctx.params.list(&WEAK_PARAM))
}

/// nodecheck's recommended line, less what the profile calls weak.
fn fix(ctx: &Ctx<'_>, verdict: &Verdict) -> Vec<Remedy> {
    super::fix_algorithms(
        ctx,
        verdict,
        "MACs",
        recommended_macs!(),
        &ctx.params.list(&WEAK_PARAM),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use nodecheck_report::Status;

    #[test]
    fn verdicts() {
        assert_cases(
            &CHECK,
            &[
                ("", Status::Fail),
                ("MACs -umac-64*\n", Status::Pass),
                (
                    "MACs hmac-sha2-512-etm@openssh.com,hmac-md5\n",
                    Status::Fail,
                ),
            ],
        );
        assert_sshd_na_and_error(&CHECK);
    }

    /// Issue 13, found against OpenSSH 9.2: sshd ignores a global-only keyword in `Match All`
    /// once a global line set it (`sshd -T` and the wire offer the global MACs), and skips
    /// empty list elements rather than refusing the file.
    #[test]
    fn only_what_sshd_applies_is_judged() {
        let strong = "MACs hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com\n";
        assert_cases(
            &CHECK,
            &[
                (&format!("{strong}Match All\nMACs hmac-md5\n"), Status::Pass),
                ("Match All\nMACs hmac-md5\n", Status::Fail),
                ("MACs hmac-sha2-256,hmac-md5,\n", Status::Fail),
                ("MACs hmac-sha2-256,,hmac-md5\n", Status::Fail),
                ("MACs ,hmac-sha2-256\n", Status::Pass),
            ],
        );
        let verdict = judge(&CHECK, &sshd_config("MACs -*\n"));
        assert_eq!(verdict.status, Status::Fail);
        assert!(
            verdict.message.contains("no matching MACs found"),
            "{}",
            verdict.message
        );
    }
}
