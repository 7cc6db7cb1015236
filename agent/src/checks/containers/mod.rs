//! The containers area: 9 checks on every container process, judged from its live `/proc`
//! entries (never from manifests: what runs is what counts).
//!
//! Containers of the namespaces and pods in the `exempt` parameter (system components that
//! must run privileged: kube-proxy, CNI agents, static control-plane pods, nodecheck itself)
//! are listed in the evidence as exempt and do not fail the check.

pub mod host_namespaces;
pub mod lsm_confined;
pub mod memory_limit;
pub mod no_new_privs;
pub mod package_manager;
pub mod privileged;
pub mod root_user;
pub mod seccomp;
pub mod shell_in_image;

use super::{Ctx, ParamDefault, ParamSpec, Verdict};
use crate::facts::containers::ContainerProcess;
use nodecheck_report::{Evidence, Role, Source, Status};
use std::collections::BTreeMap;

pub const AREA: &str = "containers";
pub const ROLES: &[Role] = &[Role::Worker, Role::ControlPlane];

/// Pods of the components kubeadm, k3s, EKS, GKE, AKS and the common CNIs install.
pub const DEFAULT_EXEMPT: &[&str] = &[
    "kube-system/*",
    "kube-flannel/*",
    "calico-system/*",
    "tigera-operator/*",
    "cilium/*",
    "nodecheck/*",
    "nodecheck-system/*",
];

/// The `exempt` parameter every containers check takes.
pub const EXEMPT_PARAM: ParamSpec = ParamSpec {
    name: "exempt",
    default: ParamDefault::Strings(DEFAULT_EXEMPT),
    doc: "namespace/pod globs of system components allowed to fail this check (listed as exempt in the evidence).",
};

/// What one check says about one process: `Ok(true)` passes, `Ok(false)` fails (with the
/// observed value), `Err` cannot be judged.
pub type Judge<'a> = &'a dyn Fn(&ContainerProcess) -> (Result<bool, String>, String);

