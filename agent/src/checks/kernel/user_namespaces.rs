//! `kernel.user-namespaces`: Unprivileged users cannot create user namespaces, unless the
//! node's pods need them.

use super::{Missing, Want, sysctl_evidence};
use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use crate::facts::lsm::{AppArmor, LsmFacts};
use nodecheck_report::{Evidence, Severity, Source, Status};

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "kernel.user-namespaces",
        title: "Unprivileged users cannot create user namespaces",
        area: super::AREA,
        severity: Severity::Low,
        roles: super::ALL,
        rationale: "Inside a user namespace of its own an unprivileged process holds every capability, and reaches kernel code written for root: filesystem mounting, netfilter, BPF. Most kernel privilege escalations and container escapes of recent years start there (CVE-2022-0185 among them). Kubernetes' user-namespaced pods (`hostUsers: false`) do not need unprivileged creation — the runtime creates them as root — but they do need `user.max_user_namespaces` above 0. Debian and Ubuntu kernels restrict unprivileged creation with `kernel.unprivileged_userns_clone`; Ubuntu 23.10 and later with AppArmor's `kernel.apparmor_restrict_unprivileged_userns`.",
        remediation: "`echo 'kernel.unprivileged_userns_clone = 0' > /etc/sysctl.d/60-userns.conf` (Debian, Ubuntu) or `kernel.apparmor_restrict_unprivileged_userns = 1` (Ubuntu with AppArmor), then `sysctl --system`. On other kernels, `user.max_user_namespaces = 0` closes them for everyone — only where no pod runs with `hostUsers: false`.",
        cis: &[],
        references: &[
            "https://docs.kernel.org/admin-guide/sysctl/user.html",
            "https://kubernetes.io/docs/concepts/workloads/pods/user-namespaces/",
            "CVE-2022-0185",
        ],
        params: &[],
    },
    run,
    fix: Fix::Manual,
};

const MAX: &str = "user.max_user_namespaces";
const CLONE: &str = "kernel.unprivileged_userns_clone";
const APPARMOR: &str = "kernel.apparmor_restrict_unprivileged_userns";

fn run(ctx: &Ctx<'_>) -> Verdict {
    if let Err(v) = super::recorded(ctx) {
        return v;
    }
    let kernel = &ctx.facts.kernel;
    let userns_pods: Vec<String> = ctx
        .facts
        .containers
        .iter()
        .filter(|c| c.user_ns_root.is_some())
        .map(|c| c.label())
        .collect();
    let max = kernel.get(MAX);
    let clone = kernel.get(CLONE);
    let apparmor = kernel.get(APPARMOR);
    let apparmor_active = matches!(
        &ctx.facts.lsm,
        LsmFacts::Known(k) if matches!(k.apparmor, AppArmor::Active { .. })
    );
    let not_built = Missing::NotApplicable("this kernel has no such setting");
    let mut items = Vec::new();
    let Some(max_value) = max.int() else {
        items.push(sysctl_evidence(&max, &Want::new(MAX, "a number", |_| true)));
        return super::verdict(items, "");
    };
    if max_value == 0 {
        let pass = userns_pods.is_empty();
        items.push(sysctl_evidence(
            &max,
            &Want::new(MAX, "above 0 where pods run with hostUsers: false", |_| {
                true
            }),
        ));
        items[0].status = if pass { Status::Pass } else { Status::Fail };
        if !pass {
            items.push(pods_item(&userns_pods));
            return Verdict::new(
                Status::Fail,
                format!(
                    "user.max_user_namespaces is 0, yet {} runs in a user namespace: new pods with hostUsers: false cannot start",
                    userns_pods[0]
                ),
                items,
            );
        }
        return Verdict::new(Status::Pass, "user namespaces are off for everyone", items);
    }
    let clone_ok = clone.int() == Some(0);
    let apparmor_ok = apparmor_active && apparmor.int() == Some(1);
    let restricted = clone_ok || apparmor_ok;
    let mut max_item = sysctl_evidence(
        &max,
        &Want::new(
            MAX,
            "unprivileged creation restricted, or 0 where no pod needs user namespaces",
            |_| true,
        ),
    );
    if !restricted {
        max_item.status = Status::Fail;
    }
    items.push(max_item);
    items.push(sysctl_evidence(
        &clone,
        &Want::new(CLONE, "0 (Debian and Ubuntu kernels)", |v| v == 0).or_missing(not_built),
    ));
    items.push(sysctl_evidence(
        &apparmor,
        &Want::new(APPARMOR, "1, with AppArmor active (Ubuntu)", move |v| {
            v == 1
        })
        .or_missing(not_built),
    ));
    if apparmor.int() == Some(1) && !apparmor_active {
        items[2].status = Status::Fail;
        items[2].note = Some("AppArmor is not active: the setting restricts nothing".into());
    }
    if !userns_pods.is_empty() {
        items.push(pods_item(&userns_pods));
    }
    if restricted {
        // One restriction is enough; the other one's absence is not a failure.
        for item in &mut items {
            if item.status == Status::Fail {
                item.status = Status::NotApplicable;
            }
        }
        items[0].status = Status::Pass;
        return Verdict::new(
            Status::Pass,
            "unprivileged users cannot create user namespaces (the runtime, as root, still can)",
            items,
        );
    }
    let errors = items.iter().any(|i| i.status == Status::Error);
    Verdict::new(
        if errors { Status::Error } else { Status::Fail },
        format!(
            "any unprivileged user or process can create user namespaces (user.max_user_namespaces {max_value}, no restriction of unprivileged creation)"
        ),
        items,
    )
}

