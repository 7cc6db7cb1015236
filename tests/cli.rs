//! End-to-end tests of the `nodecheck` binary: fixture hosts as tar snapshots (so modes and
//! owners are exact whoever runs the test), every output format, exit codes, snapshots, and
//! bad input that must give a clear error and never a crash or a wrong pass.

use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_nodecheck");

#[path = "support/raw_tar.rs"]
mod raw_tar;
#[path = "support/scratch.rs"]
mod scratch;

/// An empty scratch directory, removed when the test ends.
fn temp_dir(tag: &str) -> scratch::Scratch {
    scratch::Scratch::new(&format!("cli-{tag}"))
}

/// One entry of a fixture host.
enum Entry<'a> {
    File(&'a str, &'a [u8], u32, u32, u32),
    Link(&'a str, &'a str),
}

fn tar_gz(path: &Path, entries: &[Entry<'_>]) {
    let file = std::fs::File::create(path).expect("create");
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
    let mut builder = tar::Builder::new(gz);
    for entry in entries {
        let mut header = tar::Header::new_gnu();
        header.set_mtime(0);
        match entry {
            Entry::File(name, data, mode, uid, gid) => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_mode(*mode);
                header.set_uid(u64::from(*uid));
                header.set_gid(u64::from(*gid));
                header.set_size(data.len() as u64);
                builder
                    .append_data(&mut header, name, *data)
                    .expect("append");
            }
            Entry::Link(name, target) => {
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_mode(0o777);
                header.set_uid(0);
                header.set_gid(0);
                header.set_size(0);
                builder
                    .append_link(&mut header, name, target)
                    .expect("link");
            }
        }
    }
    builder
        .into_inner()
        .expect("finish tar")
        .finish()
        .expect("finish gz")
        .flush()
        .expect("flush");
}

const PASSWD: &[u8] =
    b"root:x:0:0:root:/root:/bin/bash\nadmin:x:1000:1000::/home/admin:/bin/bash\n";
const GROUP: &[u8] = b"root:x:0:\nssh_keys:x:996:\nadmin:x:1000:\n";

/// A hardened-but-not-quite Debian-like node: a kubelet runs, sshd listens on 0.0.0.0:22 with
/// `-o MaxAuthTries=3` on its command line, cloud-init turned passwords on in a drop-in.
fn worker_host(dir: &Path, sshd_config: &[u8]) -> PathBuf {
    let path = dir.join("worker.tar.gz");
    tar_gz(
        &path,
        &[
            Entry::File("etc/passwd", PASSWD, 0o644, 0, 0),
            Entry::File("etc/group", GROUP, 0o644, 0, 0),
            Entry::File("etc/os-release", b"PRETTY_NAME=\"Fixture Linux 1\"\n", 0o644, 0, 0),
            Entry::File("etc/ssh/sshd_config", sshd_config, 0o600, 0, 0),
            Entry::File(
                "etc/ssh/sshd_config.d/50-cloud-init.conf",
                b"PasswordAuthentication yes\n",
                0o644,
                0,
                0,
            ),
            Entry::File("etc/ssh/ssh_host_ed25519_key", b"", 0o640, 0, 996),
            Entry::File("etc/ssh/ssh_host_ed25519_key.pub", b"ssh-ed25519 AAAA", 0o644, 0, 0),
            Entry::File(
                "usr/sbin/sshd",
                b"\x7fELF\0junk\0OpenSSH_9.2p1 Debian-2+deb12u6\0",
                0o755,
                0,
                0,
            ),
            Entry::File("proc/sys/kernel/hostname", b"worker-1\n", 0o444, 0, 0),
            Entry::File("proc/sys/kernel/osrelease", b"6.1.0-fixture\n", 0o444, 0, 0),
            Entry::File(
                "proc/100/status",
                b"Name:\tsshd\nPPid:\t1\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n",
                0o444,
                0,
                0,
            ),
            Entry::File(
                "proc/100/cmdline",
                b"sshd: /usr/sbin/sshd -D -o MaxAuthTries=3 [listener] 0 of 10-100 startups\0",
                0o444,
                0,
                0,
            ),
            Entry::Link("proc/100/exe", "/usr/sbin/sshd"),
            Entry::Link("proc/100/fd/3", "socket:[5001]"),
            Entry::File(
                "proc/200/status",
                b"Name:\tkubelet\nPPid:\t1\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n",
                0o444,
                0,
                0,
            ),
            Entry::File("proc/200/cmdline", b"/usr/bin/kubelet\0--config=/var/lib/kubelet/config.yaml\0", 0o444, 0, 0),
            Entry::Link("proc/200/exe", "/usr/bin/kubelet"),
            Entry::File(
                "proc/1/net/tcp",
                b"  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5001 1 0 100 0 0 10 0\n",
                0o444,
                0,
                0,
            ),
        ],
    );
    path
}

