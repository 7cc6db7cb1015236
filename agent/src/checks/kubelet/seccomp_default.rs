//! `kubelet.seccomp-default`: containers get the runtime's default seccomp profile.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use crate::parse::kubelet::KValue;
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "kubelet.seccomp-default",
        title: "Containers run with the default seccomp profile",
        area: super::AREA,
        severity: Severity::Medium,
        roles: super::ROLES,
        rationale: "Without seccompDefault every pod that does not ask for a profile runs unconfined, with the whole syscall surface of the kernel. The effective setting is the --seccomp-default flag OR the config field: the flag cannot turn off a true in the file.",
        remediation: "Set `seccompDefault: true` in the kubelet config file (or `--seccomp-default`), test workloads that need extra syscalls, and restart the kubelet.",
        cis: &["4.2.14"],
        references: &["https://kubernetes.io/docs/reference/config-api/kubelet-config.v1beta1/"],
        params: &[],
    },
    run,
    fix: Fix::Settings(fix),
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    let kubelet = match super::accepted(ctx) {
        Ok(k) => k,
        Err(v) => return v,
    };
    let field = kubelet.config.get("seccompDefault");
    let flag = kubelet.config.seccomp_flag.as_ref();
    let on = |f: Option<&crate::parse::kubelet::Field>| {
        matches!(f.map(|f| &f.value), Some(KValue::Bool(true)))
    };
    let ok = on(field) || on(flag);
    let mut items = vec![super::field_evidence(
        kubelet,
        "seccompDefault",
        field,
        "true (or --seccomp-default)",
        ok,
    )];
    if flag.is_some() {
        items.push(super::field_evidence(
            kubelet,
            "--seccomp-default",
            flag,
            "true (or seccompDefault)",
            ok,
        ));
    }
    Verdict::from_evidence(
        items,
        "the default seccomp profile applies to every container",
        |failing| super::failing_message(failing, "seccompDefault true (flag OR config)"),
    )
}

/// `seccompDefault: true`.
fn fix(_: &Ctx<'_>, verdict: &Verdict) -> Vec<crate::checks::Remedy> {
    crate::checks::fix::kubelet_values(verdict, &[("seccompDefault", serde_json::json!(true))])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use nodecheck_report::Status;

    #[test]
    fn verdicts() {
        assert_kubelet_cases(
            &CHECK,
            &[
                ("", &[], Status::Fail),
                ("seccompDefault: true\n", &[], Status::Pass),
                (
                    "seccompDefault: true\n",
                    &["--seccomp-default=false"],
                    Status::Pass,
                ),
                (
                    "seccompDefault: false\n",
                    &["--seccomp-default"],
                    Status::Pass,
                ),
            ],
        );
        assert_kubelet_refused_is_error(&CHECK);
    }
}
