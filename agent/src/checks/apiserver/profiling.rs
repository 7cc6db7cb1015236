//! `apiserver.profiling`: API server profiling is disabled.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use crate::parse::flags::parse_bool;
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "apiserver.profiling",
        title: "API server profiling is disabled",
        area: super::AREA,
        severity: Severity::Low,
        roles: super::ROLES,
        rationale: "The profiling endpoints expose internals (goroutines, heap) useful to an attacker and cost CPU; they are on by default.",
        remediation: "Add `--profiling=false` to the kube-apiserver command.",
        cis: &["1.2.15"],
        references: &[
            "https://kubernetes.io/docs/reference/command-line-tools-reference/kube-apiserver/",
        ],
        params: &[],
    },
    run,
    fix: Fix::Settings(fix),
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    super::judge_flag(
        ctx,
        "profiling",
        Some("true"),
        "false",
        &|v| matches!(v, Some(b) if parse_bool(b) == Some(false)),
    )
}

fn fix(_: &Ctx<'_>, verdict: &Verdict) -> Vec<crate::checks::Remedy> {
    crate::checks::fix::component_flag(
        verdict,
        super::NAME,
        "profiling",
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
        assert_apiserver_cases(
            &CHECK,
            &[(&[], Status::Fail), (&["--profiling=false"], Status::Pass)],
        );
    }
}
