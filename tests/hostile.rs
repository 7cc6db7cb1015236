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

#[path = "support/raw_tar.rs"]
mod raw_tar;
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
    // The pipes are drained as the child writes, so a long report cannot block it.
    let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            let stderr = stderr.join().unwrap_or_default();
            panic!(
                "nodecheck did not finish in {limit:?}; stderr: {}",
                String::from_utf8_lossy(&stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
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

/// `nodecheck snapshot` of `case`'s root (or of this machine, `live`) into `node.tar.gz`
/// beside it: the path, every byte of the archive decompressed, and what the command said on
/// stderr.
fn snapshot_of(case: &Case, live: bool) -> (String, Vec<u8>, Vec<u8>) {
    let root = case.root();
    let snap = case.dir.join("node.tar.gz");
    let snap = snap.to_str().expect("utf-8").to_string();
    let mut args = vec!["snapshot", "--output", &snap];
    if !live {
        args.extend(["--root", root.to_str().expect("utf-8")]);
    }
    let out = case.run(&args, Duration::from_secs(60));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut raw = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(std::fs::File::open(&snap).expect("open")),
        &mut raw,
    )
    .expect("gunzip");
    (snap, raw, out.stderr)
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
        match host.read_text(
            "/etc/ssh/sshd_config",
            4096,
            nodecheck::host::Content::Plain,
        ) {
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
        // The hostname in lowercase, as the kubelet names its node.
        assert!(
            stdout.contains(r"node\x1b]0;owned\x07\x1b[2j\u{9b}31m\u{202e}"),
            "{stdout}"
        );
    }

    // A snapshot whose entry names carry escapes: the warning naming them is escaped.
    let tar = case.dir.join("evil.tar");
    let escaping = format!("../{EVIL}");
    let bytes = raw_tar::raw_tar(
        &[
            (escaping.as_str(), b"x"),
            ("etc/passwd", b"root:x:0:0::/:/bin/sh\n"),
        ],
        0o644,
    );
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

/// Secrets of every kind a node holds, each a distinct marker. A snapshot of a node holding
/// them, and every report format and message about that node and about the snapshot, must
/// hold none of them, while the verdicts stay the node's.
#[test]
fn no_secret_leaves_the_node_in_a_snapshot_or_a_report() {
    let secrets: Vec<String> = (1..=28).map(|i| format!("SECRET{i:02}XQ")).collect();
    let s = |i: usize| secrets[i - 1].as_str();
    let pem = |marker: &str| {
        format!("-----BEGIN RSA PRIVATE KEY-----\nMIIEow{marker}\n-----END RSA PRIVATE KEY-----\n")
    };

    // A kubeadm-style control plane: kubelet and etcd as processes, the apiserver as a
    // static pod.
    let case = Case::new("secrets-kubeadm");
    case.file("proc/1/status", "Name:\tsystemd\nPPid:\t0\nUid:\t0\t0\t0\t0\n")
        .link("proc/1/exe", "/usr/lib/systemd/systemd")
        .file("proc/1/cmdline", "/sbin/init\0")
        .file("proc/300/status", "Name:\tkubelet\nPPid:\t1\nUid:\t0\t0\t0\t0\n")
        .link("proc/300/exe", "/usr/bin/kubelet")
        .file(
            "proc/300/cmdline",
            &format!(
                "/usr/bin/kubelet\0--config=/var/lib/kubelet/config.yaml\0--kubeconfig=/etc/kubernetes/kubelet.conf\0--bootstrap-token={}\0",
                s(1)
            ),
        )
        .file("proc/400/status", "Name:\tetcd\nPPid:\t1\nUid:\t0\t0\t0\t0\n")
        .link("proc/400/exe", "/usr/local/bin/etcd")
        .file(
            "proc/400/cmdline",
            &format!(
                "etcd\0--data-dir=/var/lib/etcd\0--initial-cluster-token={}\0--client-cert-auth=true\0",
                s(2)
            ),
        )
        .file(
            "proc/400/environ",
            &format!(
                "ETCD_ROOT_PASSWORD={}\0ETCD_INITIAL_CLUSTER_TOKEN={}\0AWS_SECRET_ACCESS_KEY={}\0ETCD_PEER_AUTO_TLS=false\0DB_PASSWORD={}\0",
                s(3), s(4), s(5), s(6)
            ),
        )
        .file(
            "var/lib/kubelet/config.yaml",
            &format!(
                "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nreadOnlyPort: 0\nstaticPodURLHeader:\n  Authorization:\n  - Bearer {}\n  X-Key:\n  - \"{}\"\nauthentication:\n  anonymous:\n    enabled: false\n",
                s(7), s(8)
            ),
        )
        .file(
            "etc/kubernetes/kubelet.conf",
            &format!(
                "apiVersion: v1\nkind: Config\nusers:\n- name: u\n  user:\n    token: {}\n    client-key-data: {}\n",
                s(9), s(10)
            ),
        )
        .file(
            "etc/kubernetes/manifests/kube-apiserver.yaml",
            &format!(
                "apiVersion: v1\nkind: Pod\nmetadata:\n  name: kube-apiserver\n  annotations:\n    token: {}\nspec:\n  containers:\n  - command:\n    - kube-apiserver\n    - --encryption-provider-config=/etc/kubernetes/enc/enc.yaml\n    - --anonymous-auth=false\n    - --etcd-servers=https://root:{}@127.0.0.1:2379\n    - --token={}\n    env:\n    - name: CLOUD_PASSWORD\n      value: {}\n    image: registry.k8s.io/kube-apiserver:v1.35.0\n    name: kube-apiserver\n",
                s(11), s(12), s(13), s(14)
            ),
        )
        .file(
            "etc/kubernetes/enc/enc.yaml",
            &format!(
                "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n  - resources:\n      - secrets\n    providers:\n      - aescbc:\n          keys:\n            - name: key1\n              secret: {}\n            - name: key2\n              secret: \"{}\"\n      - secretbox:\n          keys:\n            - name: k\n              secret: |\n                {}\n      - identity: {{}}\n# old key: {}\n",
                s(15), s(16), s(17), s(18)
            ),
        )
        .file("etc/kubernetes/pki/apiserver.key", &pem(s(19)))
        .file("etc/kubernetes/pki/sa.key", &format!("{}\0\0", pem(s(20))))
        .file(
            "etc/ssh/sshd_config",
            "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin no\n",
        )
        // A key where a config file is read: dropped whatever its kind.
        .file(
            "etc/ssh/sshd_config.d/10-oops.conf",
            &format!("{}\0trailing", pem(s(21))),
        )
        .file(
            "etc/ssh/ssh_host_ed25519_key",
            &format!("-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blb{}\n-----END OPENSSH PRIVATE KEY-----\n", s(22)),
        );

    // k3s: its token and datastore credentials in its config and on its command line.
    let k3s = Case::new("secrets-k3s");
    k3s.file("proc/1/status", "Name:\tsystemd\nPPid:\t0\nUid:\t0\t0\t0\t0\n")
        .link("proc/1/exe", "/usr/lib/systemd/systemd")
        .file("proc/500/status", "Name:\tk3s-server\nPPid:\t1\nUid:\t0\t0\t0\t0\n")
        .link("proc/500/exe", "/usr/local/bin/k3s")
        .file(
            "proc/500/cmdline",
            &format!(
                "/usr/local/bin/k3s\0server\0--token={}\0--agent-token\0{}\0--datastore-endpoint=postgres://k3s:{}@db:5432/k3s\0",
                s(23), s(24), s(25)
            ),
        )
        .file(
            "etc/rancher/k3s/config.yaml",
            &format!(
                "token: {}\nnode-name: k3s-1\nkubelet-arg:\n  - \"read-only-port=0\"\netcd-s3-secret-key: {}\n",
                s(26), s(27)
            ),
        )
        .file(
            "etc/rancher/k3s/config.yaml.d/10-x.yaml",
            &format!("agent-token: {}\nkubelet-arg: [\"anonymous-auth=false\"]\n", s(28)),
        )
        .file("var/lib/rancher/k3s/server/token", &format!("K10{}\n", s(23)));

    let assert_clean = |what: &str, bytes: &[u8]| {
        let text = String::from_utf8_lossy(bytes);
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "{what} holds {secret}:\n{text}"
            );
        }
    };
    for case in [&case, &k3s] {
        let root = case.root();
        let root = root.to_str().expect("utf-8");
        let (snap, raw, stderr) = snapshot_of(case, false);
        let snap = snap.as_str();
        assert_clean("snapshot stderr", &stderr);
        let mode = std::fs::metadata(snap).expect("snapshot").permissions();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
            0o600
        );
        assert_clean("the snapshot", &raw);

        let mut reports = Vec::new();
        for target in [root, snap] {
            for format in ["text", "json", "sarif", "junit"] {
                let out = case.run(
                    &[
                        "--root",
                        target,
                        "--format",
                        format,
                        "-v",
                        "--node-name",
                        "n",
                    ],
                    Duration::from_secs(30),
                );
                assert_clean(&format!("{format} of {target}"), &out.stdout);
                assert_clean(&format!("stderr of {format} of {target}"), &out.stderr);
                if format == "json" {
                    let mut report = json(&out);
                    for key in ["id", "started_at", "duration_ms"] {
                        report[key] = serde_json::Value::Null;
                    }
                    reports.push(report);
                }
            }
        }
        // The verdicts from the snapshot are the node's.
        assert_eq!(
            statuses(&reports[0]),
            statuses(&reports[1]),
            "{}",
            case.root().display()
        );
    }
}

