//! `etcd.key-permissions`: etcd's TLS private keys are private.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict, judge_files, mode_within};
use crate::facts::FileFact;
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "etcd.key-permissions",
        title: "etcd's TLS private keys are 0600 or stricter",
        area: super::AREA,
        severity: Severity::High,
        roles: super::ROLES,
        rationale: "etcd's server and peer keys let whoever reads them impersonate a member or the server. Judged on metadata only; keys are never read.",
        remediation: "Run `chmod 600` on the files named by etcd's --key-file and --peer-key-file.",
        cis: &["1.1.21"],
        references: &["https://etcd.io/docs/v3.5/op-guide/security/"],
        params: &[],
    },
    run,
    fix: Fix::Manual,
};

fn rule(f: &FileFact) -> (bool, String) {
    let pass = f.meta.as_ref().is_ok_and(|m| mode_within(m.mode, 0o600));
    (pass, "0600 or stricter".into())
}

fn run(ctx: &Ctx<'_>) -> Verdict {
    match super::found(ctx) {
        Ok(etcd) => judge_files(&etcd.key_files, "etcd TLS private keys", &rule),
        Err(v) => v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use nodecheck_report::Status;

    #[test]
    fn verdicts() {
        let mut facts = etcd_facts(&[], &["--key-file=/etc/kubernetes/pki/etcd/server.key"]);
        assert_eq!(
            judge_control_plane(&CHECK, &facts).status,
            Status::NotApplicable,
            "the key is missing from the fixture"
        );
        let etcd = facts.etcd.as_mut().expect("etcd");
        etcd.key_files = vec![file(
            "/etc/kubernetes/pki/etcd/server.key",
            0o600,
            "root",
            "root",
        )];
        assert_eq!(judge_control_plane(&CHECK, &facts).status, Status::Pass);
        let etcd = facts.etcd.as_mut().expect("etcd");
        etcd.key_files = vec![file(
            "/etc/kubernetes/pki/etcd/server.key",
            0o640,
            "root",
            "root",
        )];
        assert_eq!(judge_control_plane(&CHECK, &facts).status, Status::Fail);
    }
}
