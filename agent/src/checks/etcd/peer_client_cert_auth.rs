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

/// Turned on only when etcd already names the CA it would check certificates against:
/// without one it would refuse every client.
fn fix(ctx: &Ctx<'_>, verdict: &Verdict) -> Vec<crate::checks::Remedy> {
    let has_ca = super::found(ctx)
        .ok()
        .and_then(|etcd| etcd.args.value("peer-trusted-ca-file"))
        .is_some_and(|(v, _)| !v.is_empty());
    if !has_ca {
        return vec![crate::checks::Remedy::NotHere {
            why: "etcd names no --peer-trusted-ca-file: give it the etcd CA before turning on --peer-client-cert-auth".into(),
        }];
    }
    crate::checks::fix::component_flag(
        verdict,
        "etcd",
        "peer-client-cert-auth",
        crate::checks::FlagChange::Set("true".into()),
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
