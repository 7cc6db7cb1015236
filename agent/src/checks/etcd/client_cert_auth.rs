//! `etcd.client-cert-auth`: etcd requires client certificates.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "etcd.client-cert-auth",
        title: "etcd requires client certificates",
        area: super::AREA,
        severity: Severity::Critical,
        roles: super::ROLES,
        rationale: "Without client certificate authentication anyone who reaches port 2379 reads and writes the whole cluster state, secrets included. The default is off.",
        remediation: "Set `--client-cert-auth=true` and `--trusted-ca-file` on etcd.",
        cis: &["2.2"],
        references: &["https://etcd.io/docs/v3.5/op-guide/security/"],
        params: &[],
    },
    run,
    fix: Fix::Settings(fix),
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    super::judge_bool(ctx, "client-cert-auth", true)
}

fn fix(ctx: &Ctx<'_>, verdict: &Verdict) -> Vec<crate::checks::Remedy> {
    super::cert_auth_fix(ctx, verdict, "client-cert-auth", "trusted-ca-file")
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
                (&["--client-cert-auth=true"], Status::Pass),
                (&["--client-cert-auth"], Status::Pass),
                (&[], Status::Fail),
                (&["--client-cert-auth=false"], Status::Fail),
            ],
        );
    }
}