/// A tar host with exact owners: (path, content, mode, uid), and symlinks as `-> target`.
fn tar_host(path: &Path, entries: &[(&str, &str, u32, u32)]) {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, content, mode, uid) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_mode(*mode);
        header.set_uid(u64::from(*uid));
        header.set_gid(u64::from(*uid));
        header.set_mtime(0);
        if let Some(target) = content.strip_prefix("-> ") {
            header.set_entry_type(tar::EntryType::Symlink);
            header.set_size(0);
            builder
                .append_link(&mut header, name, target)
                .expect("link");
        } else {
            header.set_size(content.len() as u64);
            builder
                .append_data(&mut header, name, content.as_bytes())
                .expect("file");
        }
    }
    std::fs::write(path, builder.into_inner().expect("tar")).expect("write");
}

/// A user's process named `sshd` started with `-f /etc/shadow`, and a user's `kubelet` with a
/// lower pid than the real one and a harmless config in their home: both are ignored and
/// named, the real kubelet (anonymous auth on) is judged, and the shadow file is never read.
#[test]
fn processes_that_only_claim_a_component_name_are_ignored_and_named() {
    let case = Case::new("impostors");
    let shadow = format!("root:$6$CANARY{CANARY}:19000:0:99999:7:::\n");
    let host = case.dir.join("impostors.tar");
    let status = |name: &str, ppid: u32, uid: u32| {
        format!(
            "Name:\t{name}\nPPid:\t{ppid}\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\nGid:\t0\t0\t0\t0\n"
        )
    };
    let s1 = status("systemd", 0, 0);
    let s_fake_sshd = status("sshd", 1, 1000);
    let s_fake_kubelet = status("kubelet", 1, 1000);
    let s_kubelet = status("kubelet", 1, 0);
    tar_host(
        &host,
        &[
            (
                "etc/passwd",
                "root:x:0:0::/root:/bin/sh\nmallory:x:1000:1000::/home/mallory:/bin/sh\n",
                0o644,
                0,
            ),
            ("etc/group", "root:x:0:\n", 0o644, 0),
            ("etc/shadow", &shadow, 0o600, 0),
            ("etc/ssh/sshd_config", "PermitRootLogin no\n", 0o600, 0),
            ("usr/sbin/sshd", "", 0o755, 0),
            ("usr/bin/kubelet", "", 0o755, 0),
            ("home/mallory/sshd", "", 0o755, 1000),
            ("home/mallory/kubelet", "", 0o755, 1000),
            (
                "home/mallory/kubelet.yaml",
                "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nauthentication:\n  anonymous:\n    enabled: false\nauthorization:\n  mode: Webhook\n",
                0o644,
                1000,
            ),
            (
                "var/lib/kubelet/config.yaml",
                "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nauthentication:\n  anonymous:\n    enabled: true\nauthorization:\n  mode: AlwaysAllow\n",
                0o644,
                0,
            ),
            ("proc/1/status", &s1, 0o444, 0),
            ("proc/1/exe", "-> /usr/lib/systemd/systemd", 0o777, 0),
            ("proc/4242/status", &s_fake_sshd, 0o444, 0),
            (
                "proc/4242/cmdline",
                "/home/mallory/sshd\0-D\0-f\0/etc/shadow\0",
                0o444,
                0,
            ),
            ("proc/4242/exe", "-> /home/mallory/sshd", 0o777, 0),
            ("proc/500/status", &s_fake_kubelet, 0o444, 0),
            (
                "proc/500/cmdline",
                "/home/mallory/kubelet\0--config=/home/mallory/kubelet.yaml\0",
                0o444,
                0,
            ),
            ("proc/500/exe", "-> /home/mallory/kubelet", 0o777, 0),
            ("proc/900/status", &s_kubelet, 0o444, 0),
            (
                "proc/900/cmdline",
                "/usr/bin/kubelet\0--config=/var/lib/kubelet/config.yaml\0",
                0o444,
                0,
            ),
            ("proc/900/exe", "-> /usr/bin/kubelet", 0o777, 0),
        ],
    );
    let host = host.to_str().expect("utf-8");
    for format in ["json", "text"] {
        let out = case.run(
            &["--root", host, "--format", format, "-v"],
            Duration::from_secs(30),
        );
        assert_no_canary(&out);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("ignored pid 4242 named sshd: uid 1000 (mallory), not root"),
            "{text}"
        );
        assert!(
            text.contains("ignored pid 500 named kubelet: uid 1000 (mallory), not root; its executable /home/mallory/kubelet is owned by uid 1000 (mallory)"),
            "{text}"
        );
        assert!(
            !text.contains("/home/mallory/kubelet.yaml"),
            "the user's config is never read"
        );
        if format == "json" {
            let report = json(&out);
            let finding = |id: &str| {
                report["findings"]
                    .as_array()
                    .and_then(|f| f.iter().find(|f| f["id"] == id))
                    .cloned()
                    .unwrap_or_else(|| panic!("{id} in {report}"))
            };
            // The real kubelet, with anonymous auth on, is the one judged.
            assert_eq!(finding("kubelet.anonymous-auth")["status"], "fail");
            assert!(
                finding("kubelet.anonymous-auth")["evidence"]
                    .to_string()
                    .contains("/var/lib/kubelet/config.yaml")
            );
            // sshd runs nowhere: the config on disk is judged, never the user's -f.
            assert_eq!(finding("sshd.permit-root-login")["status"], "pass");
        }
    }
}

