//! `kernel.icmp-redirects`: ICMP redirects are neither accepted nor sent.

use super::{Want, sysctl_evidence, verdict};
use crate::checks::{Check, CheckMeta, Ctx, Fix, Verdict};
use crate::facts::kernel::Running;
use nodecheck_report::{Evidence, Severity, Source, Status};

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "kernel.icmp-redirects",
        title: "ICMP redirects are neither accepted nor sent",
        area: super::AREA,
        severity: Severity::Medium,
        roles: super::ALL,
        rationale: "An accepted ICMP redirect rewrites the node's routing table on a neighbour's say-so, steering its traffic (API server, etcd, kubelet) through an attacker; a node that sends redirects tells neighbours, pods on its bridge among them, how to route around it. Kubernetes needs neither: routes come from the CNI. The kernel ORs `send_redirects` and `secure_redirects` (and `accept_redirects` where the interface does not forward) of `conf.all` with each interface's own, so every interface is read: one set to 1 — a pod's veth created while `default` was 1 — still sends.",
        remediation: "In /etc/sysctl.d/60-net-hardening.conf set `net.ipv4.conf.all.accept_redirects`, `.default.accept_redirects`, `.all.secure_redirects`, `.default.secure_redirects`, `.all.send_redirects` and `.default.send_redirects` to 0 (and `net.ipv4.conf.*.send_redirects = 0` for the interfaces that exist); `sysctl --system`.",
        cis: &[],
        references: &["https://docs.kernel.org/networking/ip-sysctl.html"],
        params: &[],
    },
    run,
    fix: Fix::Settings(fix),
};

const WANTS: &[Want] = &[
    Want::new("net.ipv4.conf.all.accept_redirects", "0", |v| v == 0),
    Want::new("net.ipv4.conf.default.accept_redirects", "0", |v| v == 0),
    Want::new("net.ipv4.conf.all.secure_redirects", "0", |v| v == 0),
    Want::new("net.ipv4.conf.default.secure_redirects", "0", |v| v == 0),
    Want::new("net.ipv4.conf.all.send_redirects", "0", |v| v == 0),
    Want::new("net.ipv4.conf.default.send_redirects", "0", |v| v == 0),
];

fn run(ctx: &Ctx<'_>) -> Verdict {
    if let Err(v) = super::recorded(ctx) {
        return v;
    }
    let kernel = &ctx.facts.kernel;
    let mut items: Vec<Evidence> = WANTS
        .iter()
        .map(|w| sysctl_evidence(&kernel.get(w.key), w))
        .collect();
    let all_on = |key: &'static str| kernel.get(key).int().is_some_and(|v| v != 0);
    match &kernel.interfaces {
        Ok(interfaces) => {
            for interface in interfaces {
                let on = |key: &str| matches!(interface.values.get(key), Some(Running::Value(v)) if v != "0");
                let forwards = on("forwarding");
                for key in ["send_redirects", "secure_redirects", "accept_redirects"] {
                    let effective = match key {
                        // Forwarding interfaces accept redirects only when both say so.
                        "accept_redirects" if forwards => {
                            on(key) && all_on("net.ipv4.conf.all.accept_redirects")
                        }
                        _ => on(key),
                    };
                    if effective {
                        items.push(Evidence {
                            subject: format!("net.ipv4.conf.{}.{key}", interface.name),
                            observed: Some("1".into()),
                            expected: "0".into(),
                            status: Status::Fail,
                            source: Source::file(
                                format!("/proc/sys/net/ipv4/conf/{}/{key}", interface.name),
                                None,
                            ),
                            note: Some("the kernel ORs it with conf.all".into()),
                        });
                    }
                }
            }
        }
        // Hidden net keys already make every item not applicable; otherwise say what is missing.
        Err(e) if !items.iter().all(|i| i.status == Status::NotApplicable) => {
            items.push(Evidence {
                subject: "net.ipv4.conf.<interface>".into(),
                observed: Some(e.clone()),
                expected: "every interface read".into(),
                status: Status::Error,
                source: Source::file("/proc/sys/net/ipv4/conf", None),
                note: None,
            })
        }
        Err(_) => {}
    }
    verdict(items, "the node neither accepts nor sends ICMP redirects")
}

/// Each failing key in a `sysctl.d` file read last.
fn fix(ctx: &Ctx<'_>, verdict: &Verdict) -> Vec<crate::checks::Remedy> {
    super::fix_wants(ctx, verdict, WANTS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::kernel::testing::*;
    use nodecheck_report::Status;

    #[test]
    fn verdicts() {
        let keys = [
            "net.ipv4.conf.all.accept_redirects",
            "net.ipv4.conf.default.accept_redirects",
            "net.ipv4.conf.all.secure_redirects",
            "net.ipv4.conf.default.secure_redirects",
            "net.ipv4.conf.all.send_redirects",
            "net.ipv4.conf.default.send_redirects",
        ];
        let zeros: Vec<(&'static str, Option<&str>)> =
            keys.iter().map(|k| (*k, Some("0"))).collect();
        let good = assert_net_check(&CHECK, &zeros, "net.ipv4.conf.all.accept_redirects", "1");
        // conf.all at 0 does not turn off an interface set to 1 (the kernel ORs them); a
        // forwarding interface accepts redirects only when conf.all does too.
        let interface =
            |name: &str, values: &[(&'static str, &str)]| crate::facts::kernel::Interface {
                name: name.into(),
                values: values
                    .iter()
                    .map(|(k, v)| (*k, Running::Value(v.to_string())))
                    .collect(),
            };
        let mut veth = good.clone();
        veth.kernel.interfaces = Ok(vec![
            interface(
                "eth0",
                &[
                    ("send_redirects", "0"),
                    ("accept_redirects", "1"),
                    ("forwarding", "1"),
                ],
            ),
            interface("veth1a2b", &[("send_redirects", "1"), ("forwarding", "1")]),
        ]);
        let v = judge_all(&CHECK, &veth);
        assert_eq!(v.status, Status::Fail);
        assert!(
            v.message
                .contains("net.ipv4.conf.veth1a2b.send_redirects is 1"),
            "{}",
            v.message
        );
        assert!(!v.message.contains("eth0"), "{}", v.message);
        let mut unreadable = good.clone();
        unreadable.kernel.interfaces = Err("permission denied".into());
        assert_eq!(judge_all(&CHECK, &unreadable).status, Status::Error);
    }
}
