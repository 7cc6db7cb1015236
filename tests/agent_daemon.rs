//! The agent and `nodecheck push` against a real collector on loopback: several agents,
//! a configuration change seen within seconds, a collector outage and SIGKILL with nothing
//! lost or sent twice, damaged spool files, refusals and TLS, and a prompt stop on SIGTERM.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[path = "support/collector.rs"]
mod support;
use support::{Scratch, free_port, request, start, start_with, token};

#[path = "support/pki.rs"]
mod pki;

const NODECHECK: &str = env!("CARGO_BIN_EXE_nodecheck");

/// A host root holding only an sshd configuration.
fn root(dir: &Path, sshd_config: &str) -> PathBuf {
    std::fs::create_dir_all(dir.join("etc/ssh")).expect("root");
    std::fs::create_dir_all(dir.join("proc")).expect("proc");
    std::fs::write(dir.join("etc/ssh/sshd_config"), sshd_config).expect("sshd_config");
    dir.to_path_buf()
}

/// Replaces sshd_config the way an editor does: a new file renamed over the old.
fn edit(root: &Path, sshd_config: &str) {
    let new = root.join("etc/ssh/.sshd_config.new");
    std::fs::write(&new, sshd_config).expect("write");
    std::fs::rename(&new, root.join("etc/ssh/sshd_config")).expect("rename");
}

