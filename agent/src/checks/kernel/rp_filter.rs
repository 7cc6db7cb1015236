//! `kernel.rp-filter`: Reverse-path filtering drops spoofed source addresses, as the CNI allows.

use super::{Want, sysctl_evidence, verdict};
use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use crate::facts::Facts;
use nodecheck_report::Severity;

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "kernel.rp-filter",
        title: "Reverse-path filtering drops spoofed source addresses",
        area: super::AREA,
        severity: Severity::Medium,
        roles: super::ALL,
        rationale: "With `rp_filter` off the node accepts packets whose source address could never arrive on that interface: a pod or a neighbour spoofs the address of another pod, a node or the API server past address-based policies. The kernel applies the larger of `conf.all` and the interface's value. The CNI decides what is right: Cilium turns `conf.all` off itself and checks sources in eBPF (`conf.all` 0 is expected there); Calico's Felix refuses loose mode (2) unless told to ignore it and sets strict mode on its own interfaces (0 or 1); elsewhere strict (1) or loose (2).",
        remediation: "Set `net.ipv4.conf.all.rp_filter = 1` and `net.ipv4.conf.default.rp_filter = 1` in /etc/sysctl.d/60-net-hardening.conf (2 where routing is asymmetric; leave `conf.all` at 0 under Cilium); `sysctl --system`.",
        cis: &[],
        references: &[
            "https://docs.kernel.org/networking/ip-sysctl.html",
            "https://docs.tigera.io/calico/latest/reference/resources/felixconfig",
            "https://github.com/cilium/cilium/blob/main/pkg/datapath/loader/base.go",
        ],
        params: &[],
    },
    run,
    fix: Fix::Manual,
};

const ALL: &str = "net.ipv4.conf.all.rp_filter";
const DEFAULT: &str = "net.ipv4.conf.default.rp_filter";

/// The CNI whose needs decide, from its agent process or its configuration file.
pub fn cni_plugin(facts: &Facts) -> Option<&'static str> {
    // Root's processes only: any local user can name a program cilium-agent.
    let runs = |name: &str| {
        facts
            .processes
            .iter()
            .any(|p| p.program() == name && p.uids[1] == 0)
    };
    let configured = |name: &str| {
        facts.cni.as_ref().is_some_and(|c| {
            c.entries
                .iter()
                .skip(1)
                .any(|e| e.path.rsplit('/').next().is_some_and(|f| f.contains(name)))
        })
    };
    if runs("cilium-agent") || configured("cilium") {
        Some("cilium")
    } else if runs("calico-node") || configured("calico") {
        Some("calico")
    } else {
        None
    }
}

/// Whether every interface but loopback (which never sees a spoofed packet from outside)
/// filters by its own `rp_filter` (1 or 2); false when the interfaces cannot be read or none is.
fn every_interface_filters(facts: &Facts) -> bool {
    let Ok(interfaces) = &facts.kernel.interfaces else {
        return false;
    };
    let judged: Vec<_> = interfaces.iter().filter(|i| i.name != "lo").collect();
    !judged.is_empty()
        && judged.iter().all(|i| {
            matches!(
                i.values.get("rp_filter"),
                Some(crate::facts::kernel::Running::Value(v)) if v == "1" || v == "2"
            )
        })
}

