//! `apiserver.deny-external-ips`: Services cannot claim arbitrary external IPs.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "apiserver.deny-external-ips",
        title: "The DenyServiceExternalIPs admission plugin is enabled",
        area: super::AREA,
        severity: Severity::Medium,
        roles: super::ROLES,
        rationale: "Anyone who may create or edit a Service can set spec.externalIPs to another tenant's or an external address and have every node intercept its traffic (CVE-2020-8554, unpatched by design). DenyServiceExternalIPs refuses new external IPs; it is off by default.",
        remediation: "Add DenyServiceExternalIPs to `--enable-admission-plugins` on the kube-apiserver (or enforce the same with a validating admission policy), after moving any Service that uses externalIPs to a LoadBalancer.",
        cis: &["1.2.3"],
        references: &[
            "https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/#denyserviceexternalips",
            "CVE-2020-8554",
        ],
        params: &[],
    },
    run,
    fix: Fix::Settings(fix),
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    super::judge_admission_plugin(ctx, "DenyServiceExternalIPs", true)
}

fn fix(_: &Ctx<'_>, verdict: &Verdict) -> Vec<crate::checks::Remedy> {
    super::admission_fix(verdict, "DenyServiceExternalIPs", true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use nodecheck_report::Status;

    #[test]
    fn verdicts() {
        assert_apiserver_cases(
            &CHECK,
            &[
                (
                    &["--enable-admission-plugins=NodeRestriction,DenyServiceExternalIPs"],
                    Status::Pass,
                ),
                (&[], Status::Fail),
                (
                    &[
                        "--enable-admission-plugins=DenyServiceExternalIPs",
                        "--disable-admission-plugins=DenyServiceExternalIPs",
                    ],
                    Status::Fail,
                ),
                (
                    &["--admission-control=DenyServiceExternalIPs"],
                    Status::Pass,
                ),
            ],
        );
    }
}