/// A running agent; SIGKILLed and reaped when dropped.
struct Agent {
    child: Child,
    log: PathBuf,
    status_port: u16,
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Agent {
    fn start(
        root: &Path,
        node: &str,
        collector_port: u16,
        token_file: &Path,
        spool: &Path,
        interval: &str,
    ) -> Agent {
        Agent::start_with(root, node, collector_port, token_file, spool, interval, &[])
    }

    fn start_with(
        root: &Path,
        node: &str,
        collector_port: u16,
        token_file: &Path,
        spool: &Path,
        interval: &str,
        extra: &[&str],
    ) -> Agent {
        let status_port = free_port();
        let log = spool.with_extension("log");
        let child = Command::new(NODECHECK)
            .args(["agent", "--root"])
            .arg(root)
            .args([
                "--node-name",
                node,
                "--cluster",
                "e2e",
                "--interval",
                interval,
            ])
            .args(["--collector", &format!("http://127.0.0.1:{collector_port}")])
            .arg("--token-file")
            .arg(token_file)
            .arg("--spool")
            .arg(spool)
            .args(["--listen", &format!("127.0.0.1:{status_port}"), "--metrics"])
            .args(["--request-timeout", "3s"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log"))
            .spawn()
            .expect("start agent");
        let agent = Agent {
            child,
            log,
            status_port,
        };
        wait_for("agent status server", Duration::from_secs(10), || {
            request(status_port, "GET", "/healthz", "", "").is_ok()
        });
        agent
    }

    /// A metric's value (the sum over its labels).
    fn metric(&self, name: &str) -> f64 {
        let (_, text) = request(self.status_port, "GET", "/metrics", "", "").expect("metrics");
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .filter(|l| l.split(['{', ' ']).next() == Some(name))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Report ids in the order the agent had them acknowledged.
    fn uploaded(&self) -> Vec<String> {
        self.log()
            .lines()
            .filter(|l| l.contains("uploaded"))
            .filter_map(|l| l.split("report=").nth(1)?.split_whitespace().next())
            .map(str::to_string)
            .collect()
    }
}

fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn node(port: u16, viewer: &str, name: &str) -> Option<serde_json::Value> {
    let (status, body) = request(
        port,
        "GET",
        &format!("/api/v1/nodes/e2e/{name}"),
        viewer,
        "",
    )
    .ok()?;
    (status == 200).then(|| serde_json::from_str(&body).ok())?
}

/// What `nodecheck scan` says the score of this root is.
fn scan_score(root: &Path) -> u64 {
    let out = Command::new(NODECHECK)
        .args(["scan", "--format", "json", "--fail-on", "none", "--root"])
        .arg(root)
        .output()
        .expect("scan");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("report");
    report["score"].as_u64().expect("score")
}

#[test]
fn agents_report_and_a_changed_sshd_config_shows_within_seconds() {
    let scratch = Scratch::new("agents");
    let port = free_port();
    let _collector = start(&scratch.join("collector"), port);
    let token_file = scratch.join("collector/agent.token");
    let viewer = token(&scratch.join("collector"), "viewer");
    let strict = "PermitRootLogin no\nPasswordAuthentication no\n";
    let roots = [
        root(&scratch.join("root-a"), strict),
        root(&scratch.join("root-b"), "PermitRootLogin yes\n"),
    ];
    let agents: Vec<Agent> = ["node-a", "node-b"]
        .iter()
        .zip(&roots)
        .map(|(name, root)| {
            Agent::start(
                root,
                name,
                port,
                &token_file,
                &scratch.join(format!("spool-{name}")),
                "1h",
            )
        })
        .collect();
    for (name, root) in ["node-a", "node-b"].iter().zip(&roots) {
        wait_for(name, Duration::from_secs(10), || {
            node(port, &viewer, name).is_some()
        });
        let detail = node(port, &viewer, name).expect("node");
        assert_eq!(
            detail["report"]["score"].as_u64(),
            Some(scan_score(root)),
            "{name}: the collector has the score a scan gives"
        );
        assert_eq!(detail["report"]["agent"]["interval_s"], 3600);
    }
    // node-a's sshd now lets root in: the collector knows within seconds, not in an hour.
    let before = node(port, &viewer, "node-a").expect("node")["report"]["id"].clone();
    let changed = Instant::now();
    edit(&roots[0], "PermitRootLogin yes\n");
    wait_for("the change", Duration::from_secs(10), || {
        node(port, &viewer, "node-a").is_some_and(|n| n["report"]["id"] != before)
    });
    eprintln!("change seen by the collector after {:?}", changed.elapsed());
    let detail = node(port, &viewer, "node-a").expect("node");
    let root_login = detail["report"]["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["id"] == "sshd.permit-root-login")
        .expect("finding")
        .clone();
    assert_eq!(root_login["status"], "fail");
    assert_eq!(agents[0].metric("nodecheck_agent_scans_total"), 2.0);
    assert_eq!(agents[1].metric("nodecheck_agent_scans_total"), 1.0);

    // The same fleet from a terminal.
    let fleet = |args: &[&str]| -> String {
        let out = Command::new(NODECHECK)
            .arg("fleet")
            .args(["--collector", &format!("http://127.0.0.1:{port}")])
            .arg("--token-file")
            .arg(scratch.join("collector/viewer.token"))
            .args(args)
            .env("NO_COLOR", "1")
            .output()
            .expect("fleet");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let table = fleet(&["nodes"]);
    assert!(!table.contains('\x1b'), "NO_COLOR: {table}");
    let rows: Vec<&str> = table.lines().filter(|l| l.contains("node-")).collect();
    assert_eq!(rows.len(), 2, "{table}");
    assert!(table.lines().all(|l| l.chars().count() <= 80), "{table}");
    let json: serde_json::Value =
        serde_json::from_str(&fleet(&["nodes", "--format", "json"])).expect("json");
    let scores: Vec<i64> = json
        .as_array()
        .expect("array")
        .iter()
        .map(|n| n["score"].as_i64().expect("score"))
        .collect();
    assert!(
        scores.windows(2).all(|w| w[0] <= w[1]),
        "worst first: {scores:?}"
    );
    let checks = fleet(&["checks"]);
    assert!(checks.contains("sshd.permit-root-login"), "{checks}");
    let detail = fleet(&["node", "e2e/node-a"]);
    assert!(
        detail.contains("FAIL sshd.permit-root-login [high]"),
        "{detail}"
    );
    assert!(detail.contains("fix: "), "{detail}");
}

#[test]
fn an_outage_and_a_killed_collector_lose_nothing_and_send_nothing_twice() {
    let scratch = Scratch::new("outage");
    let port = free_port();
    let data = scratch.join("collector");
    let collector = start(&data, port);
    let token_file = data.join("agent.token");
    let root = root(&scratch.join("root"), "PermitRootLogin no\n");
    let agent = Agent::start(
        &root,
        "node-o",
        port,
        &token_file,
        &scratch.join("spool"),
        "1s",
    );
    wait_for("first upload", Duration::from_secs(10), || {
        agent.metric("nodecheck_agent_uploads_total") >= 2.0
    });
    // The collector dies mid-stream (SIGKILL: a request may be in flight), and stays away
    // while the agent keeps scanning.
    drop(collector);
    wait_for("the spool to grow", Duration::from_secs(20), || {
        agent.metric("nodecheck_agent_spool_reports") >= 4.0
    });
    assert!(agent.metric("nodecheck_agent_upload_failures_total") >= 1.0);
    let collector = start(&data, port);
    wait_for("the spool to drain", Duration::from_secs(60), || {
        agent.metric("nodecheck_agent_spool_reports") == 0.0
            && agent.metric("nodecheck_agent_uploads_total") >= 6.0
    });
    // Stop the agent, then compare what it had acknowledged with what the collector holds.
    let _ = Command::new("kill")
        .args(["-TERM", &agent.child.id().to_string()])
        .status();
    std::thread::sleep(Duration::from_millis(500));
    let uploaded = agent.uploaded();
    let mut sorted = uploaded.clone();
    sorted.sort();
    assert_eq!(uploaded, sorted, "sent oldest first");
    let mut unique = sorted.clone();
    unique.dedup();
    assert_eq!(
        unique.len(),
        uploaded.len(),
        "each report acknowledged once"
    );
    let (_, metrics) = request(port, "GET", "/metrics", &token(&data, "viewer"), "").expect("m");
    let stored: f64 = metrics
        .lines()
        .find(|l| l.starts_with("nodecheck_reports_stored "))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .expect("reports gauge");
    // Every acknowledged report is stored, once: one whose acknowledgement the killed
    // collector never sent is sent again and answered "duplicate", not stored twice.
    assert_eq!(
        stored as usize,
        unique.len(),
        "stored reports = acknowledged ones; log:\n{}",
        agent.log()
    );
    drop(collector);
}

#[test]
fn damaged_spool_files_are_quarantined_and_the_agent_carries_on_and_stops_promptly() {
    let scratch = Scratch::new("spool");
    let port = free_port();
    let data = scratch.join("collector");
    let _collector = start(&data, port);
    let spool = scratch.join("spool");
    std::fs::create_dir_all(&spool).expect("spool");
    // What a kill mid-write leaves (a temporary file), and a final file damaged on disk.
    std::fs::write(spool.join(".tmp-01ZZZ.json"), "{\"schema\":").expect("torn");
    std::fs::write(spool.join("01AAA.json"), "\0\0 not a report").expect("damaged");
    let root = root(&scratch.join("root"), "PermitRootLogin no\n");
    let mut agent = Agent::start(
        &root,
        "node-s",
        port,
        &data.join("agent.token"),
        &spool,
        "1h",
    );
    wait_for("upload", Duration::from_secs(10), || {
        agent.metric("nodecheck_agent_uploads_total") >= 1.0
    });
    assert_eq!(agent.metric("nodecheck_agent_spool_quarantined_total"), 1.0);
    assert!(spool.join("quarantine/01AAA.json").exists());
    assert!(!spool.join(".tmp-01ZZZ.json").exists());
    let log = agent.log();
    assert!(log.contains("spooled report is not a report"), "{log}");
    assert!(
        log.contains("removed reports whose writing was interrupted"),
        "{log}"
    );
    // SIGTERM: gone within a few seconds, saying so.
    let asked = Instant::now();
    let _ = Command::new("kill")
        .args(["-TERM", &agent.child.id().to_string()])
        .status();
    let status = agent.child.wait().expect("wait");
    assert!(
        asked.elapsed() < Duration::from_secs(3),
        "{:?}",
        asked.elapsed()
    );
    assert!(status.success(), "{status:?}");
    assert!(agent.log().contains("stopping on SIGTERM"));
}

#[test]
fn refusals_and_missing_tokens_are_logged_counted_and_survived() {
    let scratch = Scratch::new("refusals");
    let port = free_port();
    let data = scratch.join("collector");
    let _collector = start(&data, port);
    let root = root(&scratch.join("root"), "PermitRootLogin no\n");
    // An empty token file; a token the collector does not know (401); a viewer token, which
    // may not post (403); no token file at all: each refused with its reason, the report kept.
    // The agent is restarted for each (a new start retries at once), so the spool also
    // carries its reports across restarts. Logs are JSON lines.
    let token_file = scratch.join("token");
    let spool = scratch.join("spool");
    let viewer = token(&data, "viewer");
    let steps: [(Option<&str>, &str, &str); 4] = [
        (Some("\n"), "is empty", "token"),
        (
            Some("not-a-token"),
            "collector refused the request (401)",
            "refused_401",
        ),
        (
            Some(&viewer),
            "collector refused the request (403)",
            "refused_403",
        ),
        (None, "No such file or directory", "token"),
    ];
    let json_lines = |agent: &Agent| {
        for line in agent.log().lines() {
            let entry: serde_json::Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
            assert!(
                entry["level"].is_string() && entry["message"].is_string(),
                "{line}"
            );
        }
    };
    for (round, (content, expected, kind)) in steps.iter().enumerate() {
        match content {
            Some(text) => std::fs::write(&token_file, text).expect("token"),
            None => std::fs::remove_file(&token_file).expect("remove"),
        }
        let agent = Agent::start_with(
            &root,
            "node-r",
            port,
            &token_file,
            &spool,
            "1h",
            &["--log-format", "json"],
        );
        wait_for(expected, Duration::from_secs(10), || {
            agent.log().contains(expected)
        });
        let (_, metrics) = request(agent.status_port, "GET", "/metrics", "", "").expect("metrics");
        assert!(
            metrics.contains(&format!("kind=\"{kind}\"}}")),
            "{kind}: {metrics}"
        );
        assert_eq!(
            agent.metric("nodecheck_agent_spool_reports"),
            (round + 1) as f64,
            "every report kept for later"
        );
        json_lines(&agent);
    }
    // The right token: everything kept through all this arrives.
    std::fs::write(&token_file, token(&data, "agent")).expect("token");
    let agent = Agent::start_with(
        &root,
        "node-r",
        port,
        &token_file,
        &spool,
        "1h",
        &["--log-format", "json"],
    );
    wait_for("the uploads", Duration::from_secs(10), || {
        agent.metric("nodecheck_agent_spool_reports") == 0.0
    });
    assert_eq!(agent.metric("nodecheck_agent_uploads_total"), 5.0);
    json_lines(&agent);
}

fn push(args: &[&str], extra: &[&std::ffi::OsStr]) -> (i32, String) {
    let out = Command::new(NODECHECK)
        .arg("push")
        .args(args)
        .args(extra)
        .output()
        .expect("push");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn push_says_in_its_exit_code_whether_the_verdict_or_the_upload_failed() {
    let scratch = Scratch::new("push");
    let port = free_port();
    let data = scratch.join("collector");
    let _collector = start(&data, port);
    let root = root(&scratch.join("root"), "PermitRootLogin yes\n");
    let url = format!("http://127.0.0.1:{port}");
    let agent_token = data.join("agent.token");
    let common = |token: &Path| -> Vec<std::ffi::OsString> {
        vec![
            "--root".into(),
            root.clone().into(),
            "--token-file".into(),
            token.into(),
            "--node-name".into(),
            "bastion".into(),
        ]
    };
    let run = |collector: &str, token: &Path, fail_on: &str| {
        let owned = common(token);
        let extra: Vec<&std::ffi::OsStr> = owned.iter().map(|s| s.as_os_str()).collect();
        push(&["--collector", collector, "--fail-on", fail_on], &extra)
    };
    let (code, stderr) = run(&url, &agent_token, "none");
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("stored by"), "{stderr}");
    let (code, _) = run(&url, &agent_token, "high");
    assert_eq!(code, 1, "root login is a failing high finding");
    let (code, stderr) = run(&url, &data.join("viewer.token"), "none");
    assert_eq!(code, 2);
    assert!(stderr.contains("refused the request (403)"), "{stderr}");
    let (code, stderr) = run(&url, &scratch.join("no-token"), "none");
    assert_eq!(code, 2);
    assert!(stderr.contains("no-token"), "{stderr}");
    let (code, stderr) = run(
        &format!("http://127.0.0.1:{}", free_port()),
        &agent_token,
        "none",
    );
    assert_eq!(code, 2);
    assert!(stderr.contains("unreachable"), "{stderr}");
}

/// A collector serving HTTPS with `cert` and `key`, once it has written its agent token; its
/// port, and the `push` arguments (a root, that token) every TLS case uses.
fn tls_collector(
    scratch: &Scratch,
    cert: &str,
    key: &str,
) -> (support::Collector, u16, Vec<std::ffi::OsString>) {
    let port = free_port();
    let data = scratch.join("collector");
    let collector = support::spawn(&data, port, &["--tls-cert", cert, "--tls-key", key]);
    wait_for("collector token", Duration::from_secs(20), || {
        data.join("agent.token").exists()
    });
    std::thread::sleep(Duration::from_millis(300));
    let root = root(&scratch.join("root"), "PermitRootLogin no\n");
    let base = vec![
        "--root".into(),
        root.into(),
        "--token-file".into(),
        data.join("agent.token").into(),
        "--fail-on".into(),
        "none".into(),
    ];
    (collector, port, base)
}

#[test]
fn push_over_tls_trusts_the_given_ca_only() {
    if Command::new("openssl").arg("version").output().is_err() {
        assert!(
            std::env::var_os("NODECHECK_REQUIRE_TOOLS").is_none(),
            "openssl is required (NODECHECK_REQUIRE_TOOLS is set) but not installed"
        );
        eprintln!("skipped: openssl not installed");
        return;
    }
    let scratch = Scratch::new("push-tls");
    let pki_dir = scratch.join("pki");
    std::fs::create_dir_all(&pki_dir).expect("pki");
    pki::certificates(&pki_dir);
    let cert = pki_dir.join("server.crt").display().to_string();
    let key = pki_dir.join("server.key").display().to_string();
    let (_collector, port, base) = tls_collector(&scratch, &cert, &key);
    let url = format!("https://127.0.0.1:{port}");
    let base: Vec<&std::ffi::OsStr> = base.iter().map(|s| s.as_os_str()).collect();
    let ca = pki_dir.join("ca.crt").display().to_string();
    let (code, stderr) = push(&["--collector", &url, "--ca", &ca], &base);
    assert_eq!(code, 0, "{stderr}");
    // With a client certificate as well (the collector does not ask for one; it is offered).
    let (code, stderr) = push(
        &[
            "--collector",
            &url,
            "--ca",
            &ca,
            "--client-cert",
            &cert,
            "--client-key",
            &key,
        ],
        &base,
    );
    assert_eq!(code, 0, "{stderr}");
    // The public roots do not know this CA.
    let (code, stderr) = push(&["--collector", &url], &base);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("unreachable") && stderr.to_lowercase().contains("certificate"),
        "{stderr}"
    );
    // A CA file that is not one.
    let (code, stderr) = push(&["--collector", &url, "--ca", &key], &base);
    assert_eq!(code, 2);
    assert!(stderr.contains("holds no PEM certificate"), "{stderr}");
    let _ = start_with; // the plain start is used by the other tests
}

/// `nodecheck-collector cert` as the operator guide runs it outside Kubernetes: the collector
/// serves what it wrote, `push --ca` with its ca.crt reaches it by each name asked for, and the
/// CA of a second run (each run's CA signs one certificate) is not trusted for the first.
#[test]
fn the_collectors_own_certificate_is_trusted_by_its_ca_alone() {
    let scratch = Scratch::new("cert");
    let cert = |dir: &Path| {
        let out = Command::new(support::bin())
            .args([
                "cert",
                "--name",
                "localhost",
                "--name",
                "127.0.0.1",
                "--out-dir",
            ])
            .arg(dir)
            .output()
            .expect("cert");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let (first, second) = (scratch.join("first"), scratch.join("second"));
    cert(&first);
    cert(&second);
    let tls = |name: &str| first.join(name).display().to_string();
    let (_collector, port, base) = tls_collector(&scratch, &tls("tls.crt"), &tls("tls.key"));
    let base: Vec<&std::ffi::OsStr> = base.iter().map(|s| s.as_os_str()).collect();
    for host in ["localhost", "127.0.0.1"] {
        let url = format!("https://{host}:{port}");
        let (code, stderr) = push(&["--collector", &url, "--ca", &tls("ca.crt")], &base);
        assert_eq!(code, 0, "{host}: {stderr}");
    }
    let other_ca = second.join("ca.crt").display().to_string();
    let url = format!("https://localhost:{port}");
    let (code, stderr) = push(&["--collector", &url, "--ca", &other_ca], &base);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.to_lowercase().contains("certificate"),
        "says why: {stderr}"
    );
}

/// Kills the agent with SIGKILL at random moments while it scans and spools every 200 ms
/// with no collector to take the reports; at every restart the spool holds only whole
/// reports. Then a collector appears and every spooled report arrives, once.
#[test]
fn an_agent_killed_mid_write_leaves_only_whole_reports() {
    let scratch = Scratch::new("kill-agent");
    let port = free_port();
    let data = scratch.join("collector");
    // Made now for its token; stopped until the end.
    drop(start(&data, port));
    let token_file = data.join("agent.token");
    let root = root(&scratch.join("root"), "PermitRootLogin no\n");
    let spool = scratch.join("spool");
    let mut rounds = 0;
    for round in 0..12u64 {
        let agent = Agent::start(&root, "node-k", port, &token_file, &spool, "200ms");
        // Different moments of the scan/spool cycle each round.
        std::thread::sleep(Duration::from_millis(150 + (round * 97) % 400));
        drop(agent); // SIGKILL
        rounds += 1;
        for entry in std::fs::read_dir(&spool).expect("spool") {
            let path = entry.expect("entry").path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            let Some(id) = name.strip_suffix(".json").filter(|n| !n.starts_with('.')) else {
                continue;
            };
            let report: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&path).expect("read"))
                    .unwrap_or_else(|e| panic!("round {round}: {name} is torn: {e}"));
            assert_eq!(report["id"], id, "round {round}");
        }
    }
    let spooled = std::fs::read_dir(&spool)
        .expect("spool")
        .filter_map(|e| e.ok())
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.ends_with(".json") && !name.starts_with('.')
        })
        .count();
    assert!(
        spooled >= rounds,
        "{spooled} reports spooled in {rounds} rounds"
    );
    let _collector = start(&data, port);
    let agent = Agent::start(&root, "node-k", port, &token_file, &spool, "1h");
    wait_for("the spool to drain", Duration::from_secs(30), || {
        agent.metric("nodecheck_agent_spool_reports") == 0.0
    });
    assert_eq!(agent.metric("nodecheck_agent_spool_quarantined_total"), 0.0);
    // The spool can be empty before the restarted agent's own first report is sent (it is
    // spooled after the drain began): wait for it rather than race it.
    wait_for(
        "the new report to arrive too",
        Duration::from_secs(30),
        || agent.uploaded().len() > spooled,
    );
    let uploaded = agent.uploaded();
    assert!(uploaded.len() > spooled, "the spooled ones and the new one");
    let (_, metrics) = request(port, "GET", "/metrics", &token(&data, "viewer"), "").expect("m");
    assert!(
        metrics.contains(&format!("nodecheck_reports_stored {}\n", uploaded.len())),
        "{uploaded:?}"
    );
}

/// A tmpfs too small for one report stands for a full disk: the agent says so, counts it,
/// sends the report straight from memory, and keeps running.
#[test]
fn a_full_spool_disk_is_logged_counted_and_survived() {
    let scratch = Scratch::new("full-disk");
    let spool = scratch.join("spool");
    std::fs::create_dir_all(&spool).expect("spool");
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=8k", "tmpfs"])
        .arg(&spool)
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        assert!(
            std::env::var("NODECHECK_REQUIRE_TOOLS").as_deref() != Ok("1"),
            "NODECHECK_REQUIRE_TOOLS=1 but a tmpfs cannot be mounted (root needed)"
        );
        eprintln!("skipped: cannot mount a tmpfs (not root)");
        return;
    }
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(spool.clone());
    let port = free_port();
    let data = scratch.join("collector");
    let _collector = start(&data, port);
    let root = root(&scratch.join("root"), "PermitRootLogin no\n");
    let agent = Agent::start(
        &root,
        "node-f",
        port,
        &data.join("agent.token"),
        &spool,
        "1h",
    );
    wait_for("the upload", Duration::from_secs(10), || {
        agent.metric("nodecheck_agent_uploads_total") >= 1.0
    });
    assert_eq!(
        agent.metric("nodecheck_agent_spool_write_failures_total"),
        1.0
    );
    let log = agent.log();
    assert!(log.contains("cannot spool report"), "{log}");
    assert!(log.contains("No space left on device"), "{log}");
    assert_eq!(
        std::fs::read_dir(&spool).expect("spool").count(),
        0,
        "no partial file left behind"
    );
    assert_eq!(
        request(agent.status_port, "GET", "/healthz", "", "")
            .expect("healthz")
            .0,
        200
    );
}

