//! A real etcd (Debian's etcd-server) on loopback, judged from its live process: once with
//! TLS, client certificate authentication and a 0700 data dir; once with neither and the data
//! dir opened to 0755. The etcd verdicts must flip accordingly.
//!
//! etcd is started the way a node's is, by the init system: `setsid --fork` leaves it an orphan
//! that pid 1 adopts, since nodecheck judges only a component whose parent is the init system
//! or a container runtime (a child of this test would be ignored, and named).
//!
//! Without etcd or openssl the test prints why and passes, unless NODECHECK_REQUIRE_TOOLS=1.

use serde_json::Value;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ETCD: &str = "/usr/bin/etcd";

fn available() -> bool {
    let missing: Vec<&str> = [ETCD, "/usr/bin/openssl"]
        .into_iter()
        .filter(|p| !Path::new(p).exists())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let reason = format!(
        "{} not installed (apt-get install etcd-server openssl)",
        missing.join(", ")
    );
    assert!(
        std::env::var("NODECHECK_REQUIRE_TOOLS").as_deref() != Ok("1"),
        "NODECHECK_REQUIRE_TOOLS=1 but the etcd test cannot run: {reason}"
    );
    let _ = writeln!(std::io::stderr(), "SKIPPED etcd test: {reason}");
    false
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

#[path = "support/pki.rs"]
mod pki;
use pki::certificates;

/// An etcd we started, killed by pid when dropped.
struct Etcd {
    pid: u32,
}

impl Drop for Etcd {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-9", &self.pid.to_string()])
            .status();
        // pid 1 reaps it; wait until it is gone so the next etcd can take the ports.
        let deadline = Instant::now() + Duration::from_secs(5);
        while Path::new(&format!("/proc/{}", self.pid)).exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// The pid of the etcd whose command line names `data_dir`.
fn etcd_pid(data_dir: &Path) -> Option<u32> {
    let marker = format!("--data-dir={}", data_dir.display());
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let words: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
            (words.first().is_some_and(|w| w.ends_with(b"etcd"))
                && words.contains(&marker.as_bytes()))
            .then_some(pid)
        })
}

fn start(dir: &Path, tls: bool) -> Etcd {
    let client = free_port();
    let peer = free_port();
    let scheme = if tls { "https" } else { "http" };
    let data = dir.join("data");
    let mut cmd = Command::new("setsid");
    cmd.args(["--fork", ETCD])
        .arg("--name=nodecheck-test")
        .arg(format!("--data-dir={}", data.display()))
        .arg(format!(
            "--listen-client-urls={scheme}://127.0.0.1:{client}"
        ))
        .arg(format!(
            "--advertise-client-urls={scheme}://127.0.0.1:{client}"
        ))
        .arg(format!("--listen-peer-urls=http://127.0.0.1:{peer}"))
        .arg(format!(
            "--initial-advertise-peer-urls=http://127.0.0.1:{peer}"
        ))
        .arg(format!(
            "--initial-cluster=nodecheck-test=http://127.0.0.1:{peer}"
        ))
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if tls {
        cmd.arg(format!("--cert-file={}", dir.join("server.crt").display()))
            .arg(format!("--key-file={}", dir.join("server.key").display()))
            .arg(format!(
                "--trusted-ca-file={}",
                dir.join("ca.crt").display()
            ))
            .arg("--client-cert-auth=true");
    }
    let forked = cmd.status().expect("start etcd");
    assert!(forked.success(), "setsid --fork etcd: {forked}");
    let deadline = Instant::now() + Duration::from_secs(20);
    let etcd = loop {
        if let Some(pid) = etcd_pid(&data) {
            break Etcd { pid };
        }
        assert!(Instant::now() < deadline, "etcd did not start");
        std::thread::sleep(Duration::from_millis(20));
    };
    while TcpStream::connect(("127.0.0.1", client)).is_err() {
        assert!(
            Instant::now() < deadline,
            "etcd did not listen on 127.0.0.1:{client} within 20 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // etcd creates its data dir before it serves.
    while !data.join("member").exists() {
        assert!(
            Instant::now() < deadline,
            "etcd did not create its data dir"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    etcd
}

fn etcd_verdicts(pid: u32) -> Vec<(String, String, String)> {
    let out = Command::new(env!("CARGO_BIN_EXE_nodecheck"))
        .args(["--format", "json", "--only", "etcd"])
        .output()
        .expect("run nodecheck");
    let report: Value = serde_json::from_slice(&out.stdout).expect("json");
    let findings = report["findings"].as_array().cloned().unwrap_or_default();
    let mentions_pid = findings.iter().any(|f| {
        let text = f.to_string();
        text.contains(&format!("\"pid\":{pid}")) || text.contains(&format!("(pid {pid})"))
    });
    assert!(
        mentions_pid,
        "the verdicts come from etcd pid {pid}: {findings:?}"
    );
    findings
        .iter()
        .map(|f| {
            (
                f["id"].as_str().unwrap_or_default().to_string(),
                f["status"].as_str().unwrap_or_default().to_string(),
                f["message"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn status<'a>(verdicts: &'a [(String, String, String)], id: &str) -> &'a str {
    verdicts
        .iter()
        .find(|(i, _, _)| i == id)
        .map(|(_, s, _)| s.as_str())
        .unwrap_or_else(|| panic!("{id} in {verdicts:?}"))
}

#[path = "support/scratch.rs"]
mod scratch;

/// An empty scratch directory, removed when the test ends.
fn temp(tag: &str) -> scratch::Scratch {
    scratch::Scratch::new(&format!("etcd-{tag}"))
}

#[test]
fn live_etcd_verdicts_flip_with_its_configuration() {
    if !available() {
        return;
    }
    let secure_dir = temp("secure");
    certificates(&secure_dir);
    {
        let etcd = start(&secure_dir, true);
        let verdicts = etcd_verdicts(etcd.pid);
        for id in [
            "etcd.client-tls",
            "etcd.client-cert-auth",
            "etcd.data-dir-permissions",
            "etcd.auto-tls",
            "etcd.exposure",
        ] {
            assert_eq!(status(&verdicts, id), "pass", "{id}: {verdicts:?}");
        }
        assert_eq!(status(&verdicts, "etcd.trusted-ca"), "pass", "{verdicts:?}");
    }
    let open_dir = temp("open");
    {
        let etcd = start(&open_dir, false);
        // etcd refuses to start on a data dir that is not 0700, so it is opened afterwards.
        let data = open_dir.join("data");
        std::fs::set_permissions(&data, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("chmod");
        let verdicts = etcd_verdicts(etcd.pid);
        for id in [
            "etcd.client-tls",
            "etcd.client-cert-auth",
            "etcd.data-dir-permissions",
            "etcd.trusted-ca",
        ] {
            assert_eq!(status(&verdicts, id), "fail", "{id}: {verdicts:?}");
        }
        let message = verdicts
            .iter()
            .find(|(i, _, _)| i == "etcd.data-dir-permissions")
            .map(|(_, _, m)| m.clone())
            .unwrap_or_default();
        assert!(message.contains("0755"), "{message}");
    }
}
