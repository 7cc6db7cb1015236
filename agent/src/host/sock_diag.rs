//! The netlink `sock_diag` fast path for listening sockets of nodecheck's own network
//! namespace.
//!
//! `/proc/net/tcp` makes the kernel walk the whole established-connection hash table on every
//! read (milliseconds on a machine with a large table, twice per file). A `sock_diag` dump
//! restricted to LISTEN (TCP) and unconnected (UDP) sockets walks only the listening table.
//! It can only see the namespace nodecheck runs in, so it is used only when that is the host's
//! (pid 1's) namespace and the root is the live `/`; snapshots and other roots use /proc.

use nix::sys::socket::{
    AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol, SockType, recv, sendto, socket,
};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::AsRawFd;

const SOCK_DIAG_BY_FAMILY: u16 = 20;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_DUMP: u16 = 0x300;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const TCP_LISTEN: u32 = 10;
const TCP_CLOSE: u32 = 7;
const IPPROTO_TCP: u8 = 6;
const IPPROTO_UDP: u8 = 17;
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;
/// Messages one dump may return before nodecheck stops reading (a bound, not a limit any
/// real node reaches).
const MAX_MESSAGES: usize = 1_000_000;

/// One socket from a dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiagSocket {
    pub address: IpAddr,
    pub port: u16,
    pub inode: u64,
}

/// Why a dump failed (the caller falls back to /proc).
#[derive(Debug, thiserror::Error)]
#[error("sock_diag: {0}")]
pub struct DiagError(String);

fn request(family: u8, protocol: u8, states: u32) -> Vec<u8> {
    let mut msg = Vec::with_capacity(72);
    msg.extend_from_slice(&72u32.to_ne_bytes()); // nlmsg_len
    msg.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    msg.extend_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    msg.extend_from_slice(&1u32.to_ne_bytes()); // seq
    msg.extend_from_slice(&0u32.to_ne_bytes()); // pid
    msg.extend_from_slice(&[family, protocol, 0, 0]); // family, protocol, ext, pad
    msg.extend_from_slice(&states.to_ne_bytes());
    msg.extend_from_slice(&[0u8; 48]); // inet_diag_sockid: any
    msg
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&b[at..at + 4]);
    u32::from_ne_bytes(word)
}

/// Parses one `inet_diag_msg`.
fn parse_msg(body: &[u8]) -> Option<(DiagSocket, u16)> {
    if body.len() < 72 {
        return None;
    }
    let family = body[0];
    let port = u16::from_be_bytes([body[4], body[5]]);
    let dport = u16::from_be_bytes([body[6], body[7]]);
    let src = &body[8..24];
    let address = match family {
        AF_INET => IpAddr::V4(Ipv4Addr::new(src[0], src[1], src[2], src[3])),
        AF_INET6 => {
            let mut octets = [0u8; 16];
            octets.copy_from_slice(src);
            IpAddr::V6(Ipv6Addr::from(octets))
        }
        _ => return None,
    };
    let inode = u64::from(u32_at(body, 68));
    Some((
        DiagSocket {
            address,
            port,
            inode,
        },
        dport,
    ))
}

fn dump(family: u8, protocol: u8, states: u32) -> Result<Vec<DiagSocket>, DiagError> {
    let err = |what: &str, e: nix::Error| DiagError(format!("{what}: {e}"));
    let fd = socket(
        AddressFamily::Netlink,
        SockType::Raw,
        SockFlag::SOCK_CLOEXEC,
        SockProtocol::NetlinkSockDiag,
    )
    .map_err(|e| err("socket", e))?;
    let kernel = NetlinkAddr::new(0, 0);
    sendto(
        fd.as_raw_fd(),
        &request(family, protocol, states),
        &kernel,
        MsgFlags::empty(),
    )
    .map_err(|e| err("send", e))?;
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut messages = 0usize;
    loop {
        let n = recv(fd.as_raw_fd(), &mut buf, MsgFlags::empty()).map_err(|e| err("recv", e))?;
        if n == 0 {
            return Err(DiagError(
                "netlink closed before the end of the dump".into(),
            ));
        }
        let mut at = 0;
        while at + 16 <= n {
            let len = u32_at(&buf, at) as usize;
            let kind = u16::from_ne_bytes([buf[at + 4], buf[at + 5]]);
            if len < 16 || at + len > n {
                return Err(DiagError("malformed netlink message".into()));
            }
            match kind {
                NLMSG_DONE => return Ok(out),
                NLMSG_ERROR => {
                    let code = if len >= 20 {
                        i32::from_ne_bytes([buf[at + 16], buf[at + 17], buf[at + 18], buf[at + 19]])
                    } else {
                        0
                    };
                    return Err(DiagError(format!("kernel error {code}")));
                }
                _ => {
                    if let Some((socket, dport)) = parse_msg(&buf[at + 16..at + len])
                        && (protocol == IPPROTO_TCP || dport == 0)
                    {
                        out.push(socket);
                    }
                }
            }
            messages += 1;
            if messages > MAX_MESSAGES {
                return Err(DiagError("dump did not end".into()));
            }
            at += (len + 3) & !3;
        }
    }
}

/// Listening TCP and bound, unconnected UDP sockets of nodecheck's network namespace:
/// (protocol, v6, socket).
pub fn listening() -> Result<Vec<(&'static str, DiagSocket)>, DiagError> {
    let mut all = Vec::new();
    for (protocol, name, states) in [
        (IPPROTO_TCP, "tcp", 1u32 << TCP_LISTEN),
        (IPPROTO_UDP, "udp", 1u32 << TCP_CLOSE),
    ] {
        for family in [AF_INET, AF_INET6] {
            for socket in dump(family, protocol, states)? {
                all.push((name, socket));
            }
        }
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_messages_have_the_kernel_layout() {
        let req = request(AF_INET, IPPROTO_TCP, 1 << TCP_LISTEN);
        assert_eq!(req.len(), 72);
        assert_eq!(u32_at(&req, 0), 72);
        let mut body = vec![0u8; 72];
        body[0] = AF_INET;
        body[4..6].copy_from_slice(&22u16.to_be_bytes());
        body[8..12].copy_from_slice(&[127, 0, 0, 1]);
        body[68..72].copy_from_slice(&4242u32.to_ne_bytes());
        let (socket, dport) = parse_msg(&body).expect("parses");
        assert_eq!(socket.address, IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!((socket.port, socket.inode, dport), (22, 4242, 0));
        assert!(parse_msg(&body[..40]).is_none());
    }
}