/// A collector answering 503 with `Retry-After: 3`, then 500, then 413: the first two are
/// retried (the report stays spooled), the 503 not before the three seconds asked for (the
/// agent's own first retry comes within one); the last will never be accepted (the report goes
/// to quarantine); all are logged and counted, and the agent keeps running.
#[test]
fn server_errors_are_retried_and_refused_reports_quarantined() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let answers = [
        (
            503,
            "Service Unavailable\r\nRetry-After: 3",
            r#"{"error":"64 reports are being received; retry later"}"#,
        ),
        (500, "Internal Server Error", r#"{"error":"storage error"}"#),
        (
            413,
            "Payload Too Large",
            r#"{"error":"report larger than 8388608 bytes"}"#,
        ),
    ];
    let server = std::thread::spawn(move || {
        let mut arrivals = Vec::new();
        for (status, reason, body) in answers {
            let (mut stream, _) = listener.accept().expect("accept");
            arrivals.push(Instant::now());
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .expect("timeout");
            // Read the head, then the body it announces.
            let mut request = Vec::new();
            let mut buffer = [0u8; 65536];
            let head_end = loop {
                let n = stream.read(&mut buffer).expect("read");
                assert!(n > 0, "client closed early");
                request.extend_from_slice(&buffer[..n]);
                if let Some(at) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                    break at + 4;
                }
            };
            let head = String::from_utf8_lossy(&request[..head_end]).to_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            while request.len() < head_end + length {
                let n = stream.read(&mut buffer).expect("read");
                assert!(n > 0, "client closed early");
                request.extend_from_slice(&buffer[..n]);
            }
            let _ = write!(
                stream,
                "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
        arrivals
    });
    let scratch = Scratch::new("fake-collector");
    let token_file = scratch.join("token");
    std::fs::write(&token_file, "any-token").expect("token");
    let root = root(&scratch.join("root"), "PermitRootLogin no\n");
    let spool = scratch.join("spool");
    let agent = Agent::start(&root, "node-e", port, &token_file, &spool, "1h");
    wait_for("every answer", Duration::from_secs(15), || {
        agent.metric("nodecheck_agent_spool_quarantined_total") >= 1.0
    });
    let arrivals = server.join().expect("server");
    let waited = arrivals[1] - arrivals[0];
    assert!(
        waited >= Duration::from_secs(3),
        "retried {waited:?} after a 503 asking for 3 s"
    );
    let log = agent.log();
    assert!(log.contains("(asked to retry after 3 s)"), "{log}");
    assert!(
        log.contains("collector failed (500): storage error"),
        "{log}"
    );
    assert!(log.contains("refused the report for good"), "{log}");
    assert_eq!(agent.metric("nodecheck_agent_spool_reports"), 0.0);
    assert_eq!(
        std::fs::read_dir(spool.join("quarantine"))
            .expect("q")
            .count(),
        1
    );
    let (_, metrics) = request(agent.status_port, "GET", "/metrics", "", "").expect("metrics");
    assert!(metrics.contains("kind=\"server_500\"} 1"), "{metrics}");
    assert!(metrics.contains("kind=\"server_503\"} 1"), "{metrics}");
    assert!(metrics.contains("kind=\"refused_413\"} 1"), "{metrics}");
}

/// The kubelet's probes are served on `--listen`; `/metrics` only with `--metrics`, for a
/// configured scraper (issue 12: anyone reaching the pod could read upload failures and the
/// node's score).
#[test]
fn metrics_are_served_only_when_asked_for() {
    let scratch = Scratch::new("agent-no-metrics");
    let token_file = scratch.join("token");
    std::fs::write(&token_file, "any-token").expect("token");
    let root = root(&scratch.join("root"), "PermitRootLogin no\n");
    let status_port = free_port();
    let mut child = Command::new(NODECHECK)
        .args(["agent", "--root"])
        .arg(&root)
        .args(["--node-name", "node-m", "--interval", "1h"])
        // Nothing listens there: uploads fail, which does not matter here.
        .args(["--collector", &format!("http://127.0.0.1:{}", free_port())])
        .arg("--token-file")
        .arg(&token_file)
        .arg("--spool")
        .arg(scratch.join("spool"))
        .args(["--listen", &format!("127.0.0.1:{status_port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start agent");
    wait_for("agent status server", Duration::from_secs(10), || {
        request(status_port, "GET", "/healthz", "", "").is_ok()
    });
    let (status, _) = request(status_port, "GET", "/metrics", "", "").expect("metrics");
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(status, 404);
}

/// Enrollment end to end, outside Kubernetes: two nodes enroll with one enrollment token, each
/// keeps its own node token (0600) and can post only for itself; a third attempt to enroll a
/// name already enrolled is refused; once an admin revokes that node's token, it enrolls again.
/// And the agent daemon enrolls the same way, keeping its token beside its spool.
#[test]
fn nodes_enroll_once_and_then_speak_only_for_themselves() {
    use std::os::unix::fs::PermissionsExt;
    let scratch = Scratch::new("enroll");
    let port = free_port();
    let data = scratch.join("collector");
    let _collector = start(&data, port);
    let url = format!("http://127.0.0.1:{port}");
    let enroll = scratch.join("enroll.token");
    std::fs::write(
        &enroll,
        support::create_token(
            &data,
            &[
                "--role",
                "enroll",
                "--name",
                "bastions",
                "--cluster",
                "e2e",
                "--uses",
                "4",
            ],
        ),
    )
    .expect("enroll token");
    let root = root(&scratch.join("root"), "PermitRootLogin no\n");
    let push_as = |node: &str, state: &Path, extra: &[&str]| {
        let mut args: Vec<std::ffi::OsString> = vec![
            "--root".into(),
            root.clone().into(),
            "--collector".into(),
            url.clone().into(),
            "--node-name".into(),
            node.into(),
            "--cluster".into(),
            "e2e".into(),
            "--state-dir".into(),
            state.into(),
            "--fail-on".into(),
            "none".into(),
        ];
        args.extend(extra.iter().map(std::ffi::OsString::from));
        let args: Vec<&std::ffi::OsStr> = args.iter().map(|s| s.as_os_str()).collect();
        push(&[], &args)
    };
    let with_enrollment = ["--enroll-token-file", enroll.to_str().expect("utf-8")];
    let (state_a, state_b) = (scratch.join("state-a"), scratch.join("state-b"));
    for (node, state) in [("node-a", &state_a), ("node-b", &state_b)] {
        let (code, stderr) = push_as(node, state, &with_enrollment);
        assert_eq!(code, 0, "{node}: {stderr}");
        let kept = state.join("node.token");
        let mode = std::fs::metadata(&kept)
            .expect("node token")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{node}");
        // Later pushes use the node token (the enrollment token is not needed any more).
        let (code, stderr) = push_as(node, state, &[]);
        assert_eq!(code, 0, "{node} again: {stderr}");
    }
    // A node token speaks for its node only.
    let (code, stderr) = push_as("node-b", &state_a, &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("may not post for e2e/node-b"), "{stderr}");
    // node-a is enrolled: a third attempt to enroll that name is refused.
    let state_c = scratch.join("state-c");
    let (code, stderr) = push_as("node-a", &state_c, &with_enrollment);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("e2e/node-a is enrolled already"),
        "{stderr}"
    );
    assert!(!state_c.join("node.token").exists());
    // An admin revokes node-a's token; node-a enrolls again, and its old token is dead.
    let list = Command::new(support::bin())
        .args(["token", "--data-dir"])
        .arg(&data)
        .arg("list")
        .output()
        .expect("token list");
    let list = String::from_utf8_lossy(&list.stdout).into_owned();
    let id = list
        .lines()
        .find(|l| l.contains("node node-a (enrolled"))
        .and_then(|l| l.split('\t').next())
        .expect("node-a's token")
        .to_string();
    let revoked = Command::new(support::bin())
        .args(["token", "--data-dir"])
        .arg(&data)
        .args(["revoke", &id])
        .output()
        .expect("revoke");
    assert!(revoked.status.success());
    let (code, stderr) = push_as("node-a", &state_c, &with_enrollment);
    assert_eq!(code, 0, "{stderr}");
    let (code, stderr) = push_as("node-a", &state_a, &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("revoked"), "{stderr}");

    // The agent daemon enrolls on its first upload and keeps the token beside its spool.
    let spool = scratch.join("agent-d").join("spool");
    let status_port = free_port();
    let mut child = Command::new(NODECHECK)
        .args(["agent", "--root"])
        .arg(&root)
        .args([
            "--node-name",
            "node-d",
            "--cluster",
            "e2e",
            "--interval",
            "1h",
        ])
        .args(["--collector", &url])
        .args(["--enroll-token-file", enroll.to_str().expect("utf-8")])
        .arg("--spool")
        .arg(&spool)
        .args(["--listen", &format!("127.0.0.1:{status_port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start agent");
    let viewer = token(&data, "viewer");
    wait_for("node-d's report", Duration::from_secs(30), || {
        node(port, &viewer, "node-d").is_some()
    });
    let _ = child.kill();
    let _ = child.wait();
    let kept = scratch.join("agent-d").join("node.token");
    assert_eq!(
        std::fs::metadata(&kept)
            .expect("agent's node token")
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    // Four uses: node-a, node-b, node-a again, node-d. A fifth node is refused.
    let (code, stderr) = push_as("node-e", &scratch.join("state-e"), &with_enrollment);
    assert_eq!(code, 2);
    assert!(stderr.contains("has no use left"), "{stderr}");
}
