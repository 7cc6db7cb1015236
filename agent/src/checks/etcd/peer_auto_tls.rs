//! `etcd.peer-auto-tls`: etcd peers do not use self-signed certificates.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "etcd.peer-auto-tls",
        title: "etcd peers do not use self-signed certificates",
        area: super::AREA,
        severity: Severity::High,
        roles: super::ROLES,
        rationale: "--peer-auto-tls makes members use self-signed certificates that other members cannot verify.",
        remediation: "Remove `--peer-auto-tls` and give each member a peer certificate from the etcd CA.",
        cis: &["2.6"],
        references: &["https://etcd.io/docs/v3.5/op-guide/security/"],
        params: &[],
    },
    run,
    fix: Fix::Settings(fix),
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    super::judge_bool(ctx, "peer-auto-tls", false)
}

fn fix(_: &Ctx<'_>, verdict: &Verdict) -> Vec<crate::checks::Remedy> {
    crate::checks::fix::component_flag(
        verdict,
        "etcd",
        "peer-auto-tls",
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
                (&["--peer-auto-tls=true"], Status::Fail),
            ],
        );
    }
}
