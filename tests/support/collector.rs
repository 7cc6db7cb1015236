//! A real `nodecheck-collector` process on a loopback port, for the integration tests, and a
//! minimal HTTP/1.1 client to talk to it.
#![allow(dead_code)] // each test uses its own part of it

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[path = "http.rs"]
pub mod http;
pub use http::request;
#[path = "scratch.rs"]
mod scratch;
pub use scratch::Scratch;

/// The collector binary: cargo names it to the collector's own tests; the agent's tests find
/// it beside their own binary (`cargo test --workspace` builds both).
pub fn bin() -> std::path::PathBuf {
    if let Some(path) = option_env!("CARGO_BIN_EXE_nodecheck-collector") {
        return path.into();
    }
    let beside = option_env!("CARGO_BIN_EXE_nodecheck")
        .map(|agent| Path::new(agent).with_file_name("nodecheck-collector"))
        .unwrap_or_default();
    assert!(
        beside.is_file(),
        "no collector binary at {}: run `cargo build -p nodecheck-collector` (or cargo test --workspace)",
        beside.display()
    );
    beside
}

/// The collector process; killed (SIGKILL) and reaped when dropped.
pub struct Collector(pub Child);

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port")
}

/// Starts `serve --data-dir DATA --listen 127.0.0.1:PORT` and waits until it answers.
pub fn start(data: &Path, port: u16) -> Collector {
    start_with(data, port, &[])
}

/// As [`start`], with more arguments.
pub fn start_with(data: &Path, port: u16, extra: &[&str]) -> Collector {
    start_wrapped(&[], data, port, extra)
}

/// Starts the collector without waiting for it (for servers plain HTTP cannot reach).
pub fn spawn(data: &Path, port: u16, extra: &[&str]) -> Collector {
    spawn_wrapped(&[], data, port, extra)
}

/// As [`start_with`], run through `wrapper` (e.g. `prlimit --nofile=400:400 --`).
pub fn start_wrapped(wrapper: &[&str], data: &Path, port: u16, extra: &[&str]) -> Collector {
    let collector = spawn_wrapped(wrapper, data, port, extra);
    let deadline = Instant::now() + Duration::from_secs(20);
    while request(port, "GET", "/healthz", "", "").is_err() {
        assert!(Instant::now() < deadline, "collector did not come up");
        std::thread::sleep(Duration::from_millis(50));
    }
    collector
}

/// As [`spawn`], run through `wrapper`.
pub fn spawn_wrapped(wrapper: &[&str], data: &Path, port: u16, extra: &[&str]) -> Collector {
    let mut command = match wrapper.split_first() {
        Some((program, args)) => {
            let mut command = Command::new(program);
            command.args(args).arg(bin());
            command
        }
        None => Command::new(bin()),
    };
    let child = command
        .args([
            "serve",
            "--data-dir",
            &data.display().to_string(),
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start collector");
    Collector(child)
}

/// A token the collector wrote into its data dir on first start.
/// `nodecheck-collector token create …` as an operator runs it: the token it prints.
pub fn create_token(data: &Path, args: &[&str]) -> String {
    let out = Command::new(bin())
        .args(["token", "--data-dir"])
        .arg(data)
        .arg("create")
        .args(args)
        .output()
        .expect("token create");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

pub fn token(data: &Path, role: &str) -> String {
    std::fs::read_to_string(data.join(format!("{role}.token")))
        .expect("token file")
        .trim()
        .to_string()
}
