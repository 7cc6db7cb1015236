//! `sshd.host-key-permissions`: private host keys are private.

use crate::checks::{ALL_ROLES, Check, CheckMeta, Ctx, Fix, Verdict, mode_within};
use crate::facts::FileFact;
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "sshd.host-key-permissions",
        title: "Private host keys are root-only",
        area: super::AREA,
        severity: Severity::High,
        roles: ALL_ROLES,
        rationale: "A readable private host key lets anyone impersonate the node to every client that trusts it. Keys are judged on metadata only; their content is never read.",
        remediation: "Run `chown root:root` and `chmod 600` on each private host key (or `root:ssh_keys` and 0640 where the distribution uses the ssh_keys group).",
        cis: &[],
        references: &["CIS Ubuntu Linux 24.04 LTS Benchmark v1.0.0 5.1.2"],
        params: &[],
    },
    run,
    fix: Fix::Manual,
};

/// Owner root, and either group root with 0600 or a key-reader group (`ssh_keys`, `_ssh`)
/// with 0640.
fn rule(f: &FileFact) -> (bool, String) {
    let expected = "owner root; 0600 or stricter, or 0640 with group ssh_keys/_ssh".to_string();
    let pass = match &f.meta {
        Ok(m) => {
            let key_group = f.group == "ssh_keys" || f.group == "_ssh";
            m.uid == 0 && (mode_within(m.mode, 0o600) || (key_group && mode_within(m.mode, 0o640)))
        }
        Err(_) => false,
    };
    (pass, expected)
}

fn run(ctx: &Ctx<'_>) -> Verdict {
    super::with_loaded(ctx, |sshd| {
        super::judge_files(&sshd.host_keys, "private host keys", &rule)
    })
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
        let key = "/etc/ssh/ssh_host_rsa_key";
        loaded_mut(&mut facts).host_keys[0] = file(key, 0o640, "root", "ssh_keys");
        assert_eq!(judge(&CHECK, &facts).status, Status::Pass);
        loaded_mut(&mut facts).host_keys[0] = file(key, 0o640, "root", "root");
        assert_eq!(judge(&CHECK, &facts).status, Status::Fail);
        loaded_mut(&mut facts).host_keys[0] = file(key, 0o644, "root", "root");
        assert_eq!(judge(&CHECK, &facts).status, Status::Fail);
        loaded_mut(&mut facts).host_keys[0] = missing(key);
        assert_eq!(
            judge(&CHECK, &facts).status,
            Status::Pass,
            "a missing default key is not judged"
        );
        let sshd = loaded_mut(&mut facts);
        sshd.host_keys = sshd.host_keys.iter().map(|k| missing(&k.path)).collect();
        assert_eq!(judge(&CHECK, &facts).status, Status::NotApplicable);
    }
}
