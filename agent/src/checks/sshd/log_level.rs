//! `sshd.log-level`: sshd logs at INFO or VERBOSE.

use crate::checks::{ALL_ROLES, Check, CheckMeta, Ctx, Fix, Remedy, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "sshd.log-level",
        title: "sshd logs at INFO or VERBOSE",
        area: super::AREA,
        severity: Severity::Low,
        roles: ALL_ROLES,
        rationale: "Below INFO, logins and failures go unrecorded; DEBUG levels log private data of users. VERBOSE also records the key fingerprint used for each login.",
        remediation: "Set `LogLevel VERBOSE` (or INFO) in the sshd configuration and reload sshd.",
        cis: &[],
        references: &["CIS Ubuntu Linux 24.04 LTS Benchmark v1.0.0 5.1.14"],
        params: &[],
    },
    run,
    fix: Fix::Settings(fix),
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    super::judge_values(ctx, "loglevel", "LogLevel", &["INFO", "VERBOSE"])
}

/// `LogLevel VERBOSE`: INFO passes too, VERBOSE also logs the key each login used.
fn fix(_: &Ctx<'_>, verdict: &Verdict) -> Vec<Remedy> {
    crate::checks::fix::sshd_values(verdict, &[("LogLevel", "VERBOSE")])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use nodecheck_report::Status;

    #[test]
    fn verdicts() {
        assert_cases(
            &CHECK,
            &[
                ("", Status::Pass),
                ("LogLevel VERBOSE\n", Status::Pass),
                ("LogLevel QUIET\n", Status::Fail),
                ("LogLevel DEBUG3\n", Status::Fail),
                ("Match User x\nLogLevel ERROR\n", Status::Fail),
            ],
        );
        assert_sshd_na_and_error(&CHECK);
    }
}
