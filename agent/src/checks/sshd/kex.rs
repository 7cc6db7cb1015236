//! `sshd.kex`: No weak key exchange algorithms are offered.

use crate::checks::{
    ALL_ROLES, Check, CheckMeta, Ctx, Fix, ParamDefault, ParamSpec, Remedy, Verdict,
};
use nodecheck_report::Severity;

/// Weak KexAlgorithms (patterns with `*`), as CHECKS.md lists them.
pub const WEAK: &[&str] = &[
    "diffie-hellman-group1-sha1",
    "diffie-hellman-group14-sha1",
    "diffie-hellman-group-exchange-sha1",
];

pub const WEAK_PARAM: ParamSpec = ParamSpec {
    name: "weak",
    default: ParamDefault::Strings(WEAK),
    doc: "Algorithm names (with `*` wildcards) that fail the check.",
};

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "sshd.kex",
        title: "No weak key exchange algorithms are offered",
        area: super::AREA,
        severity: Severity::Medium,
        roles: ALL_ROLES,
        rationale: "SHA-1 based and 1024-bit Diffie-Hellman key exchanges are within reach of well-funded attackers (Logjam) and offer no forward-looking security.",
        remediation: concat!(
            "Name the key exchanges to offer, e.g. nodecheck's recommended line (docs/sshd-crypto-policy.md: no SHA-1, no NIST curves, so it passes the bastion profile and ssh-audit too), `",
            recommended_kex!(),
            "`; then reload sshd."
        ),
        cis: &[],
        references: &["CIS Ubuntu Linux 24.04 LTS Benchmark v1.0.0 5.1.12"],
        params: &[WEAK_PARAM],
    },
    run,
    fix: Fix::Settings(fix),
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    super::judge_algorithms(
        ctx,
        "kexalgorithms",
        "KexAlgorithms",
        &ctx.params.list(&WEAK_PARAM),
    )
}

/// nodecheck's recommended line, less what the profile calls weak.
fn fix(ctx: &Ctx<'_>, verdict: &Verdict) -> Vec<Remedy> {
    super::fix_algorithms(
        ctx,
        verdict,
        "KexAlgorithms",
        recommended_kex!(),
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
                ("", Status::Pass),
                ("KexAlgorithms +diffie-hellman-group14-sha1\n", Status::Fail),
                ("KexAlgorithms -diffie-hellman-*\n", Status::Pass),
            ],
        );
        assert_sshd_na_and_error(&CHECK);
    }
}
