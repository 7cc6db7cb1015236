//! Listening sockets of the host network namespace, read from `/proc/1/net/{tcp,tcp6,udp,udp6}`
//! (pid 1's tables are the host's even when nodecheck runs in a pod), and their owners found
//! through the socket inodes of every process's fd table.
//!
//! TCP sockets count when in LISTEN state; UDP sockets when bound and unconnected (there is no
//! LISTEN state for UDP). Malformed lines are skipped and counted.

use super::process::Process;
use crate::host::Host;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Socket tables can be large on busy nodes.
const NET_TABLE_CAP: u64 = 64 * 1024 * 1024;

/// The processes holding a socket, shared between the sockets they all hold.
pub type Owners = std::sync::Arc<[(u32, String)]>;

/// One listening socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    /// `tcp` or `udp`.
    pub protocol: &'static str,
    pub address: IpAddr,
    pub port: u16,
    pub inode: u64,
    /// Processes holding the socket: (pid, program name). Shared between the listeners
    /// one set of processes holds (a thousand forks holding a hundred thousand sockets is one
    /// list, not a hundred thousand copies).
    pub owners: Owners,
    /// `host`, or the identifier of a pod's network namespace.
    pub netns: String,
}

impl Listener {
    /// `0.0.0.0:22`, `[::]:22`.
    pub fn endpoint(&self) -> String {
        match self.address {
            IpAddr::V4(a) => format!("{a}:{}", self.port),
            IpAddr::V6(a) => format!("[{a}]:{}", self.port),
        }
    }

    /// In the host's network namespace (not a pod's).
    pub fn is_host(&self) -> bool {
        self.netns == "host"
    }

    /// The listener as the source of an evidence item.
    pub fn source(&self) -> nodecheck_report::Source {
        nodecheck_report::Source::Listener {
            address: self.endpoint(),
            pid: self.owners.first().map(|(pid, _)| *pid),
        }
    }

    pub fn is_loopback(&self) -> bool {
        match self.address {
            IpAddr::V4(a) => a.is_loopback(),
            IpAddr::V6(a) => {
                a.is_loopback() || a.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
            }
        }
    }

    pub fn is_wildcard(&self) -> bool {
        self.address.is_unspecified()
    }
}

fn parse_v4(hex: &str) -> Option<IpAddr> {
    let raw = u32::from_str_radix(hex, 16).ok()?;
    // The kernel prints the network-order address as a native (little-endian) integer.
    Some(IpAddr::V4(Ipv4Addr::from(raw.to_le_bytes())))
}

fn parse_v6(hex: &str) -> Option<IpAddr> {
    if hex.len() != 32 {
        return None;
    }
    let mut bytes = [0u8; 16];
    for (word, chunk) in hex.as_bytes().chunks(8).enumerate() {
        let text = std::str::from_utf8(chunk).ok()?;
        let value = u32::from_str_radix(text, 16).ok()?;
        bytes[word * 4..word * 4 + 4].copy_from_slice(&value.to_le_bytes());
    }
    Some(IpAddr::V6(Ipv6Addr::from(bytes)))
}

/// Parses one `/proc/net/{tcp,udp}[6]` table; returns the listeners and the number of
/// malformed lines.
pub fn parse_table(text: &str, protocol: &'static str, v6: bool) -> (Vec<Listener>, usize) {
    let mut out = Vec::new();
    let mut malformed = 0;
    for line in text.lines().skip(1) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 10 {
            if !line.trim().is_empty() {
                malformed += 1;
            }
            continue;
        }
        let parsed = (|| {
            let (addr_hex, port_hex) = fields[1].split_once(':')?;
            let state = u8::from_str_radix(fields[3], 16).ok()?;
            let address = if v6 {
                parse_v6(addr_hex)?
            } else {
                parse_v4(addr_hex)?
            };
            let port = u16::from_str_radix(port_hex, 16).ok()?;
            let inode: u64 = fields[9].parse().ok()?;
            let remote_port = fields[2].split_once(':').map(|(_, p)| p)?;
            let listening = match protocol {
                "tcp" => state == 0x0A,
                // UDP: bound and unconnected (state 7 = TCP_CLOSE, no remote port).
                _ => state == 0x07 && remote_port == "0000",
            };
            Some((listening, address, port, inode))
        })();
        match parsed {
            Some((true, address, port, inode)) => out.push(Listener {
                protocol,
                address,
                port,
                inode,
                owners: Default::default(),
                netns: "host".into(),
            }),
            Some((false, ..)) => {}
            None => malformed += 1,
        }
    }
    (out, malformed)
}

