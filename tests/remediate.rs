//! `nodecheck remediate`, proven: on every fixture host the remediated copy scores at least as
//! high in every area, every check the proposal claims to fix passes, and nothing that passed
//! fails; on the sshd corpus and on generated configurations the remediated files, written
//! out, are accepted by the real `sshd -t` and `sshd -T` prints the values they set.
//!
//! The sshd half needs root and Debian's openssh-server; without them it prints why and
//! passes, unless `NODECHECK_REQUIRE_TOOLS=1` (the README's test command), where it fails.

#[path = "support/scratch.rs"]
mod scratch;
#[path = "support/sshd_gen.rs"]
mod sshd_gen;

use nodecheck::host::Host;
use nodecheck::remediate::{Proposal, Prover, SshdTest};
use nodecheck_report::Status;
use scratch::Scratch;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const SSHD: &str = "/usr/sbin/sshd";

/// Scans `host` with `profile` and proposes its remediation (no real sshd: the host is not
/// this machine's root).
fn propose(host: &Host, profile: &str) -> Proposal {
    let profile = nodecheck::profile::load(profile).expect("profile");
    let facts = nodecheck::facts::gather(host);
    let options = nodecheck::scan::ScanOptions {
        node_name: "fixture".into(),
        cluster: "default".into(),
        ..Default::default()
    };
    let before = nodecheck::scan::scan(&facts, &profile, &options, nodecheck::time::now());
    let prover = Prover {
        host,
        profile: &profile,
        options: &options,
        sshd_binary: None,
        timeout: std::time::Duration::from_secs(60),
    };
    nodecheck::remediate::propose(&prover, &facts, before)
}

/// The promises of a proposal, asserted: no area scores lower, every check a change is for
/// passes, nothing got worse.
fn assert_proven(name: &str, proposal: &Proposal) {
    assert!(
        proposal.worsened.is_empty(),
        "{name}: worse after remediation: {:?}",
        proposal.worsened
    );
    for (area, before) in &proposal.before.summary.areas {
        let after = proposal.after.summary.areas[area].score;
        if let Some(before) = before.score {
            assert!(
                after.is_some_and(|a| a >= before),
                "{name}: area {area} scores {before} before and {after:?} after"
            );
        }
    }
    let after: BTreeMap<&str, Status> = proposal
        .after
        .findings
        .iter()
        .map(|f| (f.id.as_str(), f.status))
        .collect();
    for check in proposal.planned.checks() {
        assert!(
            matches!(after.get(check.as_str()), Some(Status::Pass)),
            "{name}: {check} has a proposed change but is {:?} after it",
            after.get(check.as_str())
        );
    }
    for before in &proposal.before.findings {
        if matches!(before.status, Status::Pass | Status::NotApplicable) {
            assert!(
                matches!(
                    after.get(before.id.as_str()),
                    Some(Status::Pass | Status::NotApplicable)
                ),
                "{name}: {} passed before and is {:?} after",
                before.id,
                after.get(before.id.as_str())
            );
        }
    }
    for fixed in &proposal.fixed {
        assert_eq!(after.get(fixed.id.as_str()), Some(&Status::Pass), "{name}");
    }
}

#[test]
fn every_fixture_host_is_remediated_without_regressions() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/hosts");
    let scratch = Scratch::new("remediate-fixtures");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&fixtures)
        .expect("fixtures")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("MANIFEST").is_file())
        .collect();
    names.sort();
    assert!(names.len() >= 10, "the fixture hosts are there");
    let mut proposed_anything = 0;
    for fixture in &names {
        let name = fixture
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let snapshot = scratch.join(format!("{name}.tar.gz"));
        nodecheck::host::fixture::build_snapshot(fixture, &snapshot).expect("build snapshot");
        let host = Host::open(&snapshot, None).expect("open snapshot");
        for profile in ["default", "cis"] {
            let proposal = propose(&host, profile);
            assert_proven(&format!("{name} ({profile})"), &proposal);
            assert!(
                proposal.from_snapshot,
                "{name}: a snapshot is said to be one"
            );
            // The control planes' flags are fixed in their static pod manifests.
            let expected: &[&str] = match name.as_str() {
                "kubeadm-control-plane" => &["apiserver.profiling", "scheduler.profiling"],
                "wide-open-control-plane" => &[
                    "apiserver.authorization-mode",
                    "apiserver.always-admit",
                    "apiserver.node-restriction",
                    "apiserver.default-admission-plugins",
                    "controller-manager.bind-address",
                    "scheduler.bind-address",
                    "etcd.peer-auto-tls",
                ],
                _ => &[],
            };
            for check in expected {
                assert!(
                    proposal.fixed.iter().any(|f| f.id == *check),
                    "{name} ({profile}): {check} is fixed: {:?}",
                    (&proposal.planned.unplaced, &proposal.withdrawn)
                );
            }
            if !proposal.planned.is_empty() {
                proposed_anything += 1;
                assert!(
                    !proposal.fixed.is_empty(),
                    "{name} ({profile}): changes that fix nothing: {:?}",
                    proposal.planned
                );
            }
        }
    }
    assert!(
        proposed_anything >= 5,
        "most fixture hosts have something to fix ({proposed_anything})"
    );
}

