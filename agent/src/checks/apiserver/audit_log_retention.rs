//! `apiserver.audit-log-retention`: audit logs are kept long enough to investigate.

use crate::checks::{Check, CheckMeta, Ctx, Fix, ParamDefault, ParamSpec, Verdict, evidence};
use nodecheck_report::{Evidence, Severity, Source, Status};

pub const MIN_AGE_DAYS: ParamSpec = ParamSpec {
    name: "min_age_days",
    default: ParamDefault::Integer(30),
    doc: "Least --audit-log-maxage (days an old audit log file is kept).",
};
pub const MIN_BACKUPS: ParamSpec = ParamSpec {
    name: "min_backups",
    default: ParamDefault::Integer(10),
    doc: "Least --audit-log-maxbackup (old audit log files kept).",
};
pub const MIN_SIZE_MB: ParamSpec = ParamSpec {
    name: "min_size_mb",
    default: ParamDefault::Integer(100),
    doc: "Least --audit-log-maxsize (megabytes before a file is rotated).",
};
pub const REQUIRE_EXPLICIT: ParamSpec = ParamSpec {
    name: "require_explicit",
    default: ParamDefault::Bool(false),
    doc: "Fail when a retention flag is unset (0: keep everything forever) as CIS words it.",
};

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "apiserver.audit-log-retention",
        title: "Audit logs are kept long enough to investigate",
        area: super::AREA,
        severity: Severity::Low,
        roles: super::ROLES,
        rationale: "An intrusion is often found weeks later; audit logs rotated away before then cannot tell what happened. The flags default to 0, which keeps every file forever (and rotates at 100 MB): enough history, but an unbounded disk. CIS wants explicit values (cis profile: require_explicit).",
        remediation: "Set `--audit-log-maxage=30`, `--audit-log-maxbackup=10` and `--audit-log-maxsize=100` (or more) on the kube-apiserver, or ship the audit log off the node and say so in a waiver.",
        cis: &["1.2.17", "1.2.18", "1.2.19"],
        references: &["https://kubernetes.io/docs/tasks/debug/debug-cluster/audit/#log-backend"],
        params: &[MIN_AGE_DAYS, MIN_BACKUPS, MIN_SIZE_MB, REQUIRE_EXPLICIT],
    },
    run,
    fix: Fix::Manual,
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    let apiserver = match super::found(ctx) {
        Ok(a) => a,
        Err(v) => return v,
    };
    let path = apiserver.args.value("audit-log-path").map(|(v, _)| v);
    match path {
        None | Some("") => {
            return Verdict::not_applicable(
                "the API server writes no audit log (--audit-log-path is not set; apiserver.audit-log judges that)",
            );
        }
        Some("-") => {
            return Verdict::not_applicable(
                "the audit log goes to standard output (--audit-log-path=-): its retention is the log pipeline's",
            );
        }
        Some(_) => {}
    }
    let require_explicit = ctx.params.flag(&REQUIRE_EXPLICIT);
    let items: Vec<Evidence> = [
        ("audit-log-maxage", ctx.params.int(&MIN_AGE_DAYS), "days"),
        ("audit-log-maxbackup", ctx.params.int(&MIN_BACKUPS), "files"),
        ("audit-log-maxsize", ctx.params.int(&MIN_SIZE_MB), "MB"),
    ]
    .into_iter()
    .map(|(flag, min, unit)| judge_one(&apiserver.args, flag, min, unit, require_explicit))
    .collect();
    Verdict::from_evidence(items, "audit logs are retained", |failing| {
        super::failing_message(failing, "the retention flags at or above their minimums")
    })
}

fn judge_one(
    args: &crate::facts::control_plane::ComponentArgs,
    flag: &str,
    min: i64,
    unit: &str,
    require_explicit: bool,
) -> Evidence {
    let expected = format!("{min} {unit} or more");
    let Some((value, source)) = args.value(flag) else {
        // 0 (the default) keeps everything: maxage and maxbackup set no limit, and maxsize
        // falls back to the log rotator's 100 MB.
        let mut item = evidence(
            format!("--{flag}"),
            Some("0".into()),
            expected,
            !require_explicit,
            Source::default_value("not set: kube-apiserver default 0"),
        );
        item.note = Some(if flag == "audit-log-maxsize" {
            "0: files rotate at 100 MB".into()
        } else {
            "0: nothing is removed (unbounded disk use)".into()
        });
        return item;
    };
    match value.parse::<i64>() {
        // An explicit 0 is the default's meaning: unlimited retention.
        Ok(0) => {
            let mut item = evidence(
                format!("--{flag}"),
                Some(value.into()),
                expected,
                !require_explicit || flag == "audit-log-maxsize",
                source.clone(),
            );
            item.note = Some("0: no limit".into());
            item
        }
        Ok(n) => evidence(
            format!("--{flag}"),
            Some(value.into()),
            expected,
            n >= min,
            source.clone(),
        ),
        Err(_) => Evidence {
            subject: format!("--{flag}"),
            observed: Some(value.into()),
            expected: "a number (the API server refuses to start otherwise)".into(),
            status: Status::Error,
            source: source.clone(),
            note: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use crate::checks::{ParamValue, Params};
    use nodecheck_report::Role;

    const PATH: &str = "--audit-log-path=/var/log/kubernetes/audit.log";

    #[test]
    fn verdicts() {
        assert_apiserver_cases(
            &CHECK,
            &[
                (&[], Status::NotApplicable),
                (&["--audit-log-path=-"], Status::NotApplicable),
                (&[PATH], Status::Pass),
                (
                    &[
                        PATH,
                        "--audit-log-maxage=30",
                        "--audit-log-maxbackup=10",
                        "--audit-log-maxsize=100",
                    ],
                    Status::Pass,
                ),
                (&[PATH, "--audit-log-maxage=7"], Status::Fail),
                (&[PATH, "--audit-log-maxbackup=3"], Status::Fail),
                (&[PATH, "--audit-log-maxsize=ten"], Status::Error),
            ],
        );
    }

    #[test]
    fn the_cis_profile_wants_every_flag_set() {
        let mut params = Params::defaults(&CHECK.meta);
        params
            .0
            .insert("require_explicit".into(), ParamValue::Bool(true));
        let judge = |args: &[&str]| {
            judge_with(
                &CHECK,
                &apiserver_facts(&[], args),
                &[Role::ControlPlane],
                &params,
            )
            .status
        };
        assert_eq!(judge(&[PATH]), Status::Fail);
        assert_eq!(
            judge(&[
                PATH,
                "--audit-log-maxage=30",
                "--audit-log-maxbackup=10",
                "--audit-log-maxsize=200"
            ]),
            Status::Pass
        );
    }
}
