//! `lsm.apparmor-runtime-profile`: The container runtime's default AppArmor profile is loaded.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use crate::facts::lsm::AppArmor;
use nodecheck_report::{Evidence, Severity, Source, Status};

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "lsm.apparmor-runtime-profile",
        title: "The container runtime's default AppArmor profile is loaded",
        area: super::AREA,
        severity: Severity::Medium,
        roles: super::NODES,
        rationale: "Pods with `RuntimeDefault` AppArmor (the default for every container that names no profile) run under the runtime's own profile — containerd's `cri-containerd.apparmor.d`, CRI-O's `crio-default`, Docker's `docker-default` — which denies writes to /proc and /sys, mounting, and raw access to host devices. A runtime that runs with AppArmor disabled in its configuration, or started before AppArmor was, never loads it: its containers then run unconfined on a node that has AppArmor.",
        remediation: "Install the AppArmor userspace (apparmor_parser), make sure the runtime does not disable AppArmor (containerd: `disable_apparmor = false` in its CRI configuration; CRI-O: `apparmor_profile` left at `crio-default`), and restart the runtime; new containers get the profile.",
        cis: &[],
        references: &[
            "https://kubernetes.io/docs/tutorials/security/apparmor/",
            "https://github.com/containerd/containerd/blob/main/docs/cri/config.md",
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
    let AppArmor::Active { profiles } = &lsm.apparmor else {
        return Verdict::not_applicable("AppArmor is not active on this node");
    };
    let Some((profile, runtime)) = super::runtime(ctx) else {
        return Verdict::not_applicable(
            "no container runtime (containerd, CRI-O, Docker) runs on this node",
        );
    };
    let source = Source::file("/sys/kernel/security/apparmor/profiles", None);
    let profiles = match profiles {
        Ok(p) => p,
        Err(e) => {
            return Verdict::error(
                format!("cannot list AppArmor's loaded profiles: {e}"),
                vec![Evidence {
                    subject: "AppArmor profiles".into(),
                    observed: Some(e.clone()),
                    expected: format!("{profile} loaded"),
                    status: Status::Error,
                    source,
                    note: None,
                }],
            );
        }
    };
    // CRI-O before 1.25 named it crio-default-<version>.
    let loaded = profiles
        .iter()
        .find(|p| p.name == profile || p.name.starts_with(&format!("{profile}-")));
    let item = Evidence {
        subject: format!("{runtime}'s default profile"),
        observed: Some(match loaded {
            Some(p) => format!("{} ({})", p.name, p.mode),
            None => format!("not loaded ({} profiles loaded)", profiles.len()),
        }),
        expected: format!("{profile} loaded, in enforce mode"),
        status: if loaded.is_some_and(|p| p.mode == "enforce") {
            Status::Pass
        } else {
            Status::Fail
        },
        source,
        note: None,
    };
    match loaded {
        Some(p) if p.mode == "enforce" => Verdict::new(
            Status::Pass,
            format!("{runtime}'s default AppArmor profile {} is loaded", p.name),
            vec![item],
        ),
        Some(p) => Verdict::new(
            Status::Fail,
            format!(
                "{runtime}'s default AppArmor profile {} is in {} mode",
                p.name, p.mode
            ),
            vec![item],
        ),
        None => Verdict::new(
            Status::Fail,
            format!(
                "{runtime} runs but its default AppArmor profile {profile} is not loaded: its containers run unconfined"
            ),
            vec![item],
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::lsm::testing::with_lsm;
    use crate::checks::testing::judge_worker;
    use crate::facts::lsm::SeLinux;

    fn containerd(mut facts: crate::facts::Facts) -> crate::facts::Facts {
        facts.processes.push(crate::facts::Process {
            pid: 900,
            comm: "containerd".into(),
            argv: vec!["/usr/bin/containerd".into()],
            ..Default::default()
        });
        facts
    }

    #[test]
    fn verdicts() {
        let loaded = containerd(with_lsm(
            &["apparmor"],
            &["cri-containerd.apparmor.d"],
            SeLinux::Inactive,
        ));
        assert_eq!(judge_worker(&CHECK, &loaded).status, Status::Pass);
        let missing = containerd(with_lsm(
            &["apparmor"],
            &["/usr/sbin/ntpd"],
            SeLinux::Inactive,
        ));
        let v = judge_worker(&CHECK, &missing);
        assert_eq!(v.status, Status::Fail);
        assert!(
            v.message.contains("cri-containerd.apparmor.d"),
            "{}",
            v.message
        );
        let no_runtime = with_lsm(&["apparmor"], &[], SeLinux::Inactive);
        assert_eq!(
            judge_worker(&CHECK, &no_runtime).status,
            Status::NotApplicable
        );
        let selinux = containerd(with_lsm(&["selinux"], &[], SeLinux::Enforcing));
        assert_eq!(judge_worker(&CHECK, &selinux).status, Status::NotApplicable);
    }
}