const MAIN_CONFIG: &[u8] = b"Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin no\nKbdInteractiveAuthentication no\nX11Forwarding no\nUsePAM yes\n";

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("NODE_NAME")
        .env_remove("NODECHECK_CLUSTER")
        .env("NO_COLOR", "1")
        .output()
        .expect("run nodecheck")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn finding<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["findings"]
        .as_array()
        .and_then(|f| f.iter().find(|x| x["id"] == id))
        .unwrap_or_else(|| panic!("finding {id} in {report}"))
}

fn json_scan(root: &Path, extra: &[&str]) -> (Value, i32) {
    let root = root.display().to_string();
    let mut args = vec!["scan", "--root", &root, "--format", "json"];
    args.extend_from_slice(extra);
    let out = run(&args);
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("json ({e}): {}\n{}", stdout(&out), stderr(&out)));
    (report, out.status.code().unwrap_or(-1))
}

#[test]
fn worker_snapshot_verdicts_and_provenance() {
    let dir = temp_dir("worker");
    let root = worker_host(&dir, MAIN_CONFIG);
    let (report, code) = json_scan(&root, &[]);
    assert_eq!(code, 1, "a high failure fails the verdict");
    assert_eq!(report["schema"], "nodecheck.report/v1");
    assert_eq!(report["node"]["name"], "worker-1");
    assert_eq!(report["node"]["roles"], serde_json::json!(["worker"]));
    assert_eq!(report["node"]["os"], "Fixture Linux 1");
    // The drop-in wins over the main file (Include comes first), and says where.
    let pa = finding(&report, "sshd.password-authentication");
    assert_eq!(pa["status"], "fail");
    assert_eq!(
        pa["evidence"][0]["source"]["path"],
        "/etc/ssh/sshd_config.d/50-cloud-init.conf"
    );
    assert_eq!(pa["evidence"][0]["source"]["line"], 1);
    // The daemon's own -o option counts, and is named.
    let mat = finding(&report, "sshd.max-auth-tries");
    assert_eq!(mat["status"], "pass");
    assert_eq!(mat["evidence"][0]["source"]["kind"], "flag");
    assert_eq!(mat["evidence"][0]["source"]["pid"], 100);
    // 0644 drop-in fails the config permissions; a 0640 root:ssh_keys key passes.
    assert_eq!(
        finding(&report, "sshd.config-permissions")["status"],
        "fail"
    );
    assert_eq!(
        finding(&report, "sshd.host-key-permissions")["status"],
        "pass"
    );
    // A worker's sshd on the wildcard address is exposed.
    let exposure = finding(&report, "sshd.exposure");
    assert_eq!(exposure["status"], "fail");
    assert!(
        exposure["message"]
            .as_str()
            .unwrap_or_default()
            .contains("0.0.0.0:22")
    );
    assert_eq!(finding(&report, "sshd.permit-root-login")["status"], "pass");
    // The listener inventory names its owner.
    assert_eq!(
        report["inventory"]["listeners"][0]["processes"][0]["name"],
        "sshd"
    );
    // The score can be recomputed from the summary.
    let passed = report["summary"]["passed_weight"].as_u64().unwrap_or(0);
    let judged = report["summary"]["judged_weight"].as_u64().unwrap_or(1);
    assert_eq!(report["score"].as_u64(), Some(passed * 100 / judged));
}

