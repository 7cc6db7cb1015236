//! `etcd.peer-client-cert-auth`: etcd peers authenticate with certificates.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "etcd.peer-client-cert-auth",
        title: "etcd peers authenticate with certificates",
        area: super::AREA,
        severity: Severity::High,
        roles: super::ROLES,
        rationale: "Without peer client certificate authentication anything that reaches port 2380 can join the cluster as a member and receive its data.",
        remediation: "Set `--peer-client-cert-auth=true` and `--peer-trusted-ca-file` on every etcd member.",
        cis: &["2.5"],
        references: &["https://etcd.io/docs/v3.5/op-guide/security/"],
        params: &[],
    },
    run,
    fix: Fix::Settings(fix),
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    super::judge_bool(ctx, "peer-client-cert-auth", true)
}

fn fix(ctx: &Ctx<'_>, verdict: &Verdict) -> Vec<crate::checks::Remedy> {
    super::cert_auth_fix(
        ctx,
        verdict,
        "peer-client-cert-auth",
        "peer-trusted-ca-file",
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
                (&["--peer-client-cert-auth=true"], Status::Pass),
                (&[], Status::Fail),
            ],
        );
    }
}