fn pods_item(pods: &[String]) -> Evidence {
    Evidence {
        subject: "user-namespaced containers".into(),
        observed: Some(format!(
            "{}{}",
            pods.iter().take(3).cloned().collect::<Vec<_>>().join(", "),
            if pods.len() > 3 {
                format!(" and {} more", pods.len() - 3)
            } else {
                String::new()
            }
        )),
        expected: "user namespaces available to the runtime".into(),
        status: Status::Pass,
        source: Source::None,
        note: Some("from /proc/<pid>/uid_map of container processes".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::kernel::testing::*;

    #[test]
    fn verdicts() {
        let open = with_sysctls(&[(MAX, Some("63000")), (CLONE, None), (APPARMOR, None)]);
        let v = judge_all(&CHECK, &open);
        assert_eq!(v.status, Status::Fail);
        assert!(v.message.contains("63000"), "{}", v.message);
        let debian = with_sysctls(&[(MAX, Some("63000")), (CLONE, Some("0")), (APPARMOR, None)]);
        assert_eq!(judge_all(&CHECK, &debian).status, Status::Pass);
        let debian_open =
            with_sysctls(&[(MAX, Some("63000")), (CLONE, Some("1")), (APPARMOR, None)]);
        assert_eq!(judge_all(&CHECK, &debian_open).status, Status::Fail);
        // Ubuntu's AppArmor restriction counts only with AppArmor active.
        let mut ubuntu = with_sysctls(&[
            (MAX, Some("63000")),
            (CLONE, Some("1")),
            (APPARMOR, Some("1")),
        ]);
        assert_eq!(judge_all(&CHECK, &ubuntu).status, Status::Fail);
        ubuntu.lsm = LsmFacts::Known(crate::facts::lsm::KnownLsm {
            active: Some(vec!["apparmor".into()]),
            source: "test".into(),
            apparmor: AppArmor::Active {
                profiles: Ok(Vec::new()),
            },
            selinux: crate::facts::lsm::SeLinux::Inactive,
            seccomp_actions: Ok(None),
        });
        assert_eq!(judge_all(&CHECK, &ubuntu).status, Status::Pass);
        let off = with_sysctls(&[(MAX, Some("0"))]);
        assert_eq!(judge_all(&CHECK, &off).status, Status::Pass);
        assert_eq!(
            judge_all(&CHECK, &empty_facts_kernel()).status,
            Status::Error
        );
    }

    fn empty_facts_kernel() -> crate::facts::Facts {
        crate::checks::testing::empty_facts()
    }
}
