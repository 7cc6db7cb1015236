//! Hostile roots: hosts whose files and proc tree were shaped by an attacker on the node.
//!
//! Each case builds its root itself (nothing is committed), runs the scanner on it, and asserts
//! the exit code, the finding or message that names the problem, and that nothing outside the
//! root was read: every root sits beside a canary directory whose files hold a marker that must
//! never reach any output. Time and memory ceilings are measured by `scripts/bench-hostile.sh`,
//! not here.

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_nodecheck");

/// What every canary file outside the root holds.
const CANARY: &str = "CANARY-OUTSIDE-THE-ROOT-7f3a";

#[path = "support/scratch.rs"]
mod scratch;

/// A scratch directory holding `root/` (the host) and `outside/` (canaries).
struct Case {
    dir: scratch::Scratch,
}

impl Case {
    fn new(tag: &str) -> Case {
        let dir = scratch::Scratch::new(&format!("hostile-{tag}"));
        let case = Case { dir };
        case.outside("etc/ssh/sshd_config", &format!("Banner {CANARY}\n"));
        case.outside("etc/shadow", &format!("root:{CANARY}:19000:0:99999:7:::\n"));
        case.outside("cmdline", &format!("/usr/sbin/sshd\0-f\0{CANARY}\0"));
        case.outside(
            "status",
            &format!("Name:\t{CANARY}\nPPid:\t1\nUid:\t0\t0\t0\t0\n"),
        );
        case.file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n");
        case.file("etc/group", "root:x:0:\n");
        case.file("etc/os-release", "PRETTY_NAME=\"Hostile Linux\"\n");
        case
    }

    fn root(&self) -> PathBuf {
        self.dir.join("root")
    }

    fn outside_dir(&self) -> PathBuf {
        self.dir.join("outside")
    }

    fn write(base: &Path, rel: &str, content: &[u8]) {
        let path = base.join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, content).expect("write");
    }

    fn file(&self, rel: &str, content: &str) -> &Case {
        Case::write(&self.root(), rel, content.as_bytes());
        self
    }

    fn outside(&self, rel: &str, content: &str) {
        Case::write(&self.outside_dir(), rel, content.as_bytes());
    }

    fn link(&self, rel: &str, target: &str) -> &Case {
        let path = self.root().join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        symlink(target, &path).expect("symlink");
        self
    }

    fn fifo(&self, rel: &str) -> &Case {
        let path = self.root().join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        nix::unistd::mkfifo(&path, nix::sys::stat::Mode::from_bits_truncate(0o644))
            .expect("mkfifo");
        self
    }

    /// Runs `nodecheck` with `args`, killed if it has not finished in `limit`.
    fn run(&self, args: &[&str], limit: Duration) -> Output {
        run_bounded(Command::new(BIN).args(args), limit)
    }

    /// `nodecheck --root ROOT --format json` plus `extra`.
    fn scan_json(&self, extra: &[&str]) -> Output {
        let root = self.root();
        let mut args = vec!["--root", root.to_str().expect("utf-8"), "--format", "json"];
        args.extend_from_slice(extra);
        self.run(&args, Duration::from_secs(30))
    }
}

fn run_bounded(command: &mut Command, limit: Duration) -> Output {
    let mut child = command
        .env_remove("NODE_NAME")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("nodecheck runs");
    let started = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "nodecheck did not finish in {limit:?}; stderr: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Asserts that no output of `out` holds the canary.
fn assert_no_canary(out: &Output) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stdout.contains(CANARY) && !stderr.contains(CANARY),
        "content from outside the root reached the output:\n{stdout}\n{stderr}"
    );
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not a JSON report ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// A directory swapped for a symlink to the outside while the scanner reads through it:
/// resolution in user space followed by an open by path let the kernel follow the new link
/// out of the root. Opens are resolved by the kernel inside the root now.
#[test]
fn a_directory_swapped_for_a_symlink_during_reads_never_leads_outside() {
    let case = Case::new("swap");
    case.file("etc/ssh/sshd_config", "PermitRootLogin no\n");
    let outside_ssh = case.outside_dir().join("etc/ssh");
    symlink(&outside_ssh, case.root().join("etc/ssh-swap")).expect("symlink");
    let host = nodecheck::host::Host::open(&case.root(), None).expect("open root");

    let stop = Arc::new(AtomicBool::new(false));
    let swapper = {
        let stop = stop.clone();
        let etc = case.root().join("etc");
        std::thread::spawn(move || {
            let mut swaps = 0u64;
            while !stop.load(Ordering::Relaxed) {
                nix::fcntl::renameat2(
                    nix::fcntl::AT_FDCWD,
                    &etc.join("ssh"),
                    nix::fcntl::AT_FDCWD,
                    &etc.join("ssh-swap"),
                    nix::fcntl::RenameFlags::RENAME_EXCHANGE,
                )
                .expect("exchange");
                swaps += 1;
            }
            swaps
        })
    };
    let (mut inside, mut outside) = (0u32, 0u32);
    for _ in 0..10_000 {
        match host.read_text("/etc/ssh/sshd_config", 4096) {
            Ok(text) if text.contains(CANARY) => outside += 1,
            Ok(_) => inside += 1,
            Err(_) => {}
        }
    }
    stop.store(true, Ordering::Relaxed);
    let swaps = swapper.join().expect("swapper");
    assert!(swaps > 1000, "the swap raced the reads ({swaps} swaps)");
    assert!(inside > 0, "some reads saw the real directory");
    assert_eq!(outside, 0, "{outside} of 10000 reads left the root");
}