/// Whether a test that needs a real program may skip without it.
fn skip(reason: &str) -> bool {
    if std::env::var_os("NODECHECK_REQUIRE_TOOLS").is_some_and(|v| v == "1") {
        panic!("{reason} (NODECHECK_REQUIRE_TOOLS=1)");
    }
    eprintln!("SKIPPED: {reason}");
    true
}

/// Processes of this test, killed by pid when it ends.
struct Started(Vec<std::process::Child>);

impl Drop for Started {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Real processes on this machine: a throwaway user runs a program named `sshd` with
/// `-f <root-only canary>` and one named `kubelet` with a config of its own. The live scan
/// ignores both and names them, and no byte of the canary reaches a report or a snapshot.
/// (This machine's pid 1 is not systemd and it runs no container runtime, so the parent rules
/// are proven on fixture trees; this proves the owner and executable rules on real /proc.)
#[test]
fn live_user_processes_named_like_components_are_ignored() {
    const UID: &str = "64123";
    let python = Path::new("/usr/bin/python3.11");
    let is_root = std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"))
    });
    if !is_root && skip("needs root to start processes as a throwaway uid") {
        return;
    }
    if (!python.exists() || !Path::new("/usr/bin/setpriv").exists())
        && skip("needs /usr/bin/python3.11 and setpriv")
    {
        return;
    }
    let case = Case::new("live-impostors");
    let dir = case.dir.join("mallory");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let chown = |p: &Path| {
        std::os::unix::fs::chown(p, Some(64123), Some(64123)).expect("chown");
    };
    for name in ["sshd", "kubelet"] {
        let fake = dir.join(name);
        std::fs::copy(python, &fake).expect("copy python");
        chown(&fake);
    }
    let shadow = case.dir.join("shadow");
    std::fs::write(&shadow, format!("root:$6${CANARY}:19000::::::\n")).expect("canary");
    std::fs::set_permissions(&shadow, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .expect("chmod");
    let config = dir.join("kubelet.yaml");
    std::fs::write(&config, format!("kind: KubeletConfiguration\n# {CANARY}\n")).expect("config");
    chown(&config);
    for d in [case.dir.as_ref(), dir.as_path()] {
        std::fs::set_permissions(d, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("chmod");
    }
    let start = |fake: &str, args: &[&str]| {
        Command::new("/usr/bin/setpriv")
            .args([
                &format!("--reuid={UID}"),
                &format!("--regid={UID}"),
                "--clear-groups",
            ])
            .arg(dir.join(fake))
            .args(["-c", "import time; time.sleep(60)"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start a fake")
    };
    let shadow_arg = shadow.to_str().expect("utf-8");
    let config_arg = format!("--config={}", config.display());
    let started = Started(vec![
        start("sshd", &["-D", "-f", shadow_arg]),
        start("kubelet", &[&config_arg]),
    ]);
    let pids: Vec<u32> = started.0.iter().map(|c| c.id()).collect();
    // setpriv execs the fake in place: the pid is the fake's once its comm says so.
    let deadline = Instant::now() + Duration::from_secs(10);
    for (pid, name) in pids.iter().zip(["sshd", "kubelet"]) {
        while std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .map(|c| c.trim().to_string())
            .ok()
            .as_deref()
            != Some(name)
        {
            assert!(Instant::now() < deadline, "pid {pid} never became {name}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    let out = case.run(
        &[
            "--only",
            "sshd,kubelet",
            "--format",
            "json",
            "-v",
            "--node-name",
            "live",
        ],
        Duration::from_secs(30),
    );
    assert_no_canary(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    for (pid, name) in pids.iter().zip(["sshd", "kubelet"]) {
        let expected = format!("ignored pid {pid} named {name}: uid {UID}");
        assert!(text.contains(&expected), "{expected} in\n{text}");
    }
    assert!(
        !text.contains(&config_arg),
        "the fake kubelet's config is never a source"
    );
    let (_, raw, _) = snapshot_of(&case, true);
    assert!(
        !String::from_utf8_lossy(&raw).contains(CANARY),
        "the canary is in the snapshot"
    );
    drop(started);
}

/// Statuses of every finding of a JSON report.
fn statuses(report: &serde_json::Value) -> Vec<(String, String)> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["id"].as_str().unwrap_or_default().into(),
                f["status"].as_str().unwrap_or_default().into(),
            )
        })
        .collect()
}

/// Cases where cutting secrets out once changed a verdict (found by red-teaming): the snapshot
/// of each gives exactly the verdicts of the directory it was taken from.
#[test]
fn snapshots_give_the_verdicts_of_the_node() {
    let process = |case: &Case, pid: u32, name: &str, exe: &str, argv: &[&str]| {
        case.file(
            &format!("proc/{pid}/status"),
            &format!("Name:\t{name}\nPPid:\t1\nUid:\t0\t0\t0\t0\n"),
        )
        .file(&format!("proc/{pid}/cmdline"), &(argv.join("\0") + "\0"))
        .link(&format!("proc/{pid}/exe"), exe)
        .file(exe.trim_start_matches('/'), "");
    };
    let mut cases = Vec::new();

    // etcd peers named only in ETCD_INITIAL_CLUSTER (peer-tls reads it), no peer TLS.
    let case = Case::new("fidelity-etcd");
    process(
        &case,
        400,
        "etcd",
        "/usr/local/bin/etcd",
        &["etcd", "--data-dir=/var/lib/etcd"],
    );
    case.file(
        "proc/400/environ",
        "ETCD_INITIAL_CLUSTER=a=https://10.0.0.1:2380,b=https://10.0.0.2:2380\0ETCD_ROOT_PASSWORD=SECRETF1\0",
    );
    cases.push((case, "etcd.peer-tls"));

    // A manifest with `args` only, the first one carrying URL credentials.
    let case = Case::new("fidelity-args");
    case.file(
        "etc/kubernetes/manifests/kube-apiserver.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: kube-apiserver\nspec:\n  containers:\n  - name: kube-apiserver\n    image: x\n    args:\n    - --etcd-servers=https://u:SECRETF2@10.0.0.5:2379\n    - --token-auth-file=/etc/t.csv\n",
    );
    cases.push((case, "apiserver.token-auth-file"));

    // sshd_config is a FIFO.
    let case = Case::new("fidelity-fifo");
    process(
        &case,
        40,
        "sshd",
        "/usr/sbin/sshd",
        &["/usr/sbin/sshd", "-D"],
    );
    case.fifo("etc/ssh/sshd_config");
    cases.push((case, "sshd.permit-empty-passwords"));

    // A k3s binary larger than anything a snapshot holds whole, its version at the end.
    let case = Case::new("fidelity-k3s");
    process(
        &case,
        500,
        "k3s-server",
        "/usr/local/bin/k3s",
        &["/usr/local/bin/k3s", "server"],
    );
    let mut binary = b"\x7fELF".to_vec();
    binary.resize(20 * 1024 * 1024, 0);
    binary.extend_from_slice(b" v1.32.5+k3s1 \0");
    std::fs::write(case.root().join("usr/local/bin/k3s"), binary).expect("k3s");
    case.file(
        "etc/rancher/k3s/config.yaml",
        "node-name: n1\ntoken: SECRETF4\n",
    )
    .file("var/lib/rancher/k3s/agent/etc/kubelet.conf.d/.keep", "");
    cases.push((case, "kubelet.read-only-port"));

    // sshd options whose names say "password" are settings.
    let case = Case::new("fidelity-sshd-o");
    process(
        &case,
        40,
        "sshd",
        "/usr/sbin/sshd",
        &[
            "/usr/sbin/sshd",
            "-D",
            "-oPasswordAuthentication=no",
            "-f",
            "/proc/1/environ",
        ],
    );
    case.file(
        "proc/1/status",
        "Name:\tsystemd\nPPid:\t0\nUid:\t0\t0\t0\t0\n",
    )
    .file("proc/1/environ", "AWS_SECRET_ACCESS_KEY=SECRETF5\0")
    .file("etc/ssh/sshd_config", "PermitRootLogin no\n");
    cases.push((case, "sshd.password-authentication"));

    for (case, id) in &cases {
        let root = case.root();
        let root = root.to_str().expect("utf-8");
        let (snap, raw, _) = snapshot_of(case, false);
        let snap = snap.as_str();
        assert!(
            raw.len() < 1024 * 1024,
            "{id}: the snapshot holds {} bytes",
            raw.len()
        );
        assert!(
            !String::from_utf8_lossy(&raw).contains("SECRETF"),
            "{id}: a secret in the snapshot"
        );
        let live = json(&case.run(
            &["--root", root, "--format", "json"],
            Duration::from_secs(30),
        ));
        let again = json(&case.run(
            &["--root", snap, "--format", "json"],
            Duration::from_secs(30),
        ));
        let differ: Vec<_> = statuses(&live)
            .into_iter()
            .zip(statuses(&again))
            .filter(|(a, b)| a != b)
            .collect();
        assert!(differ.is_empty(), "{id}: directory vs snapshot {differ:?}");
        assert!(
            !again.to_string().contains("SECRETF"),
            "{id}: a secret in the report"
        );
    }
}

/// A hostile root that must not exhaust the scanner: built under `base`, scanned with `args`
/// (after `--root ROOT --format json`), and judged by `check`.
struct BudgetCase {
    name: &'static str,
    root: PathBuf,
    args: Vec<&'static str>,
    check: fn(&Output, &str),
}

/// The case's check ended in error with a finding that says `says`: the budget stopped it,
/// and the report says which.
fn judged_as_error(out: &Output, name: &str, check: &str, says: &str) {
    let f = finding(out, check);
    assert_eq!(f["status"], "error", "{name}: {f}");
    assert!(f.to_string().contains(says), "{name}: {f}");
}

fn write(base: &Path, rel: &str, content: &[u8]) {
    let path = base.join(rel);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, content).expect("write");
}

/// A root with passwd, group, pid 1 and, when given, a kubelet run with `kubelet_args`.
fn budget_root(base: &Path, name: &str, kubelet_args: Option<&str>) -> PathBuf {
    let root = base.join(name);
    let _ = std::fs::remove_dir_all(&root);
    write(&root, "etc/passwd", b"root:x:0:0::/root:/bin/sh\n");
    write(&root, "etc/group", b"root:x:0:\n");
    write(
        &root,
        "proc/1/status",
        b"Name:\tsystemd\nPPid:\t0\nUid:\t0\t0\t0\t0\n",
    );
    if let Some(args) = kubelet_args {
        write(&root, "usr/bin/kubelet", b"");
        write(
            &root,
            "proc/300/status",
            b"Name:\tkubelet\nPPid:\t1\nUid:\t0\t0\t0\t0\n",
        );
        write(
            &root,
            "proc/300/cmdline",
            format!("/usr/bin/kubelet\0{args}\0").as_bytes(),
        );
        symlink("/usr/bin/kubelet", root.join("proc/300/exe")).expect("exe");
    }
    root
}

fn finding(out: &Output, id: &str) -> serde_json::Value {
    let report = json(out);
    report["findings"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["id"] == id))
        .cloned()
        .unwrap_or_else(|| panic!("no {id} in the report"))
}

