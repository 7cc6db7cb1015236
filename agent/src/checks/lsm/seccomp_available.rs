//! `lsm.seccomp-available`: The kernel filters system calls with seccomp.

use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use nodecheck_report::{Evidence, Severity, Source, Status};

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "lsm.seccomp-available",
        title: "The kernel offers seccomp filters",
        area: super::AREA,
        severity: Severity::Medium,
        roles: super::NODES,
        rationale: "`RuntimeDefault` seccomp profiles and the kubelet's `seccompDefault` (containers.seccomp, kubelet.seccomp-default) are only as good as the kernel under them: without seccomp filter support (CONFIG_SECCOMP_FILTER) no profile can be applied, and every container reaches every system call.",
        remediation: "Run a kernel built with CONFIG_SECCOMP and CONFIG_SECCOMP_FILTER (every mainstream distribution kernel is).",
        cis: &[],
        references: &[
            "https://docs.kernel.org/userspace-api/seccomp_filter.html",
            "https://kubernetes.io/docs/tutorials/security/seccomp/",
        ],
        params: &[],
    },
    run,
    fix: Fix::Manual,
};

const ACTIONS: &str = "/proc/sys/kernel/seccomp/actions_avail";

fn run(ctx: &Ctx<'_>) -> Verdict {
    let lsm = match super::known(ctx) {
        Ok(l) => l,
        Err(v) => return v,
    };
    // A copy of the node without /proc/sys cannot say the actions file is absent.
    if let Err(v) = crate::checks::kernel::recorded(ctx) {
        return v;
    }
    let item = |observed: String, status| Evidence {
        subject: "seccomp filter actions".into(),
        observed: Some(observed),
        expected: "seccomp filters supported (kill, errno, allow at least)".into(),
        status,
        source: Source::file(ACTIONS, None),
        note: None,
    };
    match &lsm.seccomp_actions {
        Ok(Some(actions))
            if ["errno", "allow"]
                .iter()
                .all(|a| actions.iter().any(|x| x == a)) =>
        {
            Verdict::new(
                Status::Pass,
                "the kernel offers seccomp filters",
                vec![item(actions.join(" "), Status::Pass)],
            )
        }
        Ok(Some(actions)) => Verdict::new(
            Status::Fail,
            format!(
                "the kernel's seccomp filters lack basic actions ({})",
                actions.join(" ")
            ),
            vec![item(actions.join(" "), Status::Fail)],
        ),
        Ok(None) => Verdict::new(
            Status::Fail,
            "the kernel has no seccomp filter support: no container's seccomp profile applies",
            vec![item(format!("{ACTIONS} absent"), Status::Fail)],
        ),
        Err(e) => Verdict::error(
            format!("cannot read the kernel's seccomp actions: {e}"),
            vec![item(e.clone(), Status::Error)],
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::lsm::testing::with_lsm;
    use crate::checks::testing::judge_worker;
    use crate::facts::lsm::{LsmFacts, SeLinux};

    #[test]
    fn verdicts() {
        let mut facts = with_lsm(&["apparmor"], &[], SeLinux::Inactive);
        // Facts with no sysctl recorded cannot tell.
        assert_eq!(judge_worker(&CHECK, &facts).status, Status::Error);
        facts.kernel =
            crate::checks::kernel::testing::with_sysctls(&[("vm.overcommit_memory", Some("0"))])
                .kernel;
        assert_eq!(judge_worker(&CHECK, &facts).status, Status::Pass);
        if let LsmFacts::Known(k) = &mut facts.lsm {
            k.seccomp_actions = Ok(None);
        }
        assert_eq!(judge_worker(&CHECK, &facts).status, Status::Fail);
    }
}