/// A proc tree under a directory root is the root's, resolved inside it: a `cmdline` linked
/// to a file outside, or `proc` itself linked to this machine's `/proc`, shows nothing of the
/// outside.
#[test]
fn the_proc_tree_of_a_directory_root_is_resolved_inside_it() {
    let case = Case::new("proc-links");
    case.file(
        "proc/1/status",
        "Name:\tsystemd\nPPid:\t0\nUid:\t0\t0\t0\t0\n",
    )
    .file("proc/1/cmdline", "/sbin/init\0")
    .file(
        "proc/40/status",
        "Name:\tsshd\nPPid:\t1\nUid:\t0\t0\t0\t0\n",
    )
    .link("proc/40/exe", "/usr/sbin/sshd");
    let outside = case.outside_dir();
    case.link(
        "proc/40/cmdline",
        outside.join("cmdline").to_str().expect("utf-8"),
    );
    case.link(
        "proc/41",
        outside.to_str().expect("utf-8"), // a whole pid directory that is a link outside
    );
    let out = case.scan_json(&[]);
    assert_no_canary(&out);
    json(&out);

    // `proc` itself a link to the live /proc: the fixture's processes are none.
    let case = Case::new("proc-dir-link");
    case.link("proc", "/proc");
    let out = case.scan_json(&["--only", "containers"]);
    assert_no_canary(&out);
    let report = json(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no process is visible"),
        "the live /proc was not used: {stderr}"
    );
    assert!(
        report["inventory"]["containers"]
            .as_array()
            .is_none_or(|c| c.is_empty()),
        "{report}"
    );
}

/// A FIFO where a proc or config file should be would block a reader forever. Only regular
/// files are opened, without blocking, so the scan ends.
#[test]
fn fifos_in_the_proc_tree_and_root_never_block_the_scan() {
    let case = Case::new("fifos");
    case.fifo("proc/1/status")
        .file("proc/2/status", "Name:\tsshd\nPPid:\t1\nUid:\t0\t0\t0\t0\n")
        .fifo("proc/2/cmdline")
        .link("proc/2/exe", "/usr/sbin/sshd")
        .file("proc/3/status", "Name:\tsh\nPPid:\t1\nUid:\t0\t0\t0\t0\n")
        .fifo("proc/1/net/tcp")
        .fifo("proc/sys/kernel/hostname")
        .fifo("etc/ssh/sshd_config")
        .fifo("etc/hostname");
    let out = case.scan_json(&["--node-name", "fifo-node"]);
    assert_no_canary(&out);
    let report = json(&out);
    assert_eq!(report["node"]["name"], "fifo-node");
    // Given as --proc, too.
    let proc = case.root().join("proc");
    let out = case.scan_json(&["--proc", proc.to_str().expect("utf-8")]);
    json(&out);
}