/// Judges every container, one evidence item per container (its worst process).
pub fn judge_containers(ctx: &Ctx<'_>, subject: &str, expected: &str, judge: Judge<'_>) -> Verdict {
    if ctx.facts.containers.is_empty() {
        return Verdict::not_applicable("no container process runs on this node");
    }
    let exempt: Vec<String> = ctx.params.list(&EXEMPT_PARAM);
    let mut by_container: BTreeMap<String, Vec<&ContainerProcess>> = BTreeMap::new();
    for c in &ctx.facts.containers {
        by_container
            .entry(c.placement.container_id.clone())
            .or_default()
            .push(c);
    }
    let mut items = Vec::new();
    for processes in by_container.values() {
        let first = processes[0];
        let matched = first.pod_path().and_then(|path| {
            exempt
                .iter()
                .find(|g| crate::host::fnmatch(g, &path))
                .map(|g| (path, g.clone()))
        });
        let mut worst: Option<(Status, String, u32)> = None;
        for p in processes {
            let (result, observed) = judge(p);
            let status = match result {
                Ok(true) => Status::Pass,
                Ok(false) => Status::Fail,
                Err(e) => {
                    worst.get_or_insert((Status::Error, e, p.pid));
                    continue;
                }
            };
            let replace = match &worst {
                None => true,
                Some((s, _, _)) => status == Status::Fail && *s == Status::Pass,
            };
            if replace {
                worst = Some((status, observed, p.pid));
            }
        }
        let Some((status, observed, pid)) = worst else {
            continue;
        };
        let (status, note) = match (&matched, status) {
            (Some((path, glob)), Status::Fail | Status::Error) => (
                Status::NotApplicable,
                Some(format!("exempt: {path} matches {glob}")),
            ),
            _ => (status, None),
        };
        items.push(Evidence {
            subject: format!("{subject} of {}", first.label()),
            observed: Some(observed),
            expected: expected.to_string(),
            status,
            source: Source::Process {
                pid,
                name: first.program.clone(),
            },
            note,
        });
    }
    let total = items.len();
    let exempted = items
        .iter()
        .filter(|e| e.note.as_deref().is_some_and(|n| n.starts_with("exempt")))
        .count();
    Verdict::from_evidence(
        items,
        format!(
            "{total} containers judged, none fails{}",
            if exempted > 0 {
                format!(" ({exempted} exempt)")
            } else {
                String::new()
            }
        ),
        |failing| {
            let names: Vec<String> = failing
                .iter()
                .take(3)
                .map(|e| {
                    format!(
                        "{} ({})",
                        e.subject.split(" of ").nth(1).unwrap_or(&e.subject),
                        e.observed.as_deref().unwrap_or("?")
                    )
                })
                .collect();
            let more = if failing.len() > 3 {
                format!(" and {} more", failing.len() - 3)
            } else {
                String::new()
            };
            format!("{}{more}; expected {expected}", names.join("; "))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Check;
    use crate::checks::testing::*;
    use crate::facts::containers::CgroupPlacement;

    /// A hardened container: non-root, few capabilities, NoNewPrivs, seccomp, limited, no
    /// shell, no package manager, own namespaces.
    pub(crate) fn hardened(id: char, namespace: &str) -> ContainerProcess {
        ContainerProcess {
            pid: 500 + id as u32,
            program: "app".into(),
            placement: CgroupPlacement {
                runtime: "containerd",
                container_id: id.to_string().repeat(64),
                pod_uid: Some("1b4e5c1a-7d2e-4b8a-9f3c-2a1b0c9d8e7f".into()),
                qos: Some("burstable"),
                path: "/kubepods.slice/x".into(),
                v2: true,
            },
            namespace: Some(namespace.into()),
            pod: Some("web-1".into()),
            name: Some("web".into()),
            uid: 1000,
            gid: 1000,
            user_ns_root: None,
            cap_effective: 0,
            no_new_privs: Some(true),
            seccomp: Some(2),
            lsm_label: Ok(Some(crate::facts::containers::RawLabel {
                file: crate::facts::containers::LabelFile::AppArmor,
                text: "cri-containerd.apparmor.d (enforce)".into(),
            })),
            host_namespaces: Vec::new(),
            memory_limit: Ok(Some(256 * 1024 * 1024)),
            shell: Ok(None),
            package_manager: Ok(None),
            image: None,
        }
    }

    fn judge(check: &Check, containers: Vec<ContainerProcess>) -> Verdict {
        let facts = crate::facts::Facts {
            containers,
            ..empty_facts()
        };
        judge_with(
            check,
            &facts,
            &[Role::Worker],
            &crate::checks::Params::defaults(&check.meta),
        )
    }

    #[test]
    fn each_check_passes_fails_exempts_and_errors() {
        type Breaker = fn(&mut ContainerProcess);
        let cases: [(&Check, Breaker, Option<Breaker>); 9] = [
            (&root_user::CHECK, |c| c.uid = 0, None),
            (
                &privileged::CHECK,
                |c| c.cap_effective = (1 << 41) - 1,
                None,
            ),
            (
                &no_new_privs::CHECK,
                |c| c.no_new_privs = Some(false),
                Some(|c| c.no_new_privs = None),
            ),
            (
                &seccomp::CHECK,
                |c| c.seccomp = Some(0),
                Some(|c| c.seccomp = None),
            ),
            (
                &shell_in_image::CHECK,
                |c| c.shell = Ok(Some("/bin/sh".into())),
                Some(|c| c.shell = Err("loop".into())),
            ),
            (
                &package_manager::CHECK,
                |c| c.package_manager = Ok(Some("/usr/bin/apt".into())),
                None,
            ),
            (
                &memory_limit::CHECK,
                |c| c.memory_limit = Ok(None),
                Some(|c| c.memory_limit = Err("unreadable".into())),
            ),
            (
                &host_namespaces::CHECK,
                |c| c.host_namespaces = vec!["net"],
                None,
            ),
            (
                &lsm_confined::CHECK,
                |c| {
                    c.lsm_label = Ok(Some(crate::facts::containers::RawLabel {
                        file: crate::facts::containers::LabelFile::AppArmor,
                        text: "unconfined".into(),
                    }))
                },
                Some(|c| c.lsm_label = Err("unreadable".into())),
            ),
        ];
        for (check, break_it, error) in cases {
            let id = check.meta.id;
            assert_eq!(judge(check, vec![]).status, Status::NotApplicable, "{id}");
            assert_eq!(
                judge(check, vec![hardened('a', "shop")]).status,
                Status::Pass,
                "{id}"
            );
            let mut bad = hardened('b', "shop");
            break_it(&mut bad);
            let verdict = judge(check, vec![hardened('a', "shop"), bad]);
            assert_eq!(verdict.status, Status::Fail, "{id}: {verdict:#?}");
            assert!(
                verdict.message.contains("shop/web-1/web"),
                "{id}: {}",
                verdict.message
            );
            let mut system = hardened('c', "kube-system");
            break_it(&mut system);
            let exempt = judge(check, vec![system]);
            assert_eq!(exempt.status, Status::Pass, "{id}: {exempt:#?}");
            assert!(
                exempt.evidence[0]
                    .note
                    .as_deref()
                    .is_some_and(|n| n.contains("exempt: kube-system/web-1 matches kube-system/*")),
                "{id}: {exempt:#?}"
            );
            if let Some(error) = error {
                let mut unknown = hardened('d', "shop");
                error(&mut unknown);
                assert_eq!(judge(check, vec![unknown]).status, Status::Error, "{id}");
            }
        }
    }

    #[test]
    fn user_namespaced_root_is_not_host_root() {
        let mut userns = hardened('e', "shop");
        userns.uid = 0;
        userns.user_ns_root = Some(Some(100_000));
        userns.cap_effective = (1 << 41) - 1;
        assert_eq!(
            judge(&root_user::CHECK, vec![userns.clone()]).status,
            Status::Pass
        );
        assert_eq!(
            judge(&privileged::CHECK, vec![userns.clone()]).status,
            Status::Pass
        );
        userns.user_ns_root = Some(Some(0));
        assert_eq!(judge(&root_user::CHECK, vec![userns]).status, Status::Fail);
    }
}
