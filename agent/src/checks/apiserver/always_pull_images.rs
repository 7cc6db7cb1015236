//! `apiserver.always-pull-images`: every pod pulls its images with its own credentials.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "apiserver.always-pull-images",
        title: "The AlwaysPullImages admission plugin is enabled",
        area: super::AREA,
        severity: Severity::Info,
        roles: super::ROLES,
        rationale: "On a node shared by tenants, an image pulled with one pod's registry credentials stays cached, and another pod that names it runs it without credentials. AlwaysPullImages forces a pull (and so a credential check) for every container. It is contested: every start then depends on the registry being up, and the kubelet's KubeletEnsureSecretPulledImages feature solves the same problem without that cost, so the default profile reports it for information; the cis profile gives it CIS's weight.",
        remediation: "Add AlwaysPullImages to `--enable-admission-plugins` on the kube-apiserver, or (Kubernetes 1.33+) enable the kubelet feature KubeletEnsureSecretPulledImages instead.",
        cis: &["1.2.11"],
        references: &[
            "https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/#alwayspullimages",
        ],
        params: &[],
    },
    run,
    fix: Fix::Settings(fix),
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    super::judge_admission_plugin(ctx, "AlwaysPullImages", true)
}

fn fix(_: &Ctx<'_>, verdict: &Verdict) -> Vec<crate::checks::Remedy> {
    super::admission_fix(verdict, "AlwaysPullImages", true)
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
                    &["--enable-admission-plugins=AlwaysPullImages"],
                    Status::Pass,
                ),
                (&[], Status::Fail),
            ],
        );
    }
}
