//! `apiserver.node-restriction`: kubelets may only modify their own node and pods.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "apiserver.node-restriction",
        title: "The NodeRestriction admission plugin is enabled",
        area: super::AREA,
        severity: Severity::High,
        roles: super::ROLES,
        rationale: "Without NodeRestriction a compromised kubelet can label other nodes (steering workloads onto itself) and modify pods it does not run. It is not in the default plugin set.",
        remediation: "Add NodeRestriction to `--enable-admission-plugins` on the kube-apiserver (and keep it out of `--disable-admission-plugins`).",
        cis: &["1.2.14"],
        references: &[
            "https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/#noderestriction",
        ],
        params: &[],
    },
    run,
    fix: Fix::Settings(fix),
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    super::judge_admission_plugin(ctx, "NodeRestriction", true)
}

fn fix(_: &Ctx<'_>, verdict: &Verdict) -> Vec<crate::checks::Remedy> {
    super::admission_fix(verdict, "NodeRestriction", true)
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
                    &["--enable-admission-plugins=NodeRestriction"],
                    Status::Pass,
                ),
                (&[], Status::Fail),
                (&["--enable-admission-plugins=PodSecurity"], Status::Fail),
                (
                    &[
                        "--enable-admission-plugins=NodeRestriction",
                        "--disable-admission-plugins=NodeRestriction",
                    ],
                    Status::Fail,
                ),
                // The deprecated flag is the whole list.
                (&["--admission-control=NodeRestriction"], Status::Pass),
                (&["--admission-control=ServiceAccount"], Status::Fail),
            ],
        );
    }
}
