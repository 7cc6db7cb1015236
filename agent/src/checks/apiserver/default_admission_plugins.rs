//! `apiserver.default-admission-plugins`: ServiceAccount and NamespaceLifecycle stay on.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use nodecheck_report::Severity;

/// The plugins judged: on by default, and what keeps service accounts and namespaces sound.
const PLUGINS: [&str; 2] = ["ServiceAccount", "NamespaceLifecycle"];

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "apiserver.default-admission-plugins",
        title: "The ServiceAccount and NamespaceLifecycle admission plugins are on",
        area: super::AREA,
        severity: Severity::High,
        roles: super::ROLES,
        rationale: "ServiceAccount gives every pod an identity and stops a pod from naming another's token secret; NamespaceLifecycle stops objects from being created in a namespace being deleted (or in one that does not exist). Both are on by default; disabling either, or a deprecated `--admission-control` list that leaves them out, removes those guarantees.",
        remediation: "Remove ServiceAccount and NamespaceLifecycle from `--disable-admission-plugins` on the kube-apiserver, and replace a deprecated `--admission-control` list with `--enable-admission-plugins`.",
        cis: &["1.2.12", "1.2.13"],
        references: &[
            "https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/#serviceaccount",
            "https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/#namespacelifecycle",
        ],
        params: &[],
    },
    run,
    fix: Fix::Settings(fix),
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    let apiserver = match super::found(ctx) {
        Ok(a) => a,
        Err(v) => return v,
    };
    let mut items = Vec::new();
    for plugin in PLUGINS {
        let (_, mut evidence) = super::admission_plugin(&apiserver.args, plugin, true);
        items.append(&mut evidence);
    }
    Verdict::from_evidence(
        items,
        "ServiceAccount and NamespaceLifecycle are on",
        |failing| super::failing_message(failing, "ServiceAccount and NamespaceLifecycle on"),
    )
}

fn fix(_: &Ctx<'_>, verdict: &Verdict) -> Vec<crate::checks::Remedy> {
    let mut out = Vec::new();
    for plugin in PLUGINS {
        let expected = format!("{plugin} on");
        for remedy in super::admission_fix_items(
            crate::checks::fix::failing(verdict).filter(|e| e.expected == expected),
            plugin,
            true,
        ) {
            if !out.contains(&remedy) {
                out.push(remedy);
            }
        }
    }
    out
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
                (&[], Status::Pass),
                (
                    &["--enable-admission-plugins=NodeRestriction"],
                    Status::Pass,
                ),
                (
                    &["--disable-admission-plugins=ServiceAccount"],
                    Status::Fail,
                ),
                (
                    &["--disable-admission-plugins=NamespaceLifecycle,PodSecurity"],
                    Status::Fail,
                ),
                (&["--admission-control=NodeRestriction"], Status::Fail),
                (
                    &["--admission-control=NamespaceLifecycle,ServiceAccount"],
                    Status::Pass,
                ),
            ],
        );
    }
}