#[test]
fn text_output_leads_with_failures_and_explains_the_score() {
    let dir = temp_dir("text");
    let root = worker_host(&dir, MAIN_CONFIG);
    let out = run(&[
        "--root",
        &root.display().to_string(),
        "--node-name",
        "n1",
        "--cluster",
        "prod",
    ]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(text.starts_with("nodecheck "), "{text}");
    assert!(
        text.contains("node n1 · cluster prod · roles worker"),
        "{text}"
    );
    assert!(!text.contains('\x1b'), "NO_COLOR and a pipe mean no colour");
    // A line per failing check, most severe first, and its fix under it: the setting
    // `remediate` would change.
    let body: Vec<&str> = text.lines().skip(3).collect();
    assert!(
        body[0].starts_with("high     sshd."),
        "highest severity first: {text}"
    );
    assert!(body[1].starts_with("         fix: "), "{text}");
    assert!(
        text.contains("high     sshd.password-authentication  PasswordAuthentication = yes (/etc/ssh/sshd_config.d/50-cloud-init.conf:1)\n         fix: `PasswordAuthentication no`\n"),
        "{text}"
    );
    assert!(
        !text.contains("expected no;"),
        "evidence only under -v: {text}"
    );
    assert!(text.contains("\nscore "), "{text}");
    assert!(
        text.contains("`nodecheck remediate` proposes changes for "),
        "{text}"
    );
    // -v: the evidence table, the passes, and how the score is made.
    let verbose = stdout(&run(&["--root", &root.display().to_string(), "-v"]));
    let first_fail = verbose.find("FAIL ").expect("a failure");
    assert!(
        verbose[first_fail..].starts_with("FAIL  high"),
        "highest severity first: {verbose}"
    );
    assert!(verbose.contains("PASS "), "{verbose}");
    assert!(verbose.contains("passed weight"), "{verbose}");
}

#[test]
fn machine_formats_and_exit_code_options() {
    let dir = temp_dir("formats");
    let root = worker_host(&dir, MAIN_CONFIG);
    let r = root.display().to_string();
    let sarif = run(&["--root", &r, "--format", "sarif"]);
    let doc: Value = serde_json::from_slice(&sarif.stdout).expect("sarif json");
    assert_eq!(doc["version"], "2.1.0");
    let results = doc["runs"][0]["results"].as_array().expect("results");
    assert!(
        results
            .iter()
            .any(|x| x["ruleId"] == "sshd.password-authentication"
                && x["locations"][0]["physicalLocation"]["region"]["startLine"] == 1)
    );
    let junit = stdout(&run(&["--root", &r, "--format", "junit"]));
    assert!(junit.contains("<testcase classname=\"sshd\" name=\"sshd.password-authentication\">"));
    assert_eq!(junit.matches("<testcase ").count(), 138);
    assert_eq!(
        run(&["--root", &r, "--fail-on", "none"]).status.code(),
        Some(0)
    );
    assert_eq!(
        run(&["--root", &r, "--fail-on", "none", "--fail-under", "100"])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        run(&["--root", &r, "--only", "sshd.banner", "--fail-on", "low"])
            .status
            .code(),
        Some(0),
        "banner is info"
    );
    let out_file = dir.join("report.json");
    let written = run(&[
        "--root",
        &r,
        "--format",
        "json",
        "--output",
        &out_file.display().to_string(),
    ]);
    assert!(written.stdout.is_empty());
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&out_file).expect("written")).expect("json");
    assert_eq!(report["schema"], "nodecheck.report/v1");
}

