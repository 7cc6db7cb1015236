//! `containers.lsm-confined`: Container processes run under an AppArmor profile or a
//! confined SELinux type.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use crate::facts::containers::LabelFile;
use crate::facts::lsm::{AppArmor, LsmFacts, SeLinux};
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "containers.lsm-confined",
        title: "Container processes are confined by AppArmor or SELinux",
        area: super::AREA,
        severity: Severity::Medium,
        roles: super::ROLES,
        rationale: "A container's AppArmor profile or SELinux type is what stops it, once root inside, from writing host files it can reach, mounting, or tracing host processes. `unconfined` (AppArmor), a profile in complain mode, or an unconfined SELinux type (spc_t, unconfined_t — what `privileged: true` and `seLinuxOptions.type: spc_t` give) leave only namespaces and capabilities. Read from each process's `/proc/<pid>/attr`, what the kernel enforces now; complements containers.seccomp.",
        remediation: "Leave pods on the runtime's default (`securityContext.appArmorProfile.type: RuntimeDefault`, no `spc_t`/`unconfined_t` in `seLinuxOptions`), drop `privileged: true`, and make sure the node runs AppArmor or SELinux (lsm.mandatory-access-control).",
        cis: &[],
        references: &[
            "https://kubernetes.io/docs/tutorials/security/apparmor/",
            "https://kubernetes.io/docs/concepts/security/pod-security-standards/",
        ],
        params: &[super::EXEMPT_PARAM],
    },
    run,
    fix: Fix::Manual,
};

/// SELinux types that confine a container (the container-selinux policy's, and the older
/// svirt one). Any other type — spc_t, unconfined_t, the runtime's or init's own, a type
/// nodecheck does not know — fails: an allow list cannot be slipped past with a new name.
pub const CONFINED_SELINUX_TYPES: &[&str] = &[
    "container_t",
    "container_init_t",
    "container_kvm_t",
    "container_engine_t",
    "svirt_lxc_net_t",
];

/// An AppArmor label (`name (mode)`, stacks joined by `//&`, policy namespaces as `:ns:`):
/// confined only in enforce or kill mode and when no profile of the stack is `unconfined`.
pub fn apparmor_confines(label: &str) -> (bool, String) {
    let Some((profiles, mode)) = label
        .rsplit_once(" (")
        .and_then(|(p, m)| m.strip_suffix(')').map(|m| (p, m)))
    else {
        return (false, format!("AppArmor {label} (no enforcing profile)"));
    };
    let unconfined = profiles.split("//&").any(|profile| {
        let name = profile
            .strip_prefix(':')
            .and_then(|rest| rest.split_once(':').map(|(_, n)| n))
            .unwrap_or(profile);
        name.trim_start_matches("//") == "unconfined"
    });
    let enforced = matches!(mode, "enforce" | "kill");
    (
        enforced && !unconfined,
        if enforced {
            format!("AppArmor {profiles}")
        } else {
            format!("AppArmor {profiles} in {mode} mode")
        },
    )
}

