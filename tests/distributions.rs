//! Fixture hosts of real distributions (tests/fixtures/hosts/<name>): each is built into a
//! tar snapshot with the owners and modes its MANIFEST gives, scanned by the real binary, and
//! its full verdict list compared with the hand-reviewed `verdicts.txt` beside it (the
//! fixture's README says why each verdict is what that distribution really runs with).
//!
//! A fixture with a `verdicts-cis.txt` is also scanned with `--profile cis`, and that list
//! compared with it: a hardened node is proven against the benchmark, not only the defaults.
//!
//! Each fixture's text report, as a 100×40 terminal shows it, is kept beside it too
//! (`report.txt`), reviewed like the verdicts.
//!
//! `NODECHECK_BLESS=1 cargo test --test distributions` rewrites the verdict lists after an
//! intended change; review the diff against the README before committing it.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/hosts")
}

/// Builds `<fixture>.tar.gz` from its MANIFEST.
fn build_snapshot(fixture: &Path, out: &Path) {
    nodecheck::host::fixture::build_snapshot(fixture, out)
        .unwrap_or_else(|e| panic!("{}: {e}", fixture.display()));
}

/// `status id — message` for every finding.
fn verdict_list(report: &Value) -> String {
    let mut out = String::new();
    for f in report["findings"].as_array().expect("findings") {
        out.push_str(&format!(
            "{:<14} {:<34} {}\n",
            f["status"].as_str().unwrap_or_default(),
            f["id"].as_str().unwrap_or_default(),
            f["message"].as_str().unwrap_or_default()
        ));
    }
    out
}

fn scan(snapshot: &Path, profile: &str) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_nodecheck"))
        .args([
            "--profile",
            profile,
            "--root",
            &snapshot.display().to_string(),
            "--format",
            "json",
            "--node-name",
            "fixture",
        ])
        .env_remove("NODECHECK_CLUSTER")
        .output()
        .expect("run nodecheck");
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}: {}",
        snapshot.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json report")
}

/// The text report as a 100×40 terminal shows it (`COLUMNS`, `LINES`).
fn text_report(snapshot: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_nodecheck"))
        .args([
            "--root",
            &snapshot.display().to_string(),
            "--node-name",
            "fixture",
        ])
        .env_remove("NODECHECK_CLUSTER")
        .env("COLUMNS", "100")
        .env("LINES", "40")
        .output()
        .expect("run nodecheck");
    let text = String::from_utf8(out.stdout).expect("utf-8");
    for line in text.lines() {
        assert!(
            line.chars().count() <= 100,
            "{}: wider than 100 columns: {line:?}",
            snapshot.display()
        );
    }
    text
}

#[test]
fn distribution_fixtures_match_their_reviewed_verdicts() {
    let tmp = std::env::temp_dir().join(format!("nodecheck-distributions-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("temp");
    let mut names: Vec<PathBuf> = std::fs::read_dir(fixtures_dir())
        .expect("fixtures")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("MANIFEST").exists())
        .collect();
    names.sort();
    assert!(
        names.len() >= 6,
        "every distribution of issue 3 has a fixture"
    );
    let bless = std::env::var_os("NODECHECK_BLESS").is_some();
    let mut stale = Vec::new();
    for fixture in &names {
        let name = fixture
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let snapshot = tmp.join(format!("{name}.tar.gz"));
        build_snapshot(fixture, &snapshot);
        let report = scan(&snapshot, "default");
        let text = text_report(&snapshot);
        // A stock bastion's report fits one screen (issue 17); a node with more failing checks
        // than lines keeps one line for each.
        if name == "debian-12-bastion" {
            assert!(
                text.lines().count() <= 40,
                "{name}: the text report fits a 100×40 terminal:\n{text}"
            );
        }
        let mut lists = vec![
            ("verdicts.txt", verdict_list(&report)),
            // Reviewed like the verdicts: what an operator reads first.
            ("report.txt", text),
        ];
        if fixture.join("verdicts-cis.txt").exists() {
            lists.push(("verdicts-cis.txt", verdict_list(&scan(&snapshot, "cis"))));
        }
        for (file, listed) in lists {
            let path = fixture.join(file);
            if bless {
                std::fs::write(&path, &listed).expect("bless");
            }
            let committed = std::fs::read_to_string(&path).unwrap_or_default();
            if committed != listed {
                stale.push(format!(
                    "{name}/{file}:\n--- committed\n{committed}\n+++ now\n{listed}"
                ));
            }
        }
        let inventory = serde_json::to_string_pretty(&report["inventory"]).expect("json") + "\n";
        let inventory_path = fixture.join("inventory.json");
        if bless {
            std::fs::write(&inventory_path, &inventory).expect("bless");
        }
        if std::fs::read_to_string(&inventory_path).unwrap_or_default() != inventory {
            stale.push(format!("{name}: inventory.json differs:\n{inventory}"));
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    assert!(stale.is_empty(), "verdicts changed:\n{}", stale.join("\n"));
}

/// The kubelet's version is its package's (pkgs.k8s.io's `1.31.2-1.1` is Kubernetes v1.31.2),
/// or the one k3s carries; a kubelet neither names has none. A container's image comes from
/// its OCI bundle, which a snapshot keeps without the container's environment.
#[test]
fn kubelet_versions_and_images_are_read_where_the_node_keeps_them() {
    let tmp = std::env::temp_dir().join(format!("nodecheck-versions-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("temp");
    let mut seen = Vec::new();
    for name in ["debian-12-worker", "k3s-1.32", "kubeadm-worker"] {
        let snapshot = tmp.join(format!("{name}.tar.gz"));
        build_snapshot(&fixtures_dir().join(name), &snapshot);
        let report = scan(&snapshot, "default");
        seen.push((
            name,
            report["node"]["kubelet_version"]
                .as_str()
                .map(str::to_string),
        ));
        if name != "debian-12-worker" {
            continue;
        }
        assert_eq!(
            report["inventory"]["containers"][0]["image"],
            "docker.io/library/nginx:1.27.3"
        );
        // A snapshot of it keeps the image annotation, not the environment beside it.
        let again = tmp.join("debian-12-worker-again.tar.gz");
        let out = Command::new(env!("CARGO_BIN_EXE_nodecheck"))
            .args(["snapshot", "--root"])
            .arg(&snapshot)
            .arg("--output")
            .arg(&again)
            .output()
            .expect("run nodecheck snapshot");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut bytes = Vec::new();
        use std::io::Read;
        flate2::read::GzDecoder::new(std::fs::File::open(&again).expect("open"))
            .read_to_end(&mut bytes)
            .expect("gunzip");
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("docker.io/library/nginx:1.27.3"));
        assert!(!text.contains("fixture-secret-never-in-a-snapshot"));
        assert_eq!(
            scan(&again, "default")["inventory"]["containers"][0]["image"],
            "docker.io/library/nginx:1.27.3"
        );
    }
    let _ = std::fs::remove_dir_all(&tmp);
    assert_eq!(
        seen,
        [
            ("debian-12-worker", Some("v1.31.2".to_string())),
            ("k3s-1.32", Some("v1.32.5+k3s1".to_string())),
            ("kubeadm-worker", None),
        ]
    );
}
