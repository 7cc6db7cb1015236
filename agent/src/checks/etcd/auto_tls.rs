//! `etcd.auto-tls`: etcd does not use self-signed client certificates.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "etcd.auto-tls",
        title: "etcd does not use self-signed client certificates",
        area: super::AREA,
        severity: Severity::High,
        roles: super::ROLES,
        rationale: "--auto-tls makes etcd generate a self-signed certificate that no client can verify, which invites clients that do not verify at all.",
        remediation: "Remove `--auto-tls` (or set it false) and give etcd a certificate from the etcd CA.",
        cis: &["2.3"],
        references: &["https://etcd.io/docs/v3.5/op-guide/security/"],
        params: &[],
    },
    run,
    fix: Fix::Settings(fix),
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    super::judge_bool(ctx, "auto-tls", false)
}

fn fix(_: &Ctx<'_>, verdict: &Verdict) -> Vec<crate::checks::Remedy> {
    crate::checks::fix::component_flag(
        verdict,
        "etcd",
        "auto-tls",
        crate::checks::FlagChange::Set("false".into()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use nodecheck_report::Status;

    #[test]
    fn verdicts() {
        assert_etcd_cases(
            &CHECK,
            &[
                (&[], Status::Pass),
                (&["--auto-tls=false"], Status::Pass),
                (&["--auto-tls"], Status::Fail),
            ],
        );
    }
}
