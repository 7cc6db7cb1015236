//! `apiserver.node-restriction`: kubelets may only modify their own node and pods.

use crate::checks::{Check, CheckMeta, Ctx, Verdict};
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
        references: &["CIS K8s 1.2.14", "seed"],
        params: &[],
    },
    run,
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    let apiserver = match super::found(ctx) {
        Ok(a) => a,
        Err(v) => return v,
    };
    let enabled = apiserver
        .args
        .list("enable-admission-plugins")
        .is_some_and(|(l, _)| l.iter().any(|p| p == "NodeRestriction"));
    let disabled = apiserver
        .args
        .list("disable-admission-plugins")
        .is_some_and(|(l, _)| l.iter().any(|p| p == "NodeRestriction"));
    let mut items = vec![super::flag_evidence(
        &apiserver.args,
        "enable-admission-plugins",
        None,
        "includes NodeRestriction",
        enabled,
    )];
    if apiserver.args.value("disable-admission-plugins").is_some() {
        items.push(super::flag_evidence(
            &apiserver.args,
            "disable-admission-plugins",
            None,
            "does not include NodeRestriction",
            !disabled,
        ));
    }
    Verdict::from_evidence(items, "NodeRestriction is enabled", |failing| {
        super::failing_message(failing, "NodeRestriction enabled and not disabled")
    })
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
            ],
        );
    }
}