/// Every hostile case of the budgets, built under `base`. `scripts/bench-hostile.sh` times
/// the same roots (through the ignored `write_hostile_roots` test).
fn budget_cases(base: &Path) -> Vec<BudgetCase> {
    let mut cases = Vec::new();

    // sshd Include fanned out through symlinks to one 1 MiB file, itself including 60 more.
    let root = budget_root(base, "include-fanout", None);
    write(&root, "etc/ssh/sshd_config", b"Include /etc/ssh/a/*.conf\n");
    let mut big = b"Include /etc/ssh/b/*.conf\n".to_vec();
    big.extend(b"Port 22\n".repeat(120_000));
    write(&root, "etc/ssh/big.conf", &big);
    write(&root, "etc/ssh/leaf.conf", &b"Port 22\n".repeat(120_000));
    for i in 0..60 {
        write(&root, &format!("etc/ssh/a/.keep{i}"), b"");
        symlink(
            "/etc/ssh/big.conf",
            root.join(format!("etc/ssh/a/{i:03}.conf")),
        )
        .expect("link");
        std::fs::create_dir_all(root.join("etc/ssh/b")).expect("mkdir");
        symlink(
            "/etc/ssh/leaf.conf",
            root.join(format!("etc/ssh/b/{i:03}.conf")),
        )
        .expect("link");
    }
    cases.push(BudgetCase {
        name: "include-fanout",
        root,
        args: vec![],
        check: |out, name| {
            let f = finding(out, "sshd.permit-root-login");
            assert_eq!(f["status"], "error", "{name}: {f}");
            assert!(
                f["message"].to_string().contains("stopped reading"),
                "{name}: {f}"
            );
        },
    });

    // A glob through symlinks back to its own directory: 8 links, 6 levels.
    let root = budget_root(base, "include-glob-loop", None);
    write(
        &root,
        "etc/ssh/sshd_config",
        b"Include /etc/ssh/a/*/*/*/*/*/*\nPermitRootLogin no\n",
    );
    std::fs::create_dir_all(root.join("etc/ssh/a")).expect("mkdir");
    for i in 0..8 {
        symlink("/etc/ssh/a", root.join(format!("etc/ssh/a/l{i}"))).expect("link");
    }
    cases.push(BudgetCase {
        name: "include-glob-loop",
        root,
        args: vec![],
        check: |out, name| {
            judged_as_error(
                out,
                name,
                "sshd.permit-root-login",
                "the glob looked at more than 4096 paths",
            )
        },
    });

    // A kubelet --config-dir holding three links to itself and nothing else.
    let root = budget_root(base, "configdir-loop", Some("--config-dir=/etc/kubelet.d"));
    std::fs::create_dir_all(root.join("etc/kubelet.d")).expect("mkdir");
    for name in ["a", "b", "c"] {
        symlink(".", root.join(format!("etc/kubelet.d/{name}"))).expect("link");
    }
    cases.push(BudgetCase {
        name: "configdir-loop",
        root,
        args: vec![],
        check: |out, name| {
            // Judged (the links are no drop-ins), not stopped.
            let f = finding(out, "kubelet.read-only-port");
            assert_ne!(f["status"], "error", "{name}: {f}");
        },
    });

    // 99,000 keys in a kubelet config; a drop-in setting 50,000 feature gates to null.
    let root = budget_root(
        base,
        "kubelet-keys",
        Some("--config=/var/lib/kubelet/config.yaml\0--config-dir=/etc/kubelet.d"),
    );
    let mut config =
        b"apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nreadOnlyPort: 0\nfeatureGates:\n".to_vec();
    for i in 0..50_000 {
        config.extend(format!("  G{i}: true\n").as_bytes());
    }
    for i in 0..49_000 {
        config.extend(format!("k{i}: {i}\n").as_bytes());
    }
    write(&root, "var/lib/kubelet/config.yaml", &config);
    let mut nulls =
        b"apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nfeatureGates:\n"
            .to_vec();
    for i in 0..50_000 {
        nulls.extend(format!("  G{i}: null\n").as_bytes());
    }
    write(&root, "etc/kubelet.d/10.conf", &nulls);
    cases.push(BudgetCase {
        name: "kubelet-keys",
        root,
        args: vec![],
        check: |out, name| {
            let f = finding(out, "kubelet.read-only-port");
            assert_eq!(f["status"], "pass", "{name}: {f}");
        },
    });

    // 16,000 unknown sshd keywords: problems listed once, capped, no copy per finding.
    let root = budget_root(base, "sshd-unknown", None);
    let mut config = Vec::new();
    for i in 0..16_000 {
        config.extend(format!("Bogus{i}Keyword yes\n").as_bytes());
    }
    write(&root, "etc/ssh/sshd_config", &config);
    cases.push(BudgetCase {
        name: "sshd-unknown",
        root,
        args: vec![],
        check: |out, name| {
            assert!(
                out.stdout.len() < 1024 * 1024,
                "{name}: report of {} bytes",
                out.stdout.len()
            );
            let f = finding(out, "sshd.permit-root-login");
            assert!(
                f["message"]
                    .to_string()
                    .contains("(and 15999 more problems)"),
                "{name}: {f}"
            );
        },
    });

    // 100,000 listeners on one socket held by 1,000 processes.
    let root = budget_root(base, "listeners", None);
    let mut table = b"  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n".to_vec();
    for i in 0..100_000u32 {
        table.extend(
            format!(
                "{i:4}: 00000000:{:04X} 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5001 1 0 100 0 0 10 0\n",
                1024 + i % 60_000
            )
            .as_bytes(),
        );
    }
    write(&root, "proc/1/net/tcp", &table);
    for pid in 2000..3000 {
        write(
            &root,
            &format!("proc/{pid}/status"),
            b"Name:\tholder\nPPid:\t1\nUid:\t0\t0\t0\t0\n",
        );
        std::fs::create_dir_all(root.join(format!("proc/{pid}/fd"))).expect("mkdir");
        symlink("socket:[5001]", root.join(format!("proc/{pid}/fd/3"))).expect("fd");
    }
    cases.push(BudgetCase {
        name: "listeners",
        root,
        args: vec![],
        check: |out, name| {
            assert!(
                out.stdout.len() < 8 * 1024 * 1024,
                "{name}: report of {} bytes",
                out.stdout.len()
            );
            let report = json(out);
            let listed = report["inventory"]["listeners"]
                .as_array()
                .map_or(0, Vec::len);
            assert_eq!(listed, 4096, "{name}");
            let f = finding(out, "ports.unexpected-listener");
            assert_eq!(f["status"], "fail", "{name}");
            assert!(
                f.to_string().contains("and 992 more"),
                "{name}: owners counted"
            );
            assert!(
                f["evidence"].as_array().is_some_and(|e| e.len() <= 200),
                "{name}"
            );
        },
    });

    // More proc content than a scan may read: 80 processes with 1 MiB status files.
    let root = budget_root(base, "read-budget", None);
    let mut status = b"Name:\tbig\nPPid:\t1\nUid:\t0\t0\t0\t0\n".to_vec();
    status.resize(1024 * 1024 - 1, b'#');
    status.push(b'\n');
    for pid in 100..180 {
        write(&root, &format!("proc/{pid}/status"), &status);
    }
    write(&root, "etc/ssh/sshd_config", b"PermitRootLogin no\n");
    cases.push(BudgetCase {
        name: "read-budget",
        root,
        args: vec![],
        check: |out, name| {
            let f = finding(out, "sshd.permit-root-login");
            assert_eq!(f["status"], "error", "{name}: {f}");
            assert!(
                f.to_string().contains("read budget of 64 MiB ran out"),
                "{name}: {f}"
            );
        },
    });

    // A deadline already gone: nothing is judged, everything says why, exit 2.
    let root = budget_root(base, "deadline", None);
    write(&root, "etc/ssh/sshd_config", b"PermitRootLogin no\n");
    cases.push(BudgetCase {
        name: "deadline",
        root,
        args: vec!["--timeout", "1ms"],
        check: |out, name| {
            assert_eq!(out.status.code(), Some(2), "{name}");
            let report = json(out);
            // What was read before the deadline may fail; nothing passes, nothing is "not
            // applicable" on what was not read.
            let statuses = statuses(&report);
            assert!(
                statuses.iter().all(|(_, s)| s == "error" || s == "fail"),
                "{name}: {statuses:?}"
            );
            assert!(
                report.to_string().contains("(--timeout 1ms) passed"),
                "{name}"
            );
        },
    });

    // A snapshot of 300,000 empty entries.
    let tar = base.join("tar-entries.tar");
    let mut bytes = Vec::with_capacity(300_000 * 512);
    for i in 0..300_000u32 {
        let mut header = tar::Header::new_old();
        let name = format!("etc/e{i}");
        header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        header.set_size(0);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        bytes.extend_from_slice(header.as_bytes());
    }
    bytes.resize(bytes.len() + 1024, 0);
    std::fs::write(&tar, bytes).expect("tar");
    cases.push(BudgetCase {
        name: "tar-entries",
        root: tar,
        args: vec![],
        check: |out, name| {
            assert_eq!(out.status.code(), Some(2), "{name}");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                stderr.contains("more than 100000 entries"),
                "{name}: {stderr}"
            );
        },
    });
    // A FIFO's header claiming 200 MiB of payload that the reader would have to skip.
    let tar = base.join("tar-payload.tar");
    let mut header = tar::Header::new_old();
    header.as_old_mut().name[..8].copy_from_slice(b"etc/fifo");
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header.set_size(200 * 1024 * 1024);
    header.set_entry_type(tar::EntryType::Fifo);
    header.set_cksum();
    let file = std::fs::File::create(&tar).expect("tar");
    std::io::Write::write_all(&mut &file, header.as_bytes()).expect("header");
    file.set_len(512 + 200 * 1024 * 1024 + 1024)
        .expect("sparse payload");
    cases.push(BudgetCase {
        name: "tar-payload",
        root: tar,
        args: vec![],
        check: |out, name| {
            assert_eq!(out.status.code(), Some(2), "{name}");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                stderr.contains("bytes of headers, long names and non-file payload"),
                "{name}: {stderr}"
            );
        },
    });

    // 250 processes claiming to be the kubelet, their parent named with half a megabyte.
    let root = budget_root(base, "impostor-flood", None);
    let mut parent = b"Name:\t".to_vec();
    parent.extend(vec![b'X'; 500_000]);
    parent.extend(b"\nPPid:\t1\nUid:\t1000\t1000\t1000\t1000\n");
    write(&root, "proc/50/status", &parent);
    for pid in 100..350 {
        write(
            &root,
            &format!("proc/{pid}/status"),
            b"Name:\tkubelet\nPPid:\t50\nUid:\t0\t0\t0\t0\n",
        );
    }
    cases.push(BudgetCase {
        name: "impostor-flood",
        root,
        args: vec![],
        check: |out, name| {
            assert!(
                out.stdout.len() < 2 * 1024 * 1024,
                "{name}: report of {} bytes",
                out.stdout.len()
            );
            let f = finding(out, "kubelet.anonymous-auth");
            assert!(
                f.to_string().contains("234 more processes ignored"),
                "{name}: {f}"
            );
        },
    });

    // Cgroup files of half a million lines (2 bytes read, a string held, per line).
    let root = budget_root(base, "cgroup-lines", None);
    let lines = b"a\n".repeat(524_287);
    for pid in 100..160 {
        write(
            &root,
            &format!("proc/{pid}/status"),
            b"Name:\tbash\nPPid:\t1\nUid:\t0\t0\t0\t0\n",
        );
        write(&root, &format!("proc/{pid}/cgroup"), &lines);
    }
    cases.push(BudgetCase {
        name: "cgroup-lines",
        root,
        args: vec![],
        check: |out, name| {
            judged_as_error(
                out,
                name,
                "containers.root-user",
                "a cgroup file of more than 64 lines",
            )
        },
    });

    // A process table larger than any node's.
    let root = budget_root(base, "processes", None);
    for pid in 2..=70_000 {
        write(
            &root,
            &format!("proc/{pid}/status"),
            b"Name:\tsleep\nPPid:\t1\nUid:\t0\t0\t0\t0\n",
        );
    }
    cases.push(BudgetCase {
        name: "processes",
        root,
        args: vec![],
        check: |out, name| {
            let f = finding(out, "sshd.permit-root-login");
            assert_eq!(f["status"], "error", "{name}: {f}");
            assert!(f.to_string().contains("more than 65536"), "{name}: {f}");
        },
    });

    // FIFOs where proc files and configs should be.
    let root = budget_root(base, "fifos", None);
    for fifo in [
        "proc/2/status",
        "proc/1/net/tcp",
        "proc/sys/kernel/hostname",
        "etc/ssh/sshd_config",
        "etc/os-release",
    ] {
        let path = root.join(fifo);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        nix::unistd::mkfifo(&path, nix::sys::stat::Mode::from_bits_truncate(0o644))
            .expect("mkfifo");
    }
    cases.push(BudgetCase {
        name: "fifos",
        root,
        args: vec![],
        check: |out, name| {
            let f = finding(out, "sshd.permit-root-login");
            assert_eq!(f["status"], "error", "{name}: {f}");
            assert!(f.to_string().contains("not a regular file"), "{name}: {f}");
        },
    });
    cases
}