fn require_tools() -> bool {
    std::env::var("NODECHECK_REQUIRE_TOOLS").is_ok_and(|v| v == "1")
}

/// Whether the real sshd can check configurations here; says why not.
fn sshd_available() -> bool {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    let reason = if !Path::new(SSHD).exists() {
        Some(format!(
            "{SSHD} is not installed (apt-get install openssh-server)"
        ))
    } else if !root {
        Some("sshd -t needs root to load host keys".to_string())
    } else {
        None
    };
    if let Some(reason) = reason {
        assert!(
            !require_tools(),
            "NODECHECK_REQUIRE_TOOLS=1 but the sshd remediation test cannot run: {reason}"
        );
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            format!("SKIPPED sshd remediation test: {reason}\n").as_bytes(),
        );
        return false;
    }
    let _ = std::fs::create_dir_all("/run/sshd");
    true
}

/// The installed openssh-server's dpkg stanza, so a test root knows the version sshd has.
fn dpkg_status() -> String {
    let status = std::fs::read_to_string("/var/lib/dpkg/status").unwrap_or_default();
    status
        .split("\n\n")
        .find(|s| s.lines().any(|l| l == "Package: openssh-server"))
        .map(|s| format!("{s}\n"))
        .unwrap_or_default()
}

/// Writes the proposal's files into `root` (as copying `--output DIR` over the host would).
fn apply(root: &Path, proposal: &Proposal) {
    use std::os::unix::fs::PermissionsExt;
    for file in &proposal.planned.files {
        let target = root.join(file.path.trim_start_matches('/'));
        std::fs::create_dir_all(target.parent().expect("parent")).expect("mkdir");
        std::fs::write(&target, &file.after).expect("write");
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(file.mode))
            .expect("chmod");
    }
}

/// A copy of `root`'s `/etc/ssh` that the real sshd can read: every `Include` pattern under
/// `/etc/ssh` pointed into the copy. Returns the copy of `sshd_config`.
fn real_view(root: &Path) -> PathBuf {
    let view = root.join("view");
    copy_redirected(&root.join("etc/ssh"), &view.join("etc/ssh"), &view);
    view.join("etc/ssh/sshd_config")
}

fn copy_redirected(from: &Path, to: &Path, view: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_redirected(&entry.path(), &target, view);
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).expect("read");
        let lines: Vec<String> = text
            .split('\n')
            .map(|line| {
                let first = line.split_whitespace().next().unwrap_or_default();
                if first.eq_ignore_ascii_case("include") {
                    line.replace("/etc/ssh/", &format!("{}/etc/ssh/", view.display()))
                } else {
                    line.to_string()
                }
            })
            .collect();
        std::fs::write(&target, lines.join("\n")).expect("write");
    }
}

/// `sshd -t` then `sshd -T` on a configuration; `Err` with sshd's words when it refuses.
fn sshd_dump(main: &Path) -> Result<BTreeMap<String, String>, String> {
    let test = Command::new(SSHD)
        .arg("-t")
        .arg("-f")
        .arg(main)
        .output()
        .expect("sshd -t");
    if !test.status.success() {
        return Err(String::from_utf8_lossy(&test.stderr).into_owned());
    }
    let dump = Command::new(SSHD)
        .arg("-T")
        .arg("-f")
        .arg(main)
        .output()
        .expect("sshd -T");
    if !dump.status.success() {
        return Err(String::from_utf8_lossy(&dump.stderr).into_owned());
    }
    Ok(String::from_utf8_lossy(&dump.stdout)
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect())
}

