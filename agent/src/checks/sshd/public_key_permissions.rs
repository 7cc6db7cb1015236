//! `sshd.public-key-permissions`: public host keys cannot be replaced.

use crate::checks::{ALL_ROLES, Check, CheckMeta, Ctx, Fix, Verdict};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "sshd.public-key-permissions",
        title: "Public host keys are 0644 root:root",
        area: super::AREA,
        severity: Severity::Low,
        roles: ALL_ROLES,
        rationale: "A writable public host key can be swapped for an attacker's, which breaks host verification for tools that read it from the node.",
        remediation: "Run `chown root:root` and `chmod 644` on each /etc/ssh/ssh_host_*_key.pub.",
        cis: &[],
        references: &["CIS Ubuntu Linux 24.04 LTS Benchmark v1.0.0 5.1.3"],
        params: &[],
    },
    run,
    fix: Fix::Settings(fix),
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    super::with_loaded(ctx, |sshd| {
        super::judge_files(
            &sshd.public_keys,
            "public host keys",
            &super::strict_file_rule(0o644),
        )
    })
}

/// Each failing file 0644 or stricter, owned by root:root.
fn fix(_: &Ctx<'_>, verdict: &Verdict) -> Vec<crate::checks::Remedy> {
    crate::checks::fix::root_owned_modes(verdict, 0o644)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use nodecheck_report::Status;

    #[test]
    fn verdicts() {
        let mut facts = sshd_config("");
        assert_eq!(judge(&CHECK, &facts).status, Status::Pass);
        loaded_mut(&mut facts).public_keys[1] =
            file("/etc/ssh/ssh_host_ecdsa_key.pub", 0o666, "root", "root");
        assert_eq!(judge(&CHECK, &facts).status, Status::Fail);
        assert_eq!(judge(&CHECK, &empty_facts()).status, Status::NotApplicable);
    }
}
