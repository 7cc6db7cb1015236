//! `lsm.selinux-enforcing`: SELinux, where active, enforces.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use crate::facts::lsm::SeLinux;
use nodecheck_report::{Evidence, Severity, Source, Status};

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "lsm.selinux-enforcing",
        title: "SELinux, where active, is enforcing",
        area: super::AREA,
        severity: Severity::Medium,
        roles: crate::checks::ALL_ROLES,
        rationale: "In permissive mode SELinux only logs what its policy would deny: container_t processes may write host files, load modules and signal host processes, and the node looks confined while nothing is. Bottlerocket, RHEL and Fedora CoreOS nodes rely on SELinux to separate containers from the host and from each other (MCS categories).",
        remediation: "`setenforce 1`, and `SELINUX=enforcing` in /etc/selinux/config (or drop `enforcing=0` / `selinux=0` from the kernel command line).",
        cis: &[],
        references: &[
            "https://docs.kernel.org/admin-guide/LSM/SELinux.html",
            "https://kubernetes.io/docs/tasks/configure-pod-container/security-context/#assign-selinux-labels-to-a-container",
        ],
        params: &[],
    },
    run,
    fix: Fix::Manual,
};

const ENFORCE: &str = "/sys/fs/selinux/enforce";

fn run(ctx: &Ctx<'_>) -> Verdict {
    let lsm = match super::known(ctx) {
        Ok(l) => l,
        Err(v) => return v,
    };
    let item = |observed: &str, status| Evidence {
        subject: "SELinux mode".into(),
        observed: Some(observed.into()),
        expected: "enforcing (1)".into(),
        status,
        source: Source::file(ENFORCE, None),
        note: None,
    };
    match &lsm.selinux {
        SeLinux::Inactive => Verdict::not_applicable("SELinux is not active on this node"),
        SeLinux::Enforcing => Verdict::new(
            Status::Pass,
            "SELinux is enforcing",
            vec![item("enforcing (1)", Status::Pass)],
        ),
        SeLinux::Permissive => Verdict::new(
            Status::Fail,
            "SELinux is permissive: it logs what it would deny and denies nothing",
            vec![item("permissive (0)", Status::Fail)],
        ),
        SeLinux::Unreadable(why) => Verdict::error(
            format!("SELinux is active but its mode cannot be read: {why}"),
            vec![item(why, Status::Error)],
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::lsm::testing::with_lsm;
    use crate::checks::testing::judge;

    #[test]
    fn verdicts() {
        assert_eq!(
            judge(&CHECK, &with_lsm(&["selinux"], &[], SeLinux::Enforcing)).status,
            Status::Pass
        );
        assert_eq!(
            judge(&CHECK, &with_lsm(&["selinux"], &[], SeLinux::Permissive)).status,
            Status::Fail
        );
        assert_eq!(
            judge(&CHECK, &with_lsm(&["apparmor"], &[], SeLinux::Inactive)).status,
            Status::NotApplicable
        );
        assert_eq!(
            judge(
                &CHECK,
                &with_lsm(&["selinux"], &[], SeLinux::Unreadable("x".into()))
            )
            .status,
            Status::Error
        );
    }
}