/// The keyword → value lines nodecheck's drop-in (or top block) sets, lowercased as `sshd -T`
/// prints keywords.
fn first_read_values(proposal: &Proposal) -> Vec<(String, String)> {
    let mut values = Vec::new();
    for file in &proposal.planned.files {
        let is_drop_in = file.path.ends_with("nodecheck.conf") || file.path.ends_with("nodecheck");
        let text = if is_drop_in {
            file.after.as_str()
        } else if let Some(rest) = file.after.strip_prefix("# nodecheck remediate:") {
            // The block's first line is its comment; its values follow until its end line.
            let rest = rest.split_once('\n').map_or("", |(_, r)| r);
            rest.split("# end of nodecheck remediate")
                .next()
                .unwrap_or_default()
        } else {
            continue;
        };
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        {
            if let Some((k, v)) = line.split_once(' ') {
                values.push((k.to_ascii_lowercase(), v.to_string()));
            }
        }
    }
    values
}

/// How `sshd -T` prints a value nodecheck writes (`MaxStartups 10:30:60` as is, times in
/// seconds, log levels in capitals).
fn printed(keyword: &str, value: &str) -> String {
    match keyword {
        "loglevel" => value.to_ascii_uppercase(),
        _ => value.to_string(),
    }
}

/// One configuration under `root/etc/ssh/sshd_config`, remediated, written and checked by the
/// real sshd. Returns how many first-read values sshd confirmed, or `None` when nothing was
/// proposed for sshd.
fn remediate_and_check(name: &str, root: &Path) -> Option<usize> {
    let host = Host::open(root, None).expect("open root");
    let proposal = propose(&host, "default");
    assert_proven(name, &proposal);
    assert!(
        !matches!(proposal.sshd_test, SshdTest::Refused { .. }),
        "{name}"
    );
    let sshd_files = proposal
        .planned
        .files
        .iter()
        .any(|f| f.fixes.iter().any(|(c, _)| c.starts_with("sshd.")));
    if !sshd_files {
        return None;
    }
    apply(root, &proposal);
    let main = real_view(root);
    let dump = sshd_dump(&main).unwrap_or_else(|why| {
        panic!(
            "{name}: sshd refuses the remediated configuration: {why}\n{}",
            nodecheck::remediate::render::diffs(&proposal)
        )
    });
    let values = first_read_values(&proposal);
    for (keyword, value) in &values {
        assert_eq!(
            dump.get(keyword).map(String::as_str),
            Some(printed(keyword, value).as_str()),
            "{name}: sshd -T shows another {keyword} than the drop-in sets\n{}",
            nodecheck::remediate::render::diffs(&proposal)
        );
    }
    let _ = std::fs::remove_dir_all(root.join("view"));
    Some(values.len())
}

/// A root holding only what sshd's model needs: the version, and `files` under `/etc/ssh`.
fn sshd_root(scratch: &Path, name: &str) -> PathBuf {
    let root = scratch.join(name);
    std::fs::create_dir_all(root.join("var/lib/dpkg")).expect("mkdir");
    std::fs::write(root.join("var/lib/dpkg/status"), dpkg_status()).expect("dpkg status");
    std::fs::create_dir_all(root.join("etc/ssh")).expect("mkdir");
    root
}

