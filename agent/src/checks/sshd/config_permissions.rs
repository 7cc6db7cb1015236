//! `sshd.config-permissions`: sshd_config and every included file are private to root.

use crate::checks::{ALL_ROLES, Check, CheckMeta, Ctx, Fix, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "sshd.config-permissions",
        title: "sshd configuration files are 0600 root:root",
        area: super::AREA,
        severity: Severity::Medium,
        roles: ALL_ROLES,
        rationale: "Whoever can write an sshd configuration file can grant themselves root logins; readable files show attackers which accounts and methods are allowed. Every file sshd includes counts, not only sshd_config.",
        remediation: "Run `chown root:root` and `chmod 600` on /etc/ssh/sshd_config and every file it includes (e.g. /etc/ssh/sshd_config.d/*.conf).",
        cis: &[],
        references: &["CIS Ubuntu Linux 24.04 LTS Benchmark v1.0.0 5.1.1"],
        params: &[],
    },
    run,
    fix: Fix::Settings(fix),
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    super::with_loaded(ctx, |sshd| {
        super::judge_files(
            &sshd.config_files,
            "sshd configuration files",
            &super::strict_file_rule(0o600),
        )
    })
}

/// Each failing file 0600 or stricter, owned by root:root.
fn fix(_: &Ctx<'_>, verdict: &Verdict) -> Vec<crate::checks::Remedy> {
    crate::checks::fix::root_owned_modes(verdict, 0o600)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use nodecheck_report::Status;

    #[test]
    fn verdicts() {
        let mut facts = sshd_facts(&[
            (
                "/etc/ssh/sshd_config",
                "Include /etc/ssh/sshd_config.d/*.conf\n",
            ),
            ("/etc/ssh/sshd_config.d/a.conf", "PermitRootLogin no\n"),
        ]);
        assert_eq!(judge(&CHECK, &facts).status, Status::Pass);
        loaded_mut(&mut facts).config_files[1] =
            file("/etc/ssh/sshd_config.d/a.conf", 0o644, "root", "root");
        let v = judge(&CHECK, &facts);
        assert_eq!(v.status, Status::Fail);
        assert!(
            v.message.contains("a.conf is 0644 root:root"),
            "{}",
            v.message
        );
        loaded_mut(&mut facts).config_files[1] =
            file("/etc/ssh/sshd_config.d/a.conf", 0o600, "admin", "root");
        assert_eq!(judge(&CHECK, &facts).status, Status::Fail);
        assert_eq!(judge(&CHECK, &empty_facts()).status, Status::NotApplicable);
    }

    #[test]
    fn a_refused_configuration_is_still_judged_on_its_files() {
        let facts = sshd_config("Bogus yes\n");
        assert_eq!(judge(&CHECK, &facts).status, Status::Pass);
    }
}
