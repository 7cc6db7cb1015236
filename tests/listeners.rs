//! Listeners of the live host: sockets this test opens are found, with this process as their
//! owner, through both the netlink sock_diag fast path and the /proc/1/net tables.
//! (They agree only when the test runs in pid 1's network namespace, as on CI; elsewhere the
//! test says so and checks the /proc path alone.)

use serde_json::Value;
use std::net::{TcpListener, UdpSocket};
use std::process::Command;

fn listeners(no_sock_diag: bool) -> Vec<Value> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_nodecheck"));
    cmd.args(["--format", "json", "--only", "sshd.banner"]);
    if no_sock_diag {
        cmd.env("NODECHECK_NO_SOCK_DIAG", "1");
    }
    let out = cmd.output().expect("run nodecheck");
    let report: Value = serde_json::from_slice(&out.stdout).expect("json report");
    report["inventory"]["listeners"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn find(listeners: &[Value], protocol: &str, port: u16) -> Option<Value> {
    listeners
        .iter()
        .find(|l| l["protocol"] == protocol && l["port"] == port && l["address"] == "127.0.0.1")
        .cloned()
}

#[test]
fn own_sockets_are_found_with_their_owner_both_ways() {
    let tcp = TcpListener::bind("127.0.0.1:0").expect("bind tcp");
    let udp = UdpSocket::bind("127.0.0.1:0").expect("bind udp");
    let tcp_port = tcp.local_addr().expect("addr").port();
    let udp_port = udp.local_addr().expect("addr").port();
    let me = std::process::id();
    // Each network namespace has its own proc entry (inode) for net/tcp.
    let inode = |p: &str| {
        std::fs::metadata(p)
            .ok()
            .map(|m| std::os::unix::fs::MetadataExt::ino(&m))
    };
    let same_netns = inode("/proc/1/net/tcp").is_some()
        && inode("/proc/1/net/tcp") == inode("/proc/self/net/tcp");
    if !same_netns {
        eprintln!(
            "this test runs outside pid 1's network namespace: its sockets are not the host's"
        );
        return;
    }
    for no_sock_diag in [false, true] {
        let all = listeners(no_sock_diag);
        for (protocol, port) in [("tcp", tcp_port), ("udp", udp_port)] {
            let found = find(&all, protocol, port).unwrap_or_else(|| {
                panic!("{protocol} {port} (sock_diag off: {no_sock_diag}) in {all:?}")
            });
            assert!(
                found["processes"]
                    .as_array()
                    .is_some_and(|p| p.iter().any(|x| x["pid"] == me)),
                "owner of {protocol} {port}: {found}"
            );
        }
    }
    drop((tcp, udp));
}