#[test]
fn the_sshd_corpus_remediated_is_accepted_by_sshd() {
    if !sshd_available() {
        return;
    }
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/sshd_corpus");
    let scratch = Scratch::new("remediate-corpus");
    let mut configs: Vec<PathBuf> = std::fs::read_dir(&corpus)
        .expect("corpus")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .collect();
    configs.sort();
    let mut remediated = 0;
    for config in &configs {
        let name = config
            .file_stem()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let root = sshd_root(&scratch, &name);
        // The corpus with its drop-in directories, `@DIR@` standing for /etc/ssh.
        for entry in std::fs::read_dir(&corpus).expect("corpus") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                let target = root.join("etc/ssh").join(path.file_name().expect("name"));
                std::fs::create_dir_all(&target).expect("mkdir");
                for file in std::fs::read_dir(&path).expect("read") {
                    let file = file.expect("file").path();
                    let text = std::fs::read_to_string(&file).expect("read");
                    std::fs::write(
                        target.join(file.file_name().expect("name")),
                        text.replace("@DIR@", "/etc/ssh"),
                    )
                    .expect("write");
                }
            }
        }
        let text = std::fs::read_to_string(config).expect("read");
        std::fs::write(
            root.join("etc/ssh/sshd_config"),
            text.replace("@DIR@", "/etc/ssh"),
        )
        .expect("write");
        // A configuration sshd refuses is no starting point for a remediation.
        let original = real_view(&root);
        let accepted = sshd_dump(&original).is_ok();
        let _ = std::fs::remove_dir_all(root.join("view"));
        if !accepted {
            continue;
        }
        if remediate_and_check(&name, &root).is_some() {
            remediated += 1;
        }
    }
    assert!(
        remediated >= 30,
        "most of the corpus has sshd changes to prove ({remediated})"
    );
}

#[test]
fn generated_sshd_configs_remediated_are_accepted_by_sshd() {
    if !sshd_available() {
        return;
    }
    let seed = sshd_gen::seed();
    eprintln!("generated sshd configs: seed {seed} (replay with NODECHECK_DIFF_SEED={seed})");
    let mut rng = sshd_gen::Rng(seed);
    let scratch = Scratch::new("remediate-generated");
    let (mut remediated, mut values_checked) = (0, 0);
    let mut tried = 0;
    while remediated < 200 {
        tried += 1;
        assert!(
            tried < 5000,
            "too few generated configs that sshd accepts ({remediated} of {tried})"
        );
        let root = sshd_root(&scratch, &format!("gen-{tried}"));
        let generated = root.join("etc/ssh");
        let file = sshd_gen::generate(&mut rng, &generated, tried, &|d: &Path| {
            format!(
                "/etc/ssh/{}",
                d.file_name()
                    .map(|n| n.to_string_lossy())
                    .unwrap_or_default()
            )
        });
        std::fs::rename(&file, generated.join("sshd_config")).expect("rename");
        let original = real_view(&root);
        let accepted = sshd_dump(&original).is_ok();
        let _ = std::fs::remove_dir_all(root.join("view"));
        if accepted
            && let Some(values) =
                remediate_and_check(&format!("generated #{tried} (seed {seed})"), &root)
        {
            remediated += 1;
            values_checked += values;
        }
        let _ = std::fs::remove_dir_all(&root);
    }
    assert!(values_checked >= remediated, "the drop-ins set values");
}

/// A Debian-like bastion root: `Include` first, cloud-init turning passwords back on, the
/// main file readable by all.
fn bastion_root(root: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(root.join("etc/ssh/sshd_config.d")).expect("mkdir");
    std::fs::create_dir_all(root.join("var/lib/dpkg")).expect("mkdir");
    std::fs::write(root.join("var/lib/dpkg/status"), dpkg_status()).expect("dpkg");
    std::fs::write(
        root.join("etc/ssh/sshd_config"),
        "Include /etc/ssh/sshd_config.d/*.conf\nKbdInteractiveAuthentication no\nUsePAM yes\nX11Forwarding yes\n",
    )
    .expect("write");
    std::fs::set_permissions(
        root.join("etc/ssh/sshd_config"),
        std::fs::Permissions::from_mode(0o644),
    )
    .expect("chmod");
    std::fs::write(
        root.join("etc/ssh/sshd_config.d/50-cloud-init.conf"),
        "PasswordAuthentication yes\n",
    )
    .expect("write");
    std::fs::set_permissions(
        root.join("etc/ssh/sshd_config.d/50-cloud-init.conf"),
        std::fs::Permissions::from_mode(0o600),
    )
    .expect("chmod");
}

fn nodecheck(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_nodecheck"))
        .args(args)
        .env_remove("NODECHECK_CLUSTER")
        .output()
        .expect("run nodecheck")
}

fn finding_status(report: &[u8], id: &str) -> String {
    let report: serde_json::Value = serde_json::from_slice(report).expect("report");
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["id"] == id)
        .map(|f| f["status"].as_str().unwrap_or_default().to_string())
        .unwrap_or_default()
}

