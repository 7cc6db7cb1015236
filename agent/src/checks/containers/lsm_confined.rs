//! `containers.lsm-confined`: Container processes run under an AppArmor profile or a
//! confined SELinux type.

use crate::checks::{Check, CheckMeta, Ctx, Verdict};
use crate::facts::containers::LsmLabel;
use crate::facts::lsm::LsmFacts;
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
};

/// SELinux types that confine nothing (the super-privileged container type, unconfined domains
/// and the runtime's and init's own).
pub const UNCONFINED_SELINUX_TYPES: &[&str] = &[
    "spc_t",
    "unconfined_t",
    "unconfined_service_t",
    "container_runtime_t",
    "kernel_t",
    "init_t",
    "initrc_t",
];

fn run(ctx: &Ctx<'_>) -> Verdict {
    let mac_active = match &ctx.facts.lsm {
        LsmFacts::Known(k) => Some(k.mandatory_access_control()),
        LsmFacts::Unknown(_) => None,
    };
    super::judge_containers(
        ctx,
        "LSM confinement",
        "an AppArmor profile in enforce mode, or a confined SELinux type",
        &|p| match &p.lsm_label {
            Ok(Some(LsmLabel::AppArmor { profile, mode })) => match mode.as_deref() {
                Some("enforce" | "kill") => (Ok(true), format!("AppArmor {profile}")),
                Some(mode) => (Ok(false), format!("AppArmor {profile} in {mode} mode")),
                None => (Ok(false), format!("AppArmor {profile}")),
            },
            Ok(Some(LsmLabel::SeLinux { context, kind })) => (
                Ok(!UNCONFINED_SELINUX_TYPES.contains(&kind.as_str())),
                format!("SELinux {context}"),
            ),
            Ok(None) => match mac_active {
                Some(false) => (
                    Ok(false),
                    "unconfined: neither AppArmor nor SELinux is active on the node".into(),
                ),
                Some(true) => (
                    Err("the kernel reports no security label for the process".into()),
                    String::new(),
                ),
                None => (
                    Err(
                        "the node's security modules cannot be seen (lsm.mandatory-access-control)"
                            .into(),
                    ),
                    String::new(),
                ),
            },
            Err(e) => (Err(e.clone()), String::new()),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::containers::tests::hardened;
    use crate::checks::lsm::testing::with_lsm;
    use crate::checks::testing::judge_worker;
    use crate::facts::lsm::SeLinux;
    use nodecheck_report::Status;

    fn node(label: Option<&str>, active: &[&str], selinux: SeLinux) -> crate::facts::Facts {
        let mut facts = with_lsm(active, &[], selinux);
        let mut c = hardened('a', "default");
        c.lsm_label = Ok(label.and_then(LsmLabel::parse));
        facts.containers.push(c);
        facts.detected_roles = vec![nodecheck_report::Role::Worker];
        facts
    }

    #[test]
    fn verdicts() {
        let aa = |l| node(Some(l), &["apparmor"], SeLinux::Inactive);
        assert_eq!(
            judge_worker(&CHECK, &aa("cri-containerd.apparmor.d (enforce)")).status,
            Status::Pass
        );
        assert_eq!(judge_worker(&CHECK, &aa("unconfined")).status, Status::Fail);
        assert_eq!(
            judge_worker(&CHECK, &aa("cri-containerd.apparmor.d (complain)")).status,
            Status::Fail
        );
        let se = |l| node(Some(l), &["selinux"], SeLinux::Enforcing);
        assert_eq!(
            judge_worker(&CHECK, &se("system_u:system_r:container_t:s0:c1,c2")).status,
            Status::Pass
        );
        let v = judge_worker(&CHECK, &se("system_u:system_r:spc_t:s0"));
        assert_eq!(v.status, Status::Fail);
        assert!(v.message.contains("spc_t"), "{}", v.message);
        // No labelling module on the node: every container is unconfined.
        let bare = node(None, &["lockdown", "capability"], SeLinux::Inactive);
        let v = judge_worker(&CHECK, &bare);
        assert_eq!(v.status, Status::Fail);
        assert!(
            v.message.contains("neither AppArmor nor SELinux"),
            "{}",
            v.message
        );
        assert_eq!(
            judge_worker(&CHECK, &node(None, &["apparmor"], SeLinux::Inactive)).status,
            Status::Error
        );
    }
}
