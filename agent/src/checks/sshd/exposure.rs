//! `sshd.exposure`: sshd on a Kubernetes node is not reachable from everywhere.

use crate::checks::{
    ALL_ROLES, Check, CheckMeta, Ctx, Fix, ParamDefault, ParamSpec, Verdict, evidence,
};
use crate::facts::Listener;
use nodecheck_report::{Role, Severity};
use std::net::IpAddr;

pub const ALLOWED_NETWORKS: ParamSpec = ParamSpec {
    name: "allowed_networks",
    default: ParamDefault::Strings(&[]),
    doc: "CIDRs (VPN, bastion network) sshd may listen on; `0.0.0.0/0` allows the IPv4 wildcard.",
};

pub const CHECK: Check = Check {
    meta: CheckMeta {
        id: "sshd.exposure",
        title: "sshd on a Kubernetes node listens only on private or allowed addresses",
        area: super::AREA,
        severity: Severity::High,
        roles: ALL_ROLES,
        rationale: "Cluster nodes should be reached through a bastion or VPN, not straight from the internet; an sshd bound to every address is exposed wherever the node has a public interface. A plain host (bastion) is expected to be reachable and passes.",
        remediation: "Bind sshd to the node's private or VPN address with `ListenAddress`, or list the allowed networks in the profile (`allowed_networks`), and filter port 22 at the network edge.",
        cis: &[],
        references: &["https://man.openbsd.org/sshd_config#ListenAddress"],
        params: &[ALLOWED_NETWORKS],
    },
    run,
    fix: Fix::Manual,
};

fn parse_cidr(text: &str) -> Option<(IpAddr, u8)> {
    let (addr, len) = text.split_once('/').unwrap_or((text, ""));
    let ip: IpAddr = addr.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let len = if len.is_empty() {
        max
    } else {
        len.parse().ok()?
    };
    (len <= max).then_some((ip, len))
}

fn in_network(ip: IpAddr, (net, len): (IpAddr, u8)) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = if len == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(len))
            };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = if len == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(len))
            };
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => {
            a.is_private()
                || a.is_loopback()
                || a.is_link_local()
                || a.octets()[0] == 100 && (a.octets()[1] & 0xc0) == 64
        }
        IpAddr::V6(a) => {
            a.is_loopback()
                || (a.segments()[0] & 0xfe00) == 0xfc00
                || (a.segments()[0] & 0xffc0) == 0xfe80
                || a.to_ipv4_mapped()
                    .is_some_and(|v4| is_private(IpAddr::V4(v4)))
        }
    }
}

/// sshd's listeners: sockets owned by an sshd process, or ownerless ones on sshd's ports.
fn sshd_listeners<'a>(ctx: &Ctx<'a>, ports: &[String]) -> Vec<&'a Listener> {
    ctx.facts
        .listeners
        .iter()
        .filter(|l| l.is_host())
        .filter(|l| l.protocol == "tcp")
        .filter(|l| {
            l.owners.iter().any(|(_, name)| name == "sshd")
                || (l.owners.is_empty() && ports.iter().any(|p| p == &l.port.to_string()))
        })
        .collect()
}

fn run(ctx: &Ctx<'_>) -> Verdict {
    let sshd = match super::loaded(ctx) {
        Ok(s) => s,
        Err(v) => return v,
    };
    if !ctx.has_role(Role::Worker) && !ctx.has_role(Role::ControlPlane) {
        return Verdict::new(
            nodecheck_report::Status::Pass,
            "not a Kubernetes node (host role): a reachable sshd is expected here",
            Vec::new(),
        );
    }
    let ports = sshd
        .global
        .get("port")
        .map(|s| s.values.clone())
        .unwrap_or_default();
    let listeners = sshd_listeners(ctx, &ports);
    if listeners.is_empty() {
        return Verdict::new(
            nodecheck_report::Status::Pass,
            "sshd is not listening on any TCP socket of the host network namespace",
            Vec::new(),
        );
    }
    let allowed: Vec<(IpAddr, u8)> = ctx
        .params
        .list(&ALLOWED_NETWORKS)
        .iter()
        .filter_map(|c| parse_cidr(c))
        .collect();
    let items = listeners
        .iter()
        .map(|l| {
            let allowed_here = allowed.iter().any(|net| {
                if l.is_wildcard() {
                    net.1 == 0 && net.0.is_ipv4() == l.address.is_ipv4()
                } else {
                    in_network(l.address, *net)
                }
            });
            let pass = allowed_here || (!l.is_wildcard() && is_private(l.address));
            evidence(
                "sshd listener",
                Some(l.endpoint()),
                "a private address or one in allowed_networks (not a wildcard)",
                pass,
                l.source(),
            )
        })
        .collect();
    Verdict::from_evidence(
        items,
        "sshd listens only on private or allowed addresses",
        |failing| {
            let endpoints: Vec<&str> = failing
                .iter()
                .filter_map(|e| e.observed.as_deref())
                .collect();
            format!(
                "sshd listens on {} on a Kubernetes node; bind it with ListenAddress to a private address or list the network in allowed_networks",
                endpoints.join(", ")
            )
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use crate::checks::{ParamValue, Params};
    use nodecheck_report::Status;

    fn judge(endpoints: &[&str], roles: &[Role], allowed: &[&str]) -> Verdict {
        let mut facts = sshd_config("");
        for e in endpoints {
            listener(&mut facts, e, 100, "sshd");
        }
        listener(&mut facts, "0.0.0.0:8080", 200, "nginx");
        let mut params = Params::defaults(&CHECK.meta);
        params.0.insert(
            "allowed_networks".into(),
            ParamValue::Strings(allowed.iter().map(|s| s.to_string()).collect()),
        );
        judge_with(&CHECK, &facts, roles, &params)
    }

    #[test]
    fn verdicts() {
        let worker = [Role::Worker];
        assert_eq!(judge(&["0.0.0.0:22"], &worker, &[]).status, Status::Fail);
        assert_eq!(judge(&["[::]:22"], &worker, &[]).status, Status::Fail);
        assert_eq!(judge(&["10.0.0.5:22"], &worker, &[]).status, Status::Pass);
        assert_eq!(
            judge(&["203.0.113.7:22"], &worker, &[]).status,
            Status::Fail
        );
        assert_eq!(
            judge(&["203.0.113.7:22"], &worker, &["203.0.113.0/24"]).status,
            Status::Pass
        );
        assert_eq!(
            judge(&["0.0.0.0:22"], &worker, &["0.0.0.0/0"]).status,
            Status::Pass
        );
        assert_eq!(
            judge(&["0.0.0.0:22"], &[Role::Host], &[]).status,
            Status::Pass
        );
        assert_eq!(judge(&[], &worker, &[]).status, Status::Pass);
        let v = judge(&["0.0.0.0:22", "127.0.0.1:22"], &worker, &[]);
        assert!(v.message.contains("0.0.0.0:22"), "{}", v.message);
        assert!(!v.message.contains("127.0.0.1"), "{}", v.message);
        assert_eq!(
            crate::checks::testing::judge(&CHECK, &empty_facts()).status,
            Status::NotApplicable
        );
    }
}