#[test]
fn usage_errors_exit_2_with_one_clear_line() {
    let dir = temp_dir("usage");
    let root = worker_host(&dir, MAIN_CONFIG);
    let r = root.display().to_string();
    let out = run(&["--root", &r, "--only", "sshd.banr"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("did you mean `sshd.banner`"),
        "{}",
        stderr(&out)
    );
    let out = run(&["--root", "/nonexistent/root"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("/nonexistent/root"),
        "{}",
        stderr(&out)
    );
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    let out = run(&["explain", "sshd.permit-rot-login"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("sshd.permit-root-login"));
    let profile = dir.join("bad.toml");
    std::fs::write(&profile, "extends = 7\n[params.\"sshd.max-auth-tries\"]\nmax = \"four\"\n[severity]\n\"sshd.kex\" = \"loud\"\n").expect("write");
    let out = run(&["--root", &r, "--profile", &profile.display().to_string()]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("3 problems"), "{err}");
    assert!(
        err.contains("bad.toml:1:11")
            && err.contains("bad.toml:3:7")
            && err.contains("bad.toml:5:14"),
        "{err}"
    );
}

#[test]
fn checks_and_explain() {
    let list = stdout(&run(&["checks"]));
    assert_eq!(list.lines().count(), 138);
    assert!(list.contains("sshd.permit-root-login"));
    let json: Value =
        serde_json::from_slice(&run(&["checks", "--format", "json"]).stdout).expect("json");
    assert_eq!(json.as_array().map(Vec::len), Some(138));
    let explain = stdout(&run(&["explain", "sshd.max-auth-tries"]));
    assert!(
        explain.contains("## Why") && explain.contains("`max`"),
        "{explain}"
    );
}

#[test]
fn snapshot_round_trip_gives_the_same_verdicts_without_key_contents() {
    let dir = temp_dir("snapshot");
    let root = dir.join("root");
    let w = |rel: &str, text: &str, mode: u32| {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, text).expect("write");
        std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(mode))
            .expect("chmod");
    };
    w("etc/passwd", "root:x:0:0::/root:/bin/sh\n", 0o644);
    w("etc/group", "root:x:0:\n", 0o644);
    w(
        "etc/ssh/sshd_config",
        "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin no\n",
        0o644,
    );
    w("etc/ssh/sshd_config.d/10-x.conf", "MaxAuthTries 3\n", 0o600);
    w(
        "etc/ssh/ssh_host_ed25519_key",
        "-----BEGIN OPENSSH PRIVATE KEY-----\nSECRET-MATERIAL\n",
        0o600,
    );
    w(
        "etc/ssh/ssh_host_ed25519_key.pub",
        "ssh-ed25519 AAAA",
        0o644,
    );
    // A binary that mentions the PEM marker (as sshd does) keeps its content: the version
    // string in it decides the defaults.
    w(
        "usr/sbin/sshd",
        "\u{7f}ELF\0-----BEGIN OPENSSH PRIVATE KEY-----\0OpenSSH_9.2p1 Debian-2+deb12u6\0",
        0o755,
    );
    std::fs::create_dir_all(root.join("proc")).expect("proc");
    let snap = dir.join("snap.tar.gz");
    let out = run(&[
        "snapshot",
        "--root",
        &root.display().to_string(),
        "--output",
        &snap.display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // The key is in the snapshot with its metadata and no content.
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(
        std::fs::File::open(&snap).expect("open"),
    ));
    let mut saw_key = false;
    for entry in archive.entries().expect("entries") {
        let mut entry = entry.expect("entry");
        let name = entry.path().expect("path").display().to_string();
        let mut content = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut content).expect("read");
        assert!(
            !String::from_utf8_lossy(&content).contains("SECRET-MATERIAL"),
            "{name} leaks the key"
        );
        if name == "etc/ssh/ssh_host_ed25519_key" {
            saw_key = true;
            assert_eq!(entry.header().mode().expect("mode"), 0o600);
        }
    }
    assert!(saw_key);
    let strip = |mut v: Value| {
        for key in ["id", "started_at", "duration_ms"] {
            v[key] = Value::Null;
        }
        v
    };
    let (live, live_code) = json_scan(&root, &["--node-name", "x"]);
    let banner = finding(&live, "sshd.banner").clone();
    assert!(
        banner["message"]
            .as_str()
            .unwrap_or_default()
            .contains("OpenSSH 9.2p1"),
        "{banner}"
    );
    let (from_snapshot, snap_code) = json_scan(&snap, &["--node-name", "x"]);
    assert_eq!(live_code, snap_code);
    assert_eq!(strip(live), strip(from_snapshot));
}

/// Status and message of one finding for a host whose sshd_config is `config`.
fn judge_config(tag: &str, entries: &[Entry<'_>], id: &str) -> (String, String) {
    let dir = temp_dir(tag);
    let path = dir.join("host.tar.gz");
    let mut all = vec![
        Entry::File("etc/passwd", PASSWD, 0o644, 0, 0),
        Entry::File("etc/group", GROUP, 0o644, 0, 0),
    ];
    for e in entries {
        all.push(match e {
            Entry::File(a, b, c, d, f) => Entry::File(a, b, *c, *d, *f),
            Entry::Link(a, b) => Entry::Link(a, b),
        });
    }
    tar_gz(&path, &all);
    let (report, code) = json_scan(&path, &["--only", "sshd"]);
    assert!(code == 0 || code == 1, "a judged host is never exit 2");
    let f = finding(&report, id);
    (
        f["status"].as_str().unwrap_or_default().to_string(),
        f["message"].as_str().unwrap_or_default().to_string(),
    )
}

#[test]
fn bad_input_gives_specific_errors_and_never_a_wrong_pass() {
    let binary: Vec<u8> = (0u8..=255).cycle().take(4096).collect();
    let (status, message) = judge_config(
        "binary",
        &[Entry::File("etc/ssh/sshd_config", &binary, 0o600, 0, 0)],
        "sshd.permit-root-login",
    );
    assert_eq!(status, "error");
    assert!(message.contains("not valid UTF-8"), "{message}");

    // Over sshd's per-file cap (1 MiB), within what a snapshot holds.
    let big = vec![b'#'; 2 * 1024 * 1024];
    let (status, message) = judge_config(
        "big",
        &[Entry::File("etc/ssh/sshd_config", &big, 0o600, 0, 0)],
        "sshd.permit-root-login",
    );
    assert_eq!(status, "error");
    assert!(message.contains("larger than"), "{message}");

    let (status, message) = judge_config(
        "loop",
        &[Entry::File(
            "etc/ssh/sshd_config",
            b"PermitRootLogin no\nInclude /etc/ssh/sshd_config\n",
            0o600,
            0,
            0,
        )],
        "sshd.permit-root-login",
    );
    assert_eq!(status, "error");
    assert!(
        message.contains("Too many recursive configuration includes"),
        "{message}"
    );

    let (status, message) = judge_config(
        "unreadable-include",
        &[
            Entry::File(
                "etc/ssh/sshd_config",
                b"Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin no\n",
                0o600,
                0,
                0,
            ),
            Entry::Link(
                "etc/ssh/sshd_config.d/a.conf",
                "/etc/ssh/sshd_config.d/b.conf",
            ),
            Entry::Link(
                "etc/ssh/sshd_config.d/b.conf",
                "/etc/ssh/sshd_config.d/a.conf",
            ),
        ],
        "sshd.permit-root-login",
    );
    assert_eq!(status, "error");
    assert!(
        message.contains("cannot read included file") && message.contains("symlink loop"),
        "{message}"
    );

    // A symlink that climbs out of the root stays inside it: the host's real file is never read.
    let (status, message) = judge_config(
        "escape",
        &[Entry::Link(
            "etc/ssh/sshd_config",
            "../../../../../../../etc/os-release",
        )],
        "sshd.permit-root-login",
    );
    assert_eq!(status, "error");
    assert!(message.contains("does not exist"), "{message}");
}

#[test]
fn tar_with_dot_dot_entries_is_scanned_with_a_warning() {
    let dir = temp_dir("dotdot");
    let path = dir.join("evil.tar");
    let bytes = raw_tar::raw_tar(
        &[
            ("../escape", b"x"),
            ("etc/ssh/sshd_config", b"PermitRootLogin no\n"),
        ],
        0o600,
    );
    std::fs::write(&path, bytes).expect("write");
    let out = run(&[
        "--root",
        &path.display().to_string(),
        "--format",
        "json",
        "--only",
        "sshd.permit-root-login",
    ]);
    assert!(stderr(&out).contains("'..'"), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(finding(&report, "sshd.permit-root-login")["status"], "pass");
    assert!(
        !dir.parent()
            .map(|p| p.join("escape").exists())
            .unwrap_or(false),
        "nothing is extracted"
    );
}

/// A kubelet (and an apiserver manifest) whose files are broken in one way each: the
/// affected checks are `error` with a precise message; sshd and the other areas still run.
#[test]
fn kubernetes_bad_input_gives_specific_errors() {
    let mut bomb = String::from(
        "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n",
    );
    for i in 1..12 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        bomb.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    let big = format!(
        "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n#{}\n",
        // Over the kubelet's per-file cap (4 MiB), within what a snapshot holds.
        "x".repeat(5 * 1024 * 1024)
    );
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "malformed-yaml",
            b"authentication: [unclosed\n".to_vec(),
            "malformed YAML/JSON",
        ),
        (
            "malformed-json",
            b"{\"kind\": \"KubeletConfiguration\", \"apiVersion\": \"kubelet.config.k8s.io/v1beta1\",".to_vec(),
            "malformed YAML/JSON",
        ),
        ("alias-bomb", bomb.into_bytes(), "alias bomb"),
        ("big", big.into_bytes(), "larger than"),
        (
            "unknown-api",
            b"apiVersion: kubelet.config.k8s.io/v2\nkind: KubeletConfiguration\n".to_vec(),
            "expected apiVersion kubelet.config.k8s.io/v1beta1",
        ),
    ];
    for (tag, config, expected) in cases {
        let (status, message) = judge_kubelet_config(tag, Some(&config), "kubelet.anonymous-auth");
        assert_eq!(status, "error", "{tag}: {message}");
        assert!(message.contains(expected), "{tag}: {message}");
    }
    let (status, message) = judge_kubelet_config("directory", None, "kubelet.anonymous-auth");
    assert_eq!(status, "error");
    assert!(message.contains("is a directory"), "{message}");
}

/// Status and message of `id` on a worker whose kubelet reads /etc/k/config (a file with
/// `config`, or a directory when `None`), next to a ConfigMap posing as the apiserver manifest.
fn judge_kubelet_config(tag: &str, config: Option<&[u8]>, id: &str) -> (String, String) {
    let dir = temp_dir(&format!("k8s-{tag}"));
    let path = dir.join("host.tar.gz");
    let mut entries = vec![
        Entry::File("etc/passwd", PASSWD, 0o644, 0, 0),
        Entry::File("etc/group", GROUP, 0o644, 0, 0),
        Entry::File(
            "proc/300/status",
            b"Name:\tkubelet\nPPid:\t1\nUid:\t0\t0\t0\t0\n",
            0o444,
            0,
            0,
        ),
        Entry::File(
            "proc/300/cmdline",
            b"/usr/bin/kubelet\0--config=/etc/k/config\0",
            0o444,
            0,
            0,
        ),
        Entry::File(
            "etc/kubernetes/manifests/kube-apiserver.yaml",
            b"apiVersion: v1\nkind: ConfigMap\n",
            0o600,
            0,
            0,
        ),
        Entry::File("etc/ssh/sshd_config", b"PermitRootLogin no\n", 0o600, 0, 0),
    ];
    match config {
        Some(bytes) => entries.push(Entry::File("etc/k/config", bytes, 0o600, 0, 0)),
        None => entries.push(Entry::File("etc/k/config/inside", b"", 0o600, 0, 0)),
    }
    tar_gz(&path, &entries);
    let (report, code) = json_scan(&path, &[]);
    assert!(code == 0 || code == 1);
    assert_eq!(
        finding(&report, "sshd.permit-root-login")["status"],
        "pass",
        "the rest of the scan is intact"
    );
    let api = finding(&report, "apiserver.authorization-mode");
    assert_eq!(api["status"], "error");
    assert!(
        api["message"]
            .as_str()
            .unwrap_or_default()
            .contains("not a Pod manifest (kind is ConfigMap)"),
        "{api}"
    );
    let f = finding(&report, id);
    (
        f["status"].as_str().unwrap_or_default().to_string(),
        f["message"].as_str().unwrap_or_default().to_string(),
    )
}

/// `collector/catalogue.json` is what this scanner prints: the collector shows these titles,
/// severities, rationales and fixes fleet-wide, so it must not fall behind the checks.
#[test]
fn the_collectors_catalogue_is_current() {
    let out = run(&["checks", "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../collector/catalogue.json");
    let committed = std::fs::read_to_string(&path).expect("collector/catalogue.json");
    assert!(
        stdout(&out) == committed,
        "collector/catalogue.json is stale: run `cargo run -p nodecheck -- checks --format json > collector/catalogue.json`"
    );
}
