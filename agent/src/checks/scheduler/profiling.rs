//! `scheduler.profiling`: scheduler profiling is off.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use crate::parse::flags::parse_bool;
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "scheduler.profiling",
        title: "Scheduler profiling is disabled",
        area: super::AREA,
        severity: Severity::Low,
        roles: super::ROLES,
        rationale: "The scheduler serves /debug/pprof to anyone its authorization allows; it is on by default. With `--config`, the configuration's enableProfiling (default true) decides and the `--profiling` flag is ignored, so a `--profiling=false` beside a config file disables nothing.",
        remediation: "Set `--profiling=false` on the kube-scheduler, or `enableProfiling: false` in its KubeSchedulerConfiguration when it runs with `--config`.",
        cis: &["1.4.1"],
        references: &[
            "https://kubernetes.io/docs/reference/command-line-tools-reference/kube-scheduler/",
            "https://kubernetes.io/docs/reference/config-api/kube-scheduler-config.v1/",
        ],
        params: &[],
    },
    run,
    fix: Fix::Settings(fix),
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    crate::checks::component::judge_setting(
        super::found(ctx),
        super::NAME,
        "profiling",
        Some("enableProfiling"),
        Some("true"),
        "false",
        &|v| v.and_then(parse_bool) == Some(false),
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
        assert_kind_cases(
            &CHECK,
            &crate::facts::components::SCHEDULER,
            &[
                (&[], Status::Fail),
                (&["--profiling=false"], Status::Pass),
                (&["--profiling=true"], Status::Fail),
            ],
        );
        let kind = &crate::facts::components::SCHEDULER;
        let files = [(
            "etc/kubernetes/scheduler-config.yaml",
            "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n",
        )];
        // The flag is ignored beside a config file: the file's default (true) holds.
        let ignored = component_facts(
            &files,
            kind,
            &[
                "--config=/etc/kubernetes/scheduler-config.yaml",
                "--profiling=false",
            ],
        );
        assert_eq!(judge_control_plane(&CHECK, &ignored).status, Status::Fail);
        let files = [(
            "etc/kubernetes/scheduler-config.yaml",
            "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nenableProfiling: false\n",
        )];
        let off = component_facts(
            &files,
            kind,
            &["--config=/etc/kubernetes/scheduler-config.yaml"],
        );
        assert_eq!(judge_control_plane(&CHECK, &off).status, Status::Pass);
        let broken = component_facts(&[], kind, &["--config=/etc/kubernetes/missing.yaml"]);
        assert_eq!(judge_control_plane(&CHECK, &broken).status, Status::Error);
    }
}