/// The listeners of the host network namespace with their owners; the count of malformed
/// table lines goes to `warnings`.
pub fn read_listeners(
    host: &Host,
    processes: &[Process],
    warnings: &mut Vec<String>,
) -> Vec<Listener> {
    let mut all = Vec::new();
    let live = host.live_listeners();
    if let Some(sockets) = &live {
        all.extend(sockets.iter().map(|(protocol, s)| Listener {
            protocol,
            address: s.address,
            port: s.port,
            inode: s.inode,
            owners: Default::default(),
            netns: "host".into(),
        }));
    }
    const TABLES: &[(&str, &str, bool)] = &[
        ("tcp", "tcp", false),
        ("tcp6", "tcp", true),
        ("udp", "udp", false),
        ("udp6", "udp", true),
    ];
    let tables = if live.is_some() { &[][..] } else { TABLES };
    for &(file, protocol, v6) in tables {
        let data = host
            .proc_read(&format!("1/net/{file}"), NET_TABLE_CAP)
            .or_else(|_| host.proc_read(&format!("net/{file}"), NET_TABLE_CAP));
        let Ok(data) = data else {
            continue;
        };
        let (listeners, malformed) = parse_table(&String::from_utf8_lossy(&data), protocol, v6);
        if malformed > 0 {
            warnings.push(format!(
                "/proc/1/net/{file}: {malformed} malformed lines skipped"
            ));
        }
        all.extend(listeners);
    }
    all.extend(pod_namespace_listeners(host, processes, warnings));
    let mut owners: HashMap<u64, Vec<(u32, String)>> = HashMap::new();
    for p in processes {
        for inode in &p.socket_inodes {
            owners
                .entry(*inode)
                .or_default()
                .push((p.pid, p.program().to_string()));
        }
    }
    // One shared list per distinct set of owners.
    let mut shared: HashMap<Vec<(u32, String)>, Owners> = HashMap::new();
    let owners: HashMap<u64, Owners> = owners
        .into_iter()
        .map(|(inode, list)| {
            let arc = shared
                .entry(list)
                .or_insert_with_key(|list| list.clone().into())
                .clone();
            (inode, arc)
        })
        .collect();
    for listener in &mut all {
        if let Some(o) = owners.get(&listener.inode) {
            listener.owners = o.clone();
        }
    }
    all.sort_by(|a, b| (a.protocol, a.port, a.address).cmp(&(b.protocol, b.port, b.address)));
    all
}

/// Listeners of every network namespace other than the host's, each read through one
/// process in it (`/proc/<pid>/net/*`): no hostNetwork needed.
fn pod_namespace_listeners(
    host: &Host,
    processes: &[Process],
    warnings: &mut Vec<String>,
) -> Vec<Listener> {
    let Some(host_ns) = host.netns_id(1) else {
        return Vec::new();
    };
    let mut seen: HashMap<String, u32> = HashMap::new();
    // Pod namespaces hold container processes; asking every process would cost a syscall
    // each on nodes with thousands of them.
    let in_containers = processes
        .iter()
        .filter(|p| !p.kernel_thread && super::containers::placement(&p.cgroups).is_some());
    for p in in_containers {
        if let Some(ns) = host.netns_id(p.pid)
            && ns != host_ns
        {
            seen.entry(ns).or_insert(p.pid);
        }
    }
    let mut out = Vec::new();
    let mut namespaces: Vec<(String, u32)> = seen.into_iter().collect();
    namespaces.sort();
    for (ns, pid) in namespaces {
        for (file, protocol, v6) in [
            ("tcp", "tcp", false),
            ("tcp6", "tcp", true),
            ("udp", "udp", false),
            ("udp6", "udp", true),
        ] {
            // A process may exit between being listed and being read: skip it quietly.
            let Ok(data) = host.proc_read(&format!("{pid}/net/{file}"), NET_TABLE_CAP) else {
                continue;
            };
            let (listeners, malformed) = parse_table(&String::from_utf8_lossy(&data), protocol, v6);
            if malformed > 0 {
                warnings.push(format!(
                    "/proc/{pid}/net/{file}: {malformed} malformed lines skipped"
                ));
            }
            out.extend(listeners.into_iter().map(|l| Listener {
                netns: ns.clone(),
                ..l
            }));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TCP: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1111 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2222 1 0000000000000000 100 0 0 10 0
   2: 0100007F:9C40 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 3333 1 0000000000000000 100 0 0 10 0
   3: garbage
";

    #[test]
    fn tcp_listeners_only_and_malformed_lines_counted() {
        let (listeners, malformed) = parse_table(TCP, "tcp", false);
        assert_eq!(malformed, 1);
        assert_eq!(listeners.len(), 2);
        assert_eq!(listeners[0].endpoint(), "0.0.0.0:22");
        assert!(listeners[0].is_wildcard());
        assert_eq!(listeners[1].endpoint(), "127.0.0.1:8080");
        assert!(listeners[1].is_loopback());
    }

    #[test]
    fn ipv6_and_udp() {
        let tcp6 = "header\n   0: 00000000000000000000000000000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4444 1 0 100 0 0 10 0\n   1: 00000000000000000000000001000000:0035 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5555 1 0 100 0 0 10 0\n";
        let (l, _) = parse_table(tcp6, "tcp", true);
        assert_eq!(l[0].endpoint(), "[::]:22");
        assert_eq!(l[1].endpoint(), "[::1]:53");
        let udp = "header\n   0: 00000000:0044 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 6666 2 0 0\n   1: 0100007F:0035 0100007F:0044 01 00000000:00000000 00:00000000 00000000     0        0 7777 2 0 0\n";
        let (u, _) = parse_table(udp, "udp", false);
        assert_eq!(u.len(), 1);
        assert_eq!(u[0].endpoint(), "0.0.0.0:68");
    }
}