fn run(ctx: &Ctx<'_>) -> Verdict {
    if let Err(v) = super::recorded(ctx) {
        return v;
    }
    let plugin = cni_plugin(ctx.facts);
    let (all, default, note) = match plugin {
        Some("cilium") => (
            Want::new(ALL, "0 (Cilium validates sources in eBPF)", |v| v == 0),
            Want::new(DEFAULT, "any (Cilium sets its own interfaces)", |_| true),
            "Cilium sets net.ipv4.conf.all.rp_filter to 0 at start and refuses to run otherwise",
        ),
        Some(_) => (
            Want::new(ALL, "0 or 1 (Calico refuses loose mode)", |v| {
                v == 0 || v == 1
            }),
            Want::new(DEFAULT, "1 or 2", |v| v == 1 || v == 2),
            "Calico's Felix sets strict mode on its own interfaces and refuses loose mode in conf.all",
        ),
        None if every_interface_filters(ctx.facts) => (
            Want::new(
                ALL,
                "1 or 2, or 0 while every interface filters (the kernel applies the larger of conf.all and the interface's)",
                |v| (0..=2).contains(&v),
            ),
            Want::new(DEFAULT, "1 or 2 (interfaces created later filter)", |v| {
                v == 1 || v == 2
            }),
            "every interface but lo has its own rp_filter 1 or 2 (as systemd's 50-default.conf sets it through default)",
        ),
        None => (
            Want::new(ALL, "1 or 2", |v| v == 1 || v == 2),
            Want::new(DEFAULT, "1 or 2", |v| v == 1 || v == 2),
            "",
        ),
    };
    let mut items: Vec<_> = [all, default]
        .iter()
        .map(|w| sysctl_evidence(&ctx.facts.kernel.get(w.key), w))
        .collect();
    if !note.is_empty()
        && let Some(first) = items.first_mut()
    {
        first.note = Some(match first.note.take() {
            Some(n) => format!("{note}; {n}"),
            None => note.into(),
        });
    }
    verdict(items, "reverse-path filtering suits the node and its CNI")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::kernel::testing::*;
    use nodecheck_report::Status;

    #[test]
    fn verdicts_follow_the_cni() {
        let strict = with_sysctls(&[(ALL, Some("1")), (DEFAULT, Some("1"))]);
        assert_eq!(judge_all(&CHECK, &strict).status, Status::Pass);
        let off = with_sysctls(&[(ALL, Some("0")), (DEFAULT, Some("0"))]);
        assert_eq!(judge_all(&CHECK, &off).status, Status::Fail);
        // Under Cilium conf.all is 0 by design, and strict mode would break it.
        let mut cilium = off.clone();
        cilium.processes.push(crate::facts::Process {
            pid: 40,
            comm: "cilium-agent".into(),
            argv: vec!["cilium-agent".into()],
            ..Default::default()
        });
        assert_eq!(judge_all(&CHECK, &cilium).status, Status::Pass);
        let mut cilium_strict = strict.clone();
        cilium_strict.processes = cilium.processes.clone();
        assert_eq!(judge_all(&CHECK, &cilium_strict).status, Status::Fail);
        // Calico refuses loose mode in conf.all.
        // A user's process that calls itself cilium-agent changes nothing.
        let mut impostor = off.clone();
        impostor.processes = cilium.processes.clone();
        impostor.processes[0].uids = [1000; 4];
        assert_eq!(judge_all(&CHECK, &impostor).status, Status::Fail);
        let mut calico = with_sysctls(&[(ALL, Some("2")), (DEFAULT, Some("2"))]);
        calico.processes.push(crate::facts::Process {
            pid: 41,
            comm: "calico-node".into(),
            argv: vec!["calico-node".into()],
            ..Default::default()
        });
        let v = judge_all(&CHECK, &calico);
        assert_eq!(v.status, Status::Fail);
        assert!(
            v.evidence[0]
                .note
                .as_deref()
                .unwrap_or("")
                .contains("Felix")
        );
        let mut hidden = strict;
        net_hidden(&mut hidden);
        assert_eq!(judge_all(&CHECK, &hidden).status, Status::NotApplicable);
    }

    #[test]
    fn conf_all_off_still_filters_where_every_interface_does() {
        // systemd's 50-default.conf (and Bottlerocket) leave conf.all at 0 and set default and
        // lo to 2: every interface then filters loosely, because the kernel takes the larger.
        use crate::facts::kernel::{Interface, Running};
        let iface = |name: &str, rp: &str| Interface {
            name: name.into(),
            values: [("rp_filter", Running::Value(rp.into()))]
                .into_iter()
                .collect(),
        };
        let mut facts = with_sysctls(&[(ALL, Some("0")), (DEFAULT, Some("2"))]);
        facts.kernel.interfaces = Ok(vec![iface("eth0", "2"), iface("lo", "0")]);
        assert_eq!(judge_all(&CHECK, &facts).status, Status::Pass);
        facts.kernel.interfaces = Ok(vec![iface("eth0", "2"), iface("veth1", "0")]);
        assert_eq!(judge_all(&CHECK, &facts).status, Status::Fail);
        facts.kernel.interfaces = Ok(vec![iface("lo", "0")]);
        assert_eq!(judge_all(&CHECK, &facts).status, Status::Fail);
    }
}