/// Each hostile root ends within its budgets with the finding or message that names what ran
/// out, never a hang, an abort or a pass on what was not read. (Time and memory are measured
/// by `scripts/bench-hostile.sh`.)
#[test]
fn hostile_roots_stay_within_their_budgets() {
    let case = Case::new("budgets");
    for budget in budget_cases(&case.dir) {
        let root = budget.root.to_str().expect("utf-8");
        let mut args = vec!["--root", root, "--format", "json"];
        args.extend(&budget.args);
        let out = case.run(&args, Duration::from_secs(120));
        (budget.check)(&out, budget.name);
    }
}

/// Writes the hostile roots into `$NODECHECK_HOSTILE_DIR` for `scripts/bench-hostile.sh`.
#[test]
#[ignore = "run by scripts/bench-hostile.sh"]
fn write_hostile_roots() {
    let dir = std::env::var_os("NODECHECK_HOSTILE_DIR").expect("NODECHECK_HOSTILE_DIR");
    let dir = PathBuf::from(dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    let mut list = String::new();
    for budget in budget_cases(&dir) {
        list.push_str(&format!(
            "{}\t{}\t{}\n",
            budget.name,
            budget.root.display(),
            budget.args.join(" ")
        ));
    }
    std::fs::write(dir.join("cases.tsv"), list).expect("list");
}
