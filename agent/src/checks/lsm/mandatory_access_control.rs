//! `lsm.mandatory-access-control`: AppArmor or SELinux is active.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use crate::facts::lsm::{AppArmor, SeLinux};
use nodecheck_report::{Evidence, Severity, Source, Status};

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "lsm.mandatory-access-control",
        title: "AppArmor or SELinux confines processes",
        area: super::AREA,
        severity: Severity::Medium,
        roles: crate::checks::ALL_ROLES,
        rationale: "Namespaces and capabilities decide what a container can see; a mandatory access control module decides what it may do with what it sees, whatever its uid. The runtimes' default AppArmor profile and SELinux's container_t policy have each stopped real container escapes (writes to /proc/sys, mounting, ptrace of host processes) that the rest of the stack let through. Without AppArmor or SELinux active, no container on the node is confined by either.",
        remediation: "Enable AppArmor (Debian, Ubuntu, SUSE: `apparmor=1 security=apparmor` on the kernel command line, the apparmor package installed) or SELinux in enforcing mode (RHEL, Fedora, Bottlerocket), and restart the container runtime so its default profile or policy applies.",
        cis: &[],
        references: &[
            "https://kubernetes.io/docs/tutorials/security/apparmor/",
            "https://kubernetes.io/docs/tasks/configure-pod-container/security-context/#assign-selinux-labels-to-a-container",
            "https://docs.kernel.org/admin-guide/LSM/index.html",
        ],
        params: &[],
    },
    run,
    fix: Fix::Manual,
};

fn run(ctx: &Ctx<'_>) -> Verdict {
    let lsm = match super::known(ctx) {
        Ok(l) => l,
        Err(v) => return v,
    };
    let apparmor = matches!(lsm.apparmor, AppArmor::Active { .. });
    let selinux = match &lsm.selinux {
        SeLinux::Inactive => None,
        SeLinux::Enforcing => Some("enforcing"),
        SeLinux::Permissive => Some("permissive"),
        SeLinux::Unreadable(_) => Some("mode unreadable"),
    };
    let observed = match (apparmor, selinux) {
        (true, Some(mode)) => format!("AppArmor and SELinux ({mode}) active"),
        (true, None) => "AppArmor active".to_string(),
        (false, Some(mode)) => format!("SELinux active ({mode})"),
        (false, None) => format!(
            "neither AppArmor nor SELinux is active (active modules: {})",
            super::active_modules(lsm)
        ),
    };
    // Permissive SELinux denies nothing; a mode that cannot be read cannot be credited.
    let status = if apparmor || lsm.selinux == SeLinux::Enforcing {
        Status::Pass
    } else if matches!(lsm.selinux, SeLinux::Unreadable(_)) {
        Status::Error
    } else {
        Status::Fail
    };
    let pass = status == Status::Pass;
    let item = Evidence {
        subject: "security modules".into(),
        observed: Some(observed.clone()),
        expected: "AppArmor active, or SELinux enforcing".into(),
        status,
        source: Source::file(lsm.source.clone(), None),
        note: None,
    };
    if pass {
        Verdict::new(Status::Pass, observed, vec![item])
    } else if status == Status::Error {
        let why = match &lsm.selinux {
            SeLinux::Unreadable(why) => why.clone(),
            _ => String::new(),
        };
        Verdict::error(
            format!("SELinux is active but its mode cannot be read: {why}"),
            vec![item],
        )
    } else if selinux.is_some() {
        Verdict::new(
            Status::Fail,
            format!(
                "{observed}: permissive SELinux only logs, so nothing on this node is confined by it"
            ),
            vec![item],
        )
    } else {
        Verdict::new(
            Status::Fail,
            format!(
                "{observed}: no container on this node is confined by mandatory access control"
            ),
            vec![item],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::lsm::testing::with_lsm;
    use crate::checks::testing::{empty_facts, judge};

    #[test]
    fn verdicts() {
        let apparmor = with_lsm(
            &["lockdown", "capability", "apparmor"],
            &[],
            SeLinux::Inactive,
        );
        assert_eq!(judge(&CHECK, &apparmor).status, Status::Pass);
        let selinux = with_lsm(&["selinux"], &[], SeLinux::Enforcing);
        assert_eq!(judge(&CHECK, &selinux).status, Status::Pass);
        let permissive = with_lsm(&["selinux"], &[], SeLinux::Permissive);
        assert_eq!(judge(&CHECK, &permissive).status, Status::Fail);
        let unreadable = with_lsm(&["selinux"], &[], SeLinux::Unreadable("x".into()));
        assert_eq!(judge(&CHECK, &unreadable).status, Status::Error);
        let none = with_lsm(
            &["lockdown", "capability", "landlock", "bpf"],
            &[],
            SeLinux::Inactive,
        );
        let v = judge(&CHECK, &none);
        assert_eq!(v.status, Status::Fail);
        assert!(
            v.message.contains("lockdown,capability,landlock,bpf"),
            "{}",
            v.message
        );
        assert_eq!(judge(&CHECK, &empty_facts()).status, Status::Error);
    }
}