fn run(ctx: &Ctx<'_>) -> Verdict {
    let lsm = match &ctx.facts.lsm {
        LsmFacts::Known(k) => Some(k),
        LsmFacts::Unknown(_) => None,
    };
    let apparmor = lsm.is_some_and(|l| matches!(l.apparmor, AppArmor::Active { .. }));
    let selinux = lsm.map(|l| &l.selinux);
    super::judge_containers(
        ctx,
        "LSM confinement",
        "an AppArmor profile in enforce mode, or a container SELinux type with SELinux enforcing",
        &|p| {
            let label = match &p.lsm_label {
                Ok(Some(label)) => label,
                Ok(None) => {
                    return match lsm {
                        Some(l) if !l.mandatory_access_control() => (
                            Ok(false),
                            "unconfined: neither AppArmor nor SELinux enforces on the node".into(),
                        ),
                        Some(_) => (
                            Err("the kernel reports no security label for the process".into()),
                            String::new(),
                        ),
                        None => (
                            Err("the node's security modules cannot be seen (lsm.mandatory-access-control)".into()),
                            String::new(),
                        ),
                    };
                }
                Err(e) => return (Err(e.clone()), String::new()),
            };
            let selinux_active = selinux.is_some_and(|s| !matches!(s, SeLinux::Inactive));
            let is_apparmor = label.file == LabelFile::AppArmor || (apparmor && !selinux_active);
            if is_apparmor {
                let (ok, observed) = apparmor_confines(&label.text);
                return (Ok(ok), observed);
            }
            if !selinux_active {
                return (
                    Err(format!(
                        "label {:?} from a security module nodecheck does not judge",
                        label.text
                    )),
                    String::new(),
                );
            }
            let fields: Vec<&str> = label.text.split(':').collect();
            let Some(kind) = fields.get(2).filter(|_| fields.len() >= 3) else {
                return (
                    Err(format!("{:?} is not an SELinux context", label.text)),
                    String::new(),
                );
            };
            let observed = format!("SELinux {}", label.text);
            match selinux {
                Some(SeLinux::Enforcing) => (Ok(CONFINED_SELINUX_TYPES.contains(kind)), observed),
                Some(SeLinux::Permissive) => (
                    Ok(false),
                    format!("{observed}, not enforced (SELinux permissive)"),
                ),
                Some(SeLinux::Unreadable(why)) => (
                    Err(format!("SELinux's mode cannot be read: {why}")),
                    String::new(),
                ),
                _ => (Err("SELinux is not active".into()), String::new()),
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::containers::tests::hardened;
    use crate::checks::lsm::testing::with_lsm;
    use crate::checks::testing::judge_worker;
    use crate::facts::containers::RawLabel;
    use nodecheck_report::Status;

    fn node(
        label: Option<(LabelFile, &str)>,
        active: &[&str],
        selinux: SeLinux,
    ) -> crate::facts::Facts {
        let mut facts = with_lsm(active, &[], selinux);
        let mut c = hardened('a', "default");
        c.lsm_label = Ok(label.map(|(file, text)| RawLabel {
            file,
            text: text.into(),
        }));
        facts.containers.push(c);
        facts.detected_roles = vec![nodecheck_report::Role::Worker];
        facts
    }

    #[test]
    fn apparmor_verdicts() {
        let aa = |l| {
            node(
                Some((LabelFile::AppArmor, l)),
                &["apparmor"],
                SeLinux::Inactive,
            )
        };
        let status = |l| judge_worker(&CHECK, &aa(l)).status;
        assert_eq!(status("cri-containerd.apparmor.d (enforce)"), Status::Pass);
        assert_eq!(status("a//&b (enforce)"), Status::Pass);
        assert_eq!(status("unconfined"), Status::Fail);
        assert_eq!(status("cri-containerd.apparmor.d (complain)"), Status::Fail);
        assert_eq!(status("unprivileged_userns (unconfined)"), Status::Fail);
        // Shapes that look like SELinux contexts or hide `unconfined` in a stack or namespace.
        assert_eq!(
            status("unconfined//&:lxd-x_<var-lib>:unconfined"),
            Status::Fail
        );
        assert_eq!(status(":ns:unconfined (enforce)"), Status::Fail);
        assert_eq!(status("x//&:ns://unconfined (enforce)"), Status::Fail);
        assert_eq!(status("system_u:system_r:container_t:s0"), Status::Fail);
        // attr/current on an AppArmor-only kernel before 5.8.
        let old = node(
            Some((LabelFile::Current, "docker-default (enforce)")),
            &["apparmor"],
            SeLinux::Inactive,
        );
        assert_eq!(judge_worker(&CHECK, &old).status, Status::Pass);
    }

    #[test]
    fn selinux_verdicts() {
        let se = |l, mode| node(Some((LabelFile::Current, l)), &["selinux"], mode);
        let status = |l, mode| judge_worker(&CHECK, &se(l, mode)).status;
        let confined = "system_u:system_r:container_t:s0:c1,c2";
        assert_eq!(status(confined, SeLinux::Enforcing), Status::Pass);
        assert_eq!(status(confined, SeLinux::Permissive), Status::Fail);
        assert_eq!(
            status(confined, SeLinux::Unreadable("not mounted".into())),
            Status::Error
        );
        let v = judge_worker(
            &CHECK,
            &se("system_u:system_r:spc_t:s0", SeLinux::Enforcing),
        );
        assert_eq!(v.status, Status::Fail);
        assert!(v.message.contains("spc_t"), "{}", v.message);
        // An unknown type is not trusted.
        assert_eq!(
            status("system_u:system_r:my_new_t:s0", SeLinux::Enforcing),
            Status::Fail
        );
        assert_eq!(status("garbage", SeLinux::Enforcing), Status::Error);
    }

    #[test]
    fn no_module_means_unconfined() {
        let bare = node(None, &["lockdown", "capability"], SeLinux::Inactive);
        let v = judge_worker(&CHECK, &bare);
        assert_eq!(v.status, Status::Fail);
        assert!(
            v.message.contains("neither AppArmor nor SELinux"),
            "{}",
            v.message
        );
        // SELinux permissive alone enforces nothing either.
        let permissive = node(None, &["selinux"], SeLinux::Permissive);
        assert_eq!(judge_worker(&CHECK, &permissive).status, Status::Fail);
        assert_eq!(
            judge_worker(&CHECK, &node(None, &["apparmor"], SeLinux::Inactive)).status,
            Status::Error
        );
    }
}
