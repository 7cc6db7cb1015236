//! `etcd.data-dir-permissions`: nobody but etcd reads the data directory.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict, mode_within};
use nodecheck_report::{Severity, Source, Status};

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "etcd.data-dir-permissions",
        title: "The etcd data directory is 0700 or stricter",
        area: super::AREA,
        severity: Severity::High,
        roles: super::ROLES,
        rationale: "The data directory holds every object of the cluster, secrets included, unencrypted unless encryption at rest is on: any local user who can read it has them all. The directory comes from the running etcd's --data-dir (or ETCD_DATA_DIR, its config file, its manifest), never a guessed path.",
        remediation: "Run `chmod 700` on the etcd data directory (kubeadm: /var/lib/etcd).",
        cis: &["1.1.11"],
        references: &["https://etcd.io/docs/v3.5/op-guide/configuration/"],
        params: &[],
    },
    run,
    fix: Fix::Manual,
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    let etcd = match super::found(ctx) {
        Ok(e) => e,
        Err(v) => return v,
    };
    let (Some((dir, source)), Some(fact)) = (&etcd.data_dir, &etcd.data_dir_file) else {
        return Verdict::error(
            "etcd's data directory is not known (no --data-dir in its manifest)",
            Vec::new(),
        );
    };
    let meta = match &fact.meta {
        Ok(m) => m,
        Err(e) => {
            return Verdict::error(
                format!("cannot judge the etcd data directory {dir}: {e}"),
                Vec::new(),
            );
        }
    };
    let ok = mode_within(meta.mode, 0o700);
    let mut item = crate::checks::evidence(
        format!("{dir} mode"),
        Some(fact.describe()),
        "0700 or stricter",
        ok,
        Source::FileMetadata { path: dir.clone() },
    );
    item.note = Some(format!("data dir from {source}"));
    let status = if ok { Status::Pass } else { Status::Fail };
    let message = if ok {
        format!("{dir} is {:04o}", meta.mode)
    } else {
        format!("{dir} is {}; expected 0700 or stricter", fact.describe())
    };
    Verdict::new(status, message, vec![item])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;

    #[test]
    fn verdicts() {
        let mut facts = etcd_facts(&[], &["--data-dir=/var/lib/etcd"]);
        assert_eq!(
            judge_control_plane(&CHECK, &facts).status,
            Status::Error,
            "missing directory"
        );
        let etcd = facts.etcd.as_mut().expect("etcd");
        etcd.data_dir_file = Some(file("/var/lib/etcd", 0o700, "root", "root"));
        assert_eq!(judge_control_plane(&CHECK, &facts).status, Status::Pass);
        let etcd = facts.etcd.as_mut().expect("etcd");
        etcd.data_dir_file = Some(file("/var/lib/etcd", 0o755, "root", "root"));
        let v = judge_control_plane(&CHECK, &facts);
        assert_eq!(v.status, Status::Fail);
        assert!(v.message.contains("0755"), "{}", v.message);
        assert_eq!(
            judge_control_plane(&CHECK, &empty_facts()).status,
            Status::NotApplicable
        );
    }
}
