//! `sshd.ciphers`: No weak ciphers are offered.

use crate::checks::{
    ALL_ROLES, Check, CheckMeta, Ctx, Fix, ParamDefault, ParamSpec, Remedy, Verdict,
};
use nodecheck_report::Severity;

/// Weak Ciphers (patterns with `*`), as CHECKS.md lists them.
pub const WEAK: &[&str] = &[
    "3des-cbc",
    "aes128-cbc",
    "aes192-cbc",
    "aes256-cbc",
    "blowfish-cbc",
    "cast128-cbc",
    "arcfour*",
    "rijndael-cbc@lysator.liu.se",
];

pub const WEAK_PARAM: ParamSpec = ParamSpec {
    name: "weak",
    default: ParamDefault::Strings(WEAK),
    doc: "Algorithm names (with `*` wildcards) that fail the check.",
};

pub const CHACHA20_BEFORE_TERRAPIN_FIX: ParamSpec = ParamSpec {
    name: "chacha20_before_terrapin_fix",
    default: ParamDefault::Bool(false),
    doc: "Also fail chacha20-poly1305@openssh.com when the installed OpenSSH predates 9.6, the release with the Terrapin (CVE-2023-48795) strict key exchange. Distributions backport the fix, so this is off by default; the cis profile turns it on as the CIS audit regex does.",
};

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "sshd.ciphers",
        title: "No weak ciphers are offered",
        area: super::AREA,
        severity: Severity::Medium,
        roles: ALL_ROLES,
        rationale: "CBC-mode ciphers and 3DES are open to plaintext-recovery attacks; arcfour is broken. The effective list is what matters: `+`, `-` and `^` lists are resolved against the installed version's defaults before judging.",
        remediation: concat!(
            "Name the ciphers to offer, e.g. nodecheck's recommended line (docs/sshd-crypto-policy.md: it passes every profile and ssh-audit), `",
            recommended_ciphers!(),
            "`, or remove the weak ones with `Ciphers -3des-cbc,aes128-cbc,aes192-cbc,aes256-cbc`; then reload sshd."
        ),
        cis: &[],
        references: &["CIS Ubuntu Linux 24.04 LTS Benchmark v1.0.0 5.1.6"],
        params: &[WEAK_PARAM, CHACHA20_BEFORE_TERRAPIN_FIX],
    },
    run,
    fix: Fix::Settings(fix),
};

/// The profile's weak ciphers, with ChaCha20-Poly1305 on an sshd without the Terrapin fix
/// when the profile asks.
fn weak_names(ctx: &Ctx<'_>) -> Vec<String> {
    let mut weak: Vec<String> = ctx.params.list(&WEAK_PARAM);
    if ctx.params.flag(&CHACHA20_BEFORE_TERRAPIN_FIX)
        && let Ok(sshd) = super::loaded(ctx)
        && !sshd.config.version.at_least(9, 6)
    {
        weak.push("chacha20-poly1305@openssh.com".into());
    }
    weak
}

fn run(ctx: &Ctx<'_>) -> Verdict {
    super::judge_algorithms(ctx, "ciphers", "Ciphers", &weak_names(ctx))
}

/// nodecheck's recommended line, less what the profile calls weak.
fn fix(ctx: &Ctx<'_>, verdict: &Verdict) -> Vec<Remedy> {
    super::fix_algorithms(
        ctx,
        verdict,
        "Ciphers",
        recommended_ciphers!(),
        &weak_names(ctx),
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
                ("Ciphers +aes128-cbc\n", Status::Fail),
                ("Ciphers aes256-gcm@openssh.com,3des-cbc\n", Status::Fail),
                ("Ciphers -chacha20-poly1305@openssh.com\n", Status::Pass),
            ],
        );
        assert_sshd_na_and_error(&CHECK);
    }

    /// Issue 13: an empty element is skipped by sshd, so the weak cipher beside it is what
    /// runs (nodecheck used to call the whole file refused and judge nothing); a list that
    /// leaves nothing fails.
    #[test]
    fn empty_elements_and_empty_lists() {
        assert_cases(
            &CHECK,
            &[
                ("Ciphers aes128-ctr,aes128-cbc,\n", Status::Fail),
                ("Ciphers aes128-ctr,,aes256-ctr\n", Status::Pass),
                ("Ciphers -*\n", Status::Fail),
            ],
        );
        let refused = judge(&CHECK, &sshd_config("Ciphers ,\n"));
        assert_eq!(refused.status, Status::Error);
        assert!(
            refused.message.contains("assemble_algorithms: ciphers"),
            "{}",
            refused.message
        );
    }

    #[test]
    fn chacha20_is_flagged_before_the_terrapin_fix_when_asked() {
        let facts = sshd_config("");
        let mut params = crate::checks::Params::defaults(&CHECK.meta);
        params.0.insert(
            "chacha20_before_terrapin_fix".into(),
            crate::checks::ParamValue::Bool(true),
        );
        let verdict = judge_with(&CHECK, &facts, &[nodecheck_report::Role::Host], &params);
        assert_eq!(verdict.status, Status::Fail);
        assert!(
            verdict.message.contains("chacha20-poly1305@openssh.com"),
            "{}",
            verdict.message
        );
    }
}