/// `--proc` that is no proc tree at all is a mistake to say, not a scan where every process
/// check quietly becomes not applicable.
#[test]
fn a_proc_that_is_not_a_proc_tree_is_refused() {
    let case = Case::new("bad-proc");
    case.file("proc/1/status", "Name:\tinit\nPPid:\t0\nUid:\t0\t0\t0\t0\n");
    case.file("empty/.keep", "");
    let root = case.root();
    let root = root.to_str().expect("utf-8");
    for (proc, reason) in [
        ("/nonexistent-proc", "No such file"),
        (&*format!("{root}/etc/passwd"), "Not a directory"),
        (
            &*format!("{root}/empty"),
            "neither a procfs nor a copy of one",
        ),
    ] {
        let out = case.run(&["--root", root, "--proc", proc], Duration::from_secs(30));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "--proc {proc}: {stderr}");
        assert!(
            stderr.contains(proc) && stderr.contains(reason),
            "--proc {proc}: {stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    }
    // A proc tree copied into a directory is accepted.
    let proc = format!("{root}/proc");
    let out = case.run(&["--root", root, "--proc", &proc], Duration::from_secs(30));
    assert!(matches!(out.status.code(), Some(0 | 1)), "{out:?}");
}

/// Bytes that drive a terminal: ESC, BEL, the C1 controls as UTF-8, bidirectional overrides.
fn assert_terminal_safe(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let bad = text.chars().find(
        |&c| matches!(c, '\u{0}'..='\u{8}' | '\u{b}'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{202e}'),
    );
    assert_eq!(bad, None, "{what} reached the terminal raw:\n{text}");
}

/// Escape sequences planted in the hostname, os-release, a config file and tar entry names
/// reach the text output and warnings escaped, never raw, with or without colour.
#[test]
fn host_text_cannot_drive_the_terminal() {
    const EVIL: &str = "\u{1b}]0;owned\u{7}\u{1b}[2J\u{9b}31m\u{202e}";
    let case = Case::new("terminal");
    case.file("proc/sys/kernel/hostname", &format!("node{EVIL}\n"))
        .file("etc/os-release", &format!("PRETTY_NAME=\"Linux{EVIL}\"\n"))
        .file(
            "etc/ssh/sshd_config",
            &format!("PermitRootLogin yes{EVIL}\nBogusKeyword{EVIL} yes\n"),
        )
        .file(
            "proc/1/status",
            &format!("Name:\tsshd{EVIL}\nPPid:\t0\nUid:\t0\t0\t0\t0\n"),
        );
    let root = case.root();
    let root = root.to_str().expect("utf-8");
    for extra in [&["--no-color"][..], &["-v"][..]] {
        let mut args = vec!["--root", root];
        args.extend_from_slice(extra);
        let out = case.run(&args, Duration::from_secs(30));
        assert_terminal_safe("stdout", &out.stdout);
        assert_terminal_safe("stderr", &out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains(r"node\x1b]0;owned\x07\x1b[2J\u{9b}31m\u{202e}"),
            "{stdout}"
        );
    }

    // A snapshot whose entry names carry escapes: the warning naming them is escaped.
    let tar = case.dir.join("evil.tar");
    let mut bytes = Vec::new();
    for (name, data) in [
        (format!("../{EVIL}"), "x"),
        ("etc/passwd".into(), "root:x:0:0::/:/bin/sh\n"),
    ] {
        let mut header = tar::Header::new_old();
        header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        header.set_size(data.len() as u64);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        bytes.extend_from_slice(header.as_bytes());
        bytes.extend_from_slice(data.as_bytes());
        bytes.resize(bytes.len().div_ceil(512) * 512, 0);
    }
    bytes.resize(bytes.len() + 1024, 0);
    std::fs::write(&tar, bytes).expect("write tar");
    let out = case.run(
        &["--root", tar.to_str().expect("utf-8")],
        Duration::from_secs(30),
    );
    assert_terminal_safe("stderr", &out.stderr);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(r"snapshot entry refused: ../\x1b]0;owned"),
        "{stderr}"
    );
}

/// A snapshot cut off, empty, or with no `etc/` is no host: exit 2 with the reason, never a
/// clean score for a root with nothing in it.
#[test]
fn truncated_or_empty_snapshots_are_refused() {
    let case = Case::new("tar-truncated");
    let good = case.dir.join("good.tar");
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    let passwd = b"root:x:0:0::/:/bin/sh\n";
    header.set_size(passwd.len() as u64);
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    builder
        .append_data(&mut header, "etc/passwd", &passwd[..])
        .expect("append");
    let bytes = builder.into_inner().expect("tar");
    std::fs::write(&good, &bytes).expect("write");
    let out = case.run(
        &["--root", good.to_str().expect("utf-8")],
        Duration::from_secs(30),
    );
    assert!(matches!(out.status.code(), Some(0 | 1)), "{out:?}");

    let cases: [(&str, &[u8], &str); 4] = [
        ("empty.tar", b"", "truncated"),
        ("cut.tar", &bytes[..bytes.len() - 1024], "truncated"),
        ("mid.tar", &bytes[..700], "truncated"),
        ("zeros.tar", &[0u8; 1024], "nothing under etc/"),
    ];
    for (name, data, reason) in cases {
        let path = case.dir.join(name);
        std::fs::write(&path, data).expect("write");
        let out = case.run(
            &["--root", path.to_str().expect("utf-8")],
            Duration::from_secs(30),
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        assert!(stderr.contains(reason), "{name}: {stderr}");
        assert!(out.stdout.is_empty(), "{name}: no verdict");
    }
}