#[test]
fn the_output_directory_copied_over_the_root_fixes_it() {
    use std::os::unix::fs::PermissionsExt;
    let scratch = Scratch::new("remediate-output");
    let root = scratch.join("root");
    bastion_root(&root);
    let root_arg = root.display().to_string();
    let scan = |root: &str| {
        nodecheck(&[
            "--root",
            root,
            "--format",
            "json",
            "--node-name",
            "bastion",
            "--only",
            "sshd",
        ])
    };
    assert_eq!(
        finding_status(&scan(&root_arg).stdout, "sshd.password-authentication"),
        "fail"
    );

    let out = scratch.join("fix");
    let written = nodecheck(&[
        "remediate",
        "--root",
        &root_arg,
        "--node-name",
        "bastion",
        "--output",
        &out.display().to_string(),
    ]);
    let summary = String::from_utf8_lossy(&written.stdout);
    assert!(
        written.status.success(),
        "{}",
        String::from_utf8_lossy(&written.stderr)
    );
    let drop_in = out.join("etc/ssh/sshd_config.d/00-nodecheck.conf");
    let text = std::fs::read_to_string(&drop_in).expect("the drop-in is written");
    assert!(text.contains("\nPasswordAuthentication no\n"), "{text}");
    assert_eq!(
        std::fs::metadata(&drop_in)
            .expect("meta")
            .permissions()
            .mode()
            & 0o7777,
        0o600,
        "sshd.config-permissions wants every included file 0600"
    );
    assert!(
        summary.contains("sshd.password-authentication"),
        "{summary}"
    );
    let notes = out.join("nodecheck-remediation");
    for file in ["changes.diff", "modes.sh", "README", "proposal.json"] {
        assert!(notes.join(file).is_file(), "{file} is written");
    }
    let modes = std::fs::read_to_string(notes.join("modes.sh")).expect("modes");
    assert!(
        modes.contains("# now 0644") && modes.contains("chmod 0600 '/etc/ssh/sshd_config'"),
        "{modes}"
    );

    // The same directory again is refused: it would mix two proposals.
    let again = nodecheck(&[
        "remediate",
        "--root",
        &root_arg,
        "--output",
        &out.display().to_string(),
    ]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"));

    // `--format diff` applied with patch gives the same files as the directory.
    let patched = scratch.join("patched");
    bastion_root(&patched);
    let diff = nodecheck(&["remediate", "--root", &root_arg, "--format", "diff"]);
    assert!(
        Path::new("/usr/bin/patch").exists() || !require_tools(),
        "NODECHECK_REQUIRE_TOOLS=1 but patch(1) is not installed (apt-get install patch)"
    );
    if Path::new("/usr/bin/patch").exists() {
        let mut child = Command::new("/usr/bin/patch")
            .args(["-p1", "-s"])
            .current_dir(&patched)
            .stdin(std::process::Stdio::piped())
            .spawn()
            .expect("patch");
        std::io::Write::write_all(child.stdin.as_mut().expect("stdin"), &diff.stdout)
            .expect("write");
        drop(child.stdin.take());
        assert!(child.wait().expect("wait").success());
        assert_eq!(
            std::fs::read_to_string(patched.join("etc/ssh/sshd_config.d/00-nodecheck.conf"))
                .expect("patched"),
            text
        );
    }

    // Copy the proposal over the root, run the mode script's changes there: the scan passes.
    let copy = Command::new("cp")
        .args([
            "-a",
            &format!("{}/etc/.", out.display()),
            &format!("{root_arg}/etc/"),
        ])
        .status()
        .expect("cp");
    assert!(copy.success());
    std::fs::set_permissions(
        root.join("etc/ssh/sshd_config"),
        std::fs::Permissions::from_mode(0o600),
    )
    .expect("chmod");
    let after = scan(&root_arg);
    for id in [
        "sshd.password-authentication",
        "sshd.config-permissions",
        "sshd.x11-forwarding",
        "sshd.max-auth-tries",
    ] {
        assert_eq!(finding_status(&after.stdout, id), "pass", "{id}");
    }
    let json = nodecheck(&["remediate", "--root", &root_arg, "--format", "json"]);
    let proposal: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    assert_eq!(proposal["schema"], "nodecheck.remediation/v1");
    assert!(
        proposal["changes"].as_array().is_some_and(|c| c.is_empty()),
        "a second run on the remediated root proposes nothing more for sshd: {proposal}"
    );
}
