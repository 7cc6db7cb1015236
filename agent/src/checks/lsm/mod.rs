//! The lsm area: the kernel's security modules that confine container processes beyond
//! Unix permissions and namespaces — AppArmor or SELinux, and seccomp
//! ([`crate::facts::lsm`]). Each container's own confinement is `containers.lsm-confined`.

pub mod apparmor_runtime_profile;
pub mod mandatory_access_control;
pub mod seccomp_available;
pub mod selinux_enforcing;

use super::{Ctx, Verdict};
use crate::facts::lsm::{KnownLsm, LsmFacts};
use nodecheck_report::{Evidence, Role, Source, Status};

pub const AREA: &str = "lsm";
pub const NODES: &[Role] = &[Role::Worker, Role::ControlPlane];

/// The modules' state, or the error verdict of a root where it cannot be seen.
pub fn known<'a>(ctx: &Ctx<'a>) -> Result<&'a KnownLsm, Verdict> {
    match &ctx.facts.lsm {
        LsmFacts::Known(k) => Ok(k),
        LsmFacts::Unknown(why) => Err(Verdict::error(
            format!("cannot tell which security modules are active: {why}"),
            vec![Evidence {
                subject: "/sys/kernel/security".into(),
                observed: Some("not visible".into()),
                expected: "the host's securityfs, read-only".into(),
                status: Status::Error,
                source: Source::FileMetadata {
                    path: "/sys/kernel/security".into(),
                },
                note: None,
            }],
        )),
    }
}

/// `lockdown,capability,landlock,yama,apparmor`, or how the modules were told.
pub fn active_modules(lsm: &KnownLsm) -> String {
    match &lsm.active {
        Some(list) => list.join(","),
        None => "not listed (securityfs not mounted)".into(),
    }
}

/// The container runtime that runs on the node, by its process: its AppArmor default profile's
/// name and the runtime's name.
pub fn runtime(ctx: &Ctx<'_>) -> Option<(&'static str, &'static str)> {
    // Root's processes only: any local user can name a program containerd.
    let root: Vec<&crate::facts::Process> = ctx
        .facts
        .processes
        .iter()
        .filter(|p| p.uids[1] == 0)
        .collect();
    let runs = |name: &str| root.iter().any(|p| p.program() == name);
    if runs("containerd") || root.iter().any(|p| p.comm.starts_with("k3s-")) {
        Some(("cri-containerd.apparmor.d", "containerd"))
    } else if runs("crio") {
        Some(("crio-default", "CRI-O"))
    } else if runs("dockerd") {
        Some(("docker-default", "Docker"))
    } else {
        None
    }
}

#[cfg(test)]
pub mod testing {
    use crate::facts::Facts;
    use crate::facts::lsm::{AppArmor, KnownLsm, LsmFacts, Profile, SeLinux};

    /// Facts of a node whose modules are `active`, AppArmor with `profiles` when listed.
    pub fn with_lsm(active: &[&str], profiles: &[&str], selinux: SeLinux) -> Facts {
        let apparmor = if active.contains(&"apparmor") {
            AppArmor::Active {
                profiles: Ok(profiles
                    .iter()
                    .map(|p| Profile {
                        name: p.to_string(),
                        mode: "enforce".into(),
                    })
                    .collect()),
            }
        } else {
            AppArmor::Inactive
        };
        Facts {
            lsm: LsmFacts::Known(KnownLsm {
                active: Some(active.iter().map(|s| s.to_string()).collect()),
                source: "/sys/kernel/security/lsm".into(),
                apparmor,
                selinux,
                seccomp_actions: Ok(Some(vec![
                    "kill_process".into(),
                    "errno".into(),
                    "allow".into(),
                ])),
            }),
            ..crate::checks::testing::empty_facts()
        }
    }
}
