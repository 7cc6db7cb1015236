//! packaging/monitoring checked with the real tools: the alerting rules with `promtool check
//! rules` and `promtool test rules` (every alert made to fire and to resolve), the
//! PrometheusRule generated from them not stale, and a real Prometheus on loopback scraping a
//! real collector and two real agents with the rules loaded: every target up, every rule
//! evaluated without error, the alerts the data calls for pending and no other, and every query
//! of the Grafana dashboard accepted. Every metric name the rules and the dashboard use is one
//! the real collector or agent exports, and every `severity` they select checks by is one the
//! collector labels `nodecheck_check_failing_nodes` with.
//!
//! Without `promtool` or `prometheus` (Debian's `prometheus` package) the tests that need them
//! say why and pass, unless `NODECHECK_REQUIRE_TOOLS=1`; the others always run.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nodecheck_report::{Severity, Status};
use serde_json::Value;
use yaml_rust2::{Yaml, YamlLoader};

#[path = "support/collector.rs"]
mod support;
use support::{Scratch, free_port, request, start, token};

#[path = "support/report.rs"]
mod sample;

const NODECHECK: &str = env!("CARGO_BIN_EXE_nodecheck");
/// The jobs the rules read (`up{job=…}` among them), as the README's scrape configurations
/// name them.
const COLLECTOR_JOB: &str = "nodecheck-collector";
const AGENT_JOB: &str = "nodecheck-agent";

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../packaging/monitoring")
}

fn read(name: &str) -> String {
    let path = dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn require_tools() -> bool {
    std::env::var("NODECHECK_REQUIRE_TOOLS").is_ok_and(|v| v == "1")
}

/// `name` on the PATH; None, saying why the test is skipped, when it is not installed (a
/// failure under NODECHECK_REQUIRE_TOOLS=1).
fn tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file());
    if found.is_none() {
        assert!(
            !require_tools(),
            "NODECHECK_REQUIRE_TOOLS=1 but {name} is not installed (Debian's prometheus package)"
        );
        eprintln!(
            "SKIPPED: {name} is not installed (apt-get install prometheus); set NODECHECK_REQUIRE_TOOLS=1 to fail instead"
        );
    }
    found
}

/// Runs `command`, failing the test with its output unless it succeeds; stdout and stderr.
fn run(command: &mut Command) -> String {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "{command:?} failed ({}):\n{text}",
        out.status
    );
    text
}

fn rules_doc() -> Yaml {
    YamlLoader::load_from_str(&read("rules.yaml"))
        .expect("rules.yaml is YAML")
        .into_iter()
        .next()
        .expect("rules.yaml has a document")
}

/// The rules of rules.yaml, each with its group's name.
fn alerts() -> Vec<(String, Yaml)> {
    let doc = rules_doc();
    let mut alerts = Vec::new();
    for group in doc["groups"].as_vec().expect("rules.yaml: groups:") {
        let name = group["name"].as_str().expect("a group's name");
        for rule in group["rules"].as_vec().expect("a group's rules:") {
            alerts.push((name.to_string(), rule.clone()));
        }
    }
    alerts
}

/// Every expression and annotation of rules.yaml.
fn rule_texts() -> Vec<String> {
    let mut texts = Vec::new();
    for (_, rule) in alerts() {
        texts.extend(rule["expr"].as_str().map(str::to_string));
        if let Some(annotations) = rule["annotations"].as_hash() {
            texts.extend(
                annotations
                    .values()
                    .filter_map(|v| v.as_str())
                    .map(str::to_string),
            );
        }
    }
    texts
}

fn dashboard() -> Value {
    serde_json::from_str(&read("grafana-dashboard.json")).expect("grafana-dashboard.json is JSON")
}

/// The dashboard's panels, those inside rows included.
fn panels(dashboard: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for panel in dashboard["panels"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        out.push(panel);
        out.extend(
            panel["panels"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default(),
        );
    }
    out
}

/// Every query of the dashboard: the panels' `expr`s and the variables' queries.
fn dashboard_queries(dashboard: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dashboard];
    while let Some(value) = stack.pop() {
        match value {
            Value::Object(map) => {
                for (key, v) in map {
                    match (key.as_str(), v) {
                        ("expr" | "query" | "definition", Value::String(s)) => out.push(s.clone()),
                        _ => stack.push(v),
                    }
                }
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    out
}

/// The metric names (`nodecheck_…`) in a query or a text.
fn names_in(text: &str) -> BTreeSet<String> {
    let bytes = text.as_bytes();
    let mut names = BTreeSet::new();
    let mut from = 0;
    while let Some(at) = text[from..].find("nodecheck_") {
        let start = from + at;
        let end = text[start..]
            .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
            .map_or(text.len(), |length| start + length);
        // Not the tail of a longer identifier.
        let glued = start > 0
            && (bytes[start - 1].is_ascii_alphanumeric()
                || matches!(bytes[start - 1], b'_' | b':'));
        if !glued {
            names.insert(text[start..end].to_string());
        }
        from = end;
    }
    names
}

/// The sample names of an OpenMetrics exposition: the names Prometheus stores
/// (`nodecheck_ingest_total`, `nodecheck_ingest_duration_seconds_bucket`, …), which queries use.
fn exported(metrics: &str) -> BTreeSet<String> {
    metrics
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .filter_map(|line| line.split(['{', ' ']).next())
        .map(str::to_string)
        .collect()
}

/// The values every `severity` matcher of `text` selects (`severity="critical"`, and each
/// alternative of `severity=~"high|medium"`).
fn severity_matchers(text: &str) -> Vec<String> {
    let mut values = Vec::new();
    for (at, name) in text.match_indices("severity") {
        let rest = &text[at + name.len()..];
        let Some(op) = ["=~\"", "!~\"", "!=\"", "=\""]
            .into_iter()
            .find(|op| rest.starts_with(op))
        else {
            continue;
        };
        let rest = &rest[op.len()..];
        let value = &rest[..rest.find('"').expect("the matcher's closing quote")];
        values.extend(value.split('|').map(str::to_string));
    }
    values
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within 30 s");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Calls `f` until it gives a value, for at most `limit`; its error says what it last saw.
fn poll<T>(what: &str, limit: Duration, mut f: impl FnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        match f() {
            Ok(value) => return value,
            Err(why) if Instant::now() >= deadline => panic!("{what}: not within {limit:?}: {why}"),
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}

/// A running agent serving /metrics; SIGKILLed and reaped when dropped.
struct Agent {
    child: Child,
    port: u16,
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Agent {
    /// `nodecheck agent` for `node` of cluster prod, on a root holding only an sshd_config,
    /// uploading to `collector`.
    fn start(scratch: &Path, node: &str, collector: &str, token_file: &Path) -> Agent {
        let root = scratch.join(format!("root-{node}"));
        std::fs::create_dir_all(root.join("etc/ssh")).expect("root");
        std::fs::create_dir_all(root.join("proc")).expect("proc");
        std::fs::write(root.join("etc/ssh/sshd_config"), "PermitRootLogin yes\n")
            .expect("sshd_config");
        let port = free_port();
        let child = Command::new(NODECHECK)
            .args(["agent", "--root"])
            .arg(&root)
            .args(["--node-name", node, "--cluster", "prod", "--interval", "1h"])
            .args(["--collector", collector])
            .arg("--token-file")
            .arg(token_file)
            .arg("--spool")
            .arg(scratch.join(format!("spool-{node}")))
            .args(["--listen", &format!("127.0.0.1:{port}"), "--metrics"])
            .args(["--request-timeout", "3s"])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(scratch.join(format!("{node}.log"))).expect("log"))
            .spawn()
            .expect("start agent");
        let agent = Agent { child, port };
        wait_for("the agent's status server", || {
            request(port, "GET", "/healthz", "", "").is_ok()
        });
        agent
    }

    fn metrics(&self) -> String {
        request(self.port, "GET", "/metrics", "", "")
            .map(|(_, body)| body)
            .unwrap_or_default()
    }
}

/// A collector holding one posted report (web-1 of cluster prod failing a critical check) and
/// two agents: node-a uploads to the collector (its scan fails high checks: PermitRootLogin
/// yes), node-b's uploads fail (nothing listens where it sends them), so that every metric
/// family the rules and the dashboard read has samples.
struct Fleet {
    // Dropped in this order: the processes first, their directory last.
    agents: Vec<Agent>,
    _collector: support::Collector,
    port: u16,
    viewer: String,
    scratch: Scratch,
}

impl Fleet {
    fn start(what: &str) -> Fleet {
        let scratch = Scratch::new(what);
        let data = scratch.join("collector");
        let port = free_port();
        let collector = start(&data, port);
        let report = sample::report(
            "monitoring-1",
            "prod",
            "web-1",
            vec![
                sample::finding(
                    "kubelet.anonymous-auth",
                    Severity::Critical,
                    Status::Fail,
                    "anonymous requests are served",
                ),
                sample::finding(
                    "sshd.banner",
                    Severity::Low,
                    Status::Pass,
                    "a banner is shown",
                ),
            ],
        );
        let (status, body) = request(
            port,
            "POST",
            "/api/v1/reports",
            &token(&data, "agent"),
            &sample::json(&report),
        )
        .expect("post a report");
        assert_eq!(status, 201, "{body}");
        let token_file = data.join("agent.token");
        let agents = vec![
            Agent::start(
                &scratch,
                "node-a",
                &format!("http://127.0.0.1:{port}"),
                &token_file,
            ),
            Agent::start(
                &scratch,
                "node-b",
                &format!("http://127.0.0.1:{}", free_port()),
                &token_file,
            ),
        ];
        wait_for("node-a's upload", || {
            agents[0]
                .metrics()
                .contains("nodecheck_agent_uploads_total{")
        });
        wait_for("node-b's failed upload", || {
            agents[1]
                .metrics()
                .contains("nodecheck_agent_upload_failures_total{")
        });
        let viewer = token(&data, "viewer");
        Fleet {
            agents,
            _collector: collector,
            port,
            viewer,
            scratch,
        }
    }

    fn collector_metrics(&self) -> String {
        let (status, body) =
            request(self.port, "GET", "/metrics", &self.viewer, "").expect("collector /metrics");
        assert_eq!(status, 200, "{body}");
        body
    }
}

/// A GET over HTTP/1.0, whose answer ends with the connection (never chunked): (status, body).
fn http_get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")?;
    support::http::read_response(&mut stream)
}

/// Percent-encodes a query parameter.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Prometheus on loopback; SIGKILLed (by its pid) and reaped when dropped.
struct Prometheus {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prometheus {
    /// Fails the test, with Prometheus's log, once it has exited.
    fn check_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!(
                "prometheus exited ({status}):\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
        }
    }

    /// The `data` of an HTTP API answer, or what came instead.
    fn api(&self, path: &str) -> Result<Value, String> {
        let (status, body) = http_get(self.port, path).map_err(|e| format!("GET {path}: {e}"))?;
        let answer: Value =
            serde_json::from_str(&body).map_err(|e| format!("GET {path}: {status} {e}: {body}"))?;
        if status != 200 || answer["status"] != "success" {
            return Err(format!("GET {path}: {status} {body}"));
        }
        Ok(answer["data"].clone())
    }

    fn query(&self, promql: &str) -> Result<Value, String> {
        self.api(&format!("/api/v1/query?query={}", encode(promql)))
    }
}

#[test]
fn promtool_checks_the_rules() {
    let Some(promtool) = tool("promtool") else {
        return;
    };
    let out = run(Command::new(promtool)
        .args(["check", "rules"])
        .arg(dir().join("rules.yaml")));
    let rules = alerts().len();
    assert!(
        out.contains(&format!("SUCCESS: {rules} rules found")),
        "{out}"
    );
}

#[test]
fn promtool_unit_tests_make_every_alert_fire_and_resolve() {
    let Some(promtool) = tool("promtool") else {
        return;
    };
    let out = run(Command::new(promtool)
        .args(["test", "rules", "rules.test.yaml"])
        .current_dir(dir()));
    assert!(out.contains("SUCCESS"), "{out}");
}

/// What promtool cannot see: an alert without a unit test that fires and one that resolves
/// (a misspelt alertname passes promtool), or without severity and annotations.
#[test]
fn every_alert_is_complete_and_unit_tested_firing_and_resolving() {
    let mut names = BTreeSet::new();
    for (group, rule) in alerts() {
        let name = rule["alert"]
            .as_str()
            .unwrap_or_else(|| panic!("{group}: a rule that is not an alert"))
            .to_string();
        for key in ["expr", "for"] {
            assert!(
                rule[key].as_str().is_some_and(|v| !v.trim().is_empty()),
                "{name}: no {key}"
            );
        }
        assert!(
            matches!(
                rule["labels"]["severity"].as_str(),
                Some("critical" | "warning")
            ),
            "{name}: labels.severity is critical or warning"
        );
        for key in ["summary", "description"] {
            assert!(
                rule["annotations"][key]
                    .as_str()
                    .is_some_and(|v| !v.trim().is_empty()),
                "{name}: no annotations.{key}"
            );
        }
        assert!(
            rule["annotations"]["runbook_url"].is_badvalue(),
            "{name}: the description says what to do; no runbook_url"
        );
        assert!(names.insert(name.clone()), "{name} twice");
    }
    assert!(!names.is_empty(), "rules.yaml has no alert");

    let tests = YamlLoader::load_from_str(&read("rules.test.yaml")).expect("rules.test.yaml");
    let (mut fires, mut resolves) = (BTreeSet::new(), BTreeSet::new());
    for test in tests[0]["tests"].as_vec().expect("rules.test.yaml: tests:") {
        // Per alert of this test, (when it fires, when it is expected inactive).
        let mut seen: BTreeMap<String, (Vec<u64>, Vec<u64>)> = BTreeMap::new();
        for case in test["alert_rule_test"]
            .as_vec()
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            let name = case["alertname"].as_str().expect("alertname").to_string();
            assert!(
                names.contains(&name),
                "rules.test.yaml tests {name}, no alert of rules.yaml"
            );
            let at = seconds(case["eval_time"].as_str().expect("eval_time"));
            let (firing, quiet) = seen.entry(name).or_default();
            if case["exp_alerts"].as_vec().is_some_and(|v| !v.is_empty()) {
                firing.push(at);
            } else {
                quiet.push(at);
            }
        }
        for (name, (firing, quiet)) in seen {
            let Some(first) = firing.iter().min() else {
                continue;
            };
            // Resolved: expected inactive at a time after it fired, in the same series.
            if quiet.iter().any(|at| at > first) {
                resolves.insert(name.clone());
            }
            fires.insert(name);
        }
    }
    assert_eq!(fires, names, "alerts rules.test.yaml makes fire");
    assert_eq!(
        resolves, names,
        "alerts rules.test.yaml sees resolved after they fired"
    );
}

/// A Prometheus duration (`90s`, `1h30m`, `130m`) in seconds.
fn seconds(duration: &str) -> u64 {
    let mut total = 0;
    let mut number = String::new();
    let mut rest = duration.trim();
    while let Some(c) = rest.chars().next() {
        if c.is_ascii_digit() {
            number.push(c);
            rest = &rest[1..];
            continue;
        }
        let (unit, scale) = [
            ("ms", 0),
            ("s", 1),
            ("m", 60),
            ("h", 3_600),
            ("d", 86_400),
            ("w", 604_800),
        ]
        .into_iter()
        .find(|(unit, _)| rest.starts_with(unit))
        .unwrap_or_else(|| panic!("{duration:?}: not a duration"));
        let value: u64 = number
            .parse()
            .unwrap_or_else(|_| panic!("{duration:?}: not a duration"));
        total += value * scale;
        number.clear();
        rest = &rest[unit.len()..];
    }
    assert!(number.is_empty(), "{duration:?}: a number without a unit");
    total
}

#[test]
fn the_prometheus_rule_is_rendered_from_rules_yaml() {
    let out = Command::new("bash")
        .arg(dir().join("render.sh"))
        .output()
        .expect("run render.sh");
    assert!(
        out.status.success(),
        "render.sh: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rendered = String::from_utf8(out.stdout).expect("render.sh prints UTF-8");
    let committed = read("prometheus-rules.yaml");
    assert!(
        rendered == committed,
        "packaging/monitoring/prometheus-rules.yaml is stale: run \
         packaging/monitoring/render.sh > packaging/monitoring/prometheus-rules.yaml"
    );
    let docs = YamlLoader::load_from_str(&committed).expect("prometheus-rules.yaml is YAML");
    let object = &docs[0];
    assert_eq!(
        object["apiVersion"].as_str(),
        Some("monitoring.coreos.com/v1")
    );
    assert_eq!(object["kind"].as_str(), Some("PrometheusRule"));
    assert_eq!(object["metadata"]["name"].as_str(), Some("nodecheck"));
    assert_eq!(object["metadata"]["namespace"].as_str(), Some("nodecheck"));
    assert_eq!(
        object["metadata"]["labels"]["app.kubernetes.io/name"].as_str(),
        Some("nodecheck")
    );
    assert!(
        object["spec"] == rules_doc(),
        "prometheus-rules.yaml's spec is not rules.yaml"
    );
}

#[test]
fn the_dashboard_is_an_importable_grafana_dashboard() {
    let dashboard = dashboard();
    assert_eq!(dashboard["schemaVersion"], 39);
    let inputs = dashboard["__inputs"].as_array().expect("__inputs");
    assert!(
        inputs.iter().any(|input| input["name"] == "DS_PROMETHEUS"
            && input["type"] == "datasource"
            && input["pluginId"] == "prometheus"),
        "no DS_PROMETHEUS input: {inputs:?}"
    );
    let variables = dashboard["templating"]["list"]
        .as_array()
        .expect("templating.list");
    let cluster = variables
        .iter()
        .find(|v| v["name"] == "cluster")
        .expect("a cluster variable");
    assert_eq!(cluster["datasource"]["uid"], "${DS_PROMETHEUS}");
    assert_eq!(
        cluster["definition"],
        "label_values(nodecheck_node_score, cluster)"
    );
    let mut ids = BTreeSet::new();
    let mut titles = BTreeSet::new();
    for panel in panels(&dashboard) {
        let title = panel["title"].as_str().expect("a panel's title");
        let id = panel["id"].as_i64().expect("a panel's id");
        assert!(ids.insert(id), "{title}: panel id {id} twice");
        titles.insert(title.to_string());
        let grid = &panel["gridPos"];
        let (x, w) = (grid["x"].as_i64(), grid["w"].as_i64());
        assert!(
            x.zip(w)
                .is_some_and(|(x, w)| x >= 0 && w > 0 && x + w <= 24),
            "{title}: gridPos {grid}"
        );
        if panel["type"] == "row" {
            continue;
        }
        assert_eq!(panel["datasource"]["uid"], "${DS_PROMETHEUS}", "{title}");
        let targets = panel["targets"].as_array().expect(title);
        assert!(!targets.is_empty(), "{title}: no query");
        for target in targets {
            assert_eq!(target["datasource"]["uid"], "${DS_PROMETHEUS}", "{title}");
            assert!(
                target["expr"]
                    .as_str()
                    .is_some_and(|e| !e.trim().is_empty()),
                "{title}: a query without expr"
            );
        }
    }
    for wanted in [
        "Fleet score",
        "Score distribution",
        "Nodes failing critical checks",
        "Stale nodes",
        "Failing nodes per check",
        "Ingest rate by outcome",
        "Ingest errors",
        "Ingest latency",
        "Agent scan duration",
        "Agent upload failures",
    ] {
        assert!(titles.contains(wanted), "no panel {wanted:?}: {titles:?}");
    }
}

#[test]
fn the_rules_and_the_dashboard_use_only_exported_metrics() {
    let fleet = Fleet::start("monitoring-names");
    let collector = exported(&fleet.collector_metrics());
    let agents: BTreeSet<String> = fleet
        .agents
        .iter()
        .flat_map(|agent| exported(&agent.metrics()))
        .collect();
    // What the alerts read is there to compare with at all.
    for name in [
        "nodecheck_node_score",
        "nodecheck_check_failing_nodes",
        "nodecheck_stale_nodes",
        "nodecheck_ingest_total",
        "nodecheck_ingest_duration_seconds_bucket",
    ] {
        assert!(
            collector.contains(name),
            "collector: no {name} in {collector:?}"
        );
    }
    for name in [
        "nodecheck_agent_uploads_total",
        "nodecheck_agent_upload_failures_total",
        "nodecheck_agent_scan_duration_seconds",
    ] {
        assert!(agents.contains(name), "agents: no {name} in {agents:?}");
    }
    let known: BTreeSet<String> = collector.union(&agents).cloned().collect();
    // The alerts and panels select checks by this label.
    let metrics = fleet.collector_metrics();
    let labelled =
        r#"nodecheck_check_failing_nodes{check="kubelet.anonymous-auth",severity="critical"} 1"#;
    assert!(
        metrics.lines().any(|line| line == labelled),
        "collector: no {labelled} in\n{metrics}"
    );
    let rules = rule_texts();
    let queries = dashboard_queries(&dashboard());
    for (source, texts) in [("rules.yaml", &rules), ("grafana-dashboard.json", &queries)] {
        let used: BTreeSet<String> = texts.iter().flat_map(|t| names_in(t.as_str())).collect();
        assert!(used.len() >= 5, "{source}: only {used:?}");
        let unknown: Vec<&String> = used
            .iter()
            .filter(|name| !known.contains(name.as_str()))
            .collect();
        assert!(
            unknown.is_empty(),
            "{source} uses metrics that neither the collector nor an agent exports: {unknown:?}\n\
             collector: {collector:?}\nagents: {agents:?}"
        );
        let severities: Vec<String> = texts
            .iter()
            .flat_map(|t| severity_matchers(t.as_str()))
            .collect();
        assert!(
            severities.iter().any(|s| s == "critical"),
            "{source}: no severity=\"critical\" matcher: {severities:?}"
        );
        for severity in &severities {
            assert!(
                Severity::parse(severity).is_some(),
                "{source}: severity {severity:?} is none of critical, high, medium, low or info"
            );
        }
    }
}

#[test]
fn prometheus_scrapes_a_collector_and_agents_and_evaluates_the_rules() {
    let Some(prometheus) = tool("prometheus") else {
        return;
    };
    let fleet = Fleet::start("monitoring-prometheus");
    let work = fleet.scratch.join("prometheus");
    std::fs::create_dir_all(&work).expect("prometheus dir");
    let rules = dir().join("rules.yaml").canonicalize().expect("rules.yaml");
    let config = work.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - '{rules}'
scrape_configs:
  - job_name: {COLLECTOR_JOB}
    authorization:
      credentials_file: '{viewer}'
    static_configs:
      - targets: ['127.0.0.1:{collector}']
  - job_name: {AGENT_JOB}
    static_configs:
      - targets: ['127.0.0.1:{a}', '127.0.0.1:{b}']
",
            rules = rules.display(),
            viewer = fleet.scratch.join("collector/viewer.token").display(),
            collector = fleet.port,
            a = fleet.agents[0].port,
            b = fleet.agents[1].port,
        ),
    )
    .expect("prometheus.yml");
    let port = free_port();
    let log = work.join("prometheus.log");
    let child = Command::new(&prometheus)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            work.join("tsdb").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("prometheus.log"))
        .spawn()
        .expect("start prometheus");
    let mut server = Prometheus { child, port, log };

    poll("every target up", Duration::from_secs(60), || {
        server.check_running();
        let data = server.api("/api/v1/targets")?;
        let targets = data["activeTargets"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let up = |job: &str| {
            targets
                .iter()
                .filter(|t| t["labels"]["job"] == job && t["health"] == "up")
                .count()
        };
        if up(COLLECTOR_JOB) == 1 && up(AGENT_JOB) == 2 {
            Ok(())
        } else {
            Err(format!("{targets:#?}"))
        }
    });

    // Every group of rules.yaml loaded, every rule evaluated without an error.
    let groups = poll("every rule evaluated", Duration::from_secs(30), || {
        server.check_running();
        let data = server.api("/api/v1/rules")?;
        let groups = data["groups"].as_array().cloned().unwrap_or_default();
        let unevaluated = groups
            .iter()
            .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
            .any(|rule| rule["health"] == "unknown");
        if groups.is_empty() || unevaluated {
            Err(format!("{data:#}"))
        } else {
            Ok(groups)
        }
    });
    let mut expected: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (group, rule) in alerts() {
        let name = rule["alert"].as_str().expect("alert").to_string();
        expected.entry(group).or_default().insert(name);
    }
    let mut loaded: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for group in &groups {
        let name = group["name"].as_str().expect("a group's name").to_string();
        for rule in group["rules"].as_array().expect("a group's rules") {
            let alert = rule["name"].as_str().expect("a rule's name");
            assert_eq!(rule["health"], "ok", "{alert}: {rule:#}");
            assert!(
                rule["lastError"].as_str().is_none_or(str::is_empty),
                "{alert}: {rule:#}"
            );
            loaded
                .entry(name.clone())
                .or_default()
                .insert(alert.to_string());
        }
    }
    assert_eq!(loaded, expected, "the groups Prometheus loaded");

    // The data calls for four alerts, each waiting out its `for:`: prod's mean score is low,
    // web-1 fails a critical check, node-a high ones, node-b's uploads keep failing. No other is
    // active.
    let wanted: BTreeSet<String> = [
        "NodecheckFleetScoreLow",
        "NodecheckCriticalCheckFailing",
        "NodecheckHighCheckFailing",
        "NodecheckAgentUploadsFailing",
    ]
    .into_iter()
    .map(str::to_string)
    .collect();
    poll(
        "the alerts the data calls for",
        Duration::from_secs(60),
        || {
            server.check_running();
            let data = server.api("/api/v1/rules")?;
            let active: BTreeSet<String> = data["groups"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
                .filter(|rule| rule["state"] != "inactive")
                .filter_map(|rule| rule["name"].as_str().map(str::to_string))
                .collect();
            if active == wanted {
                Ok(())
            } else {
                Err(format!("active: {active:?}"))
            }
        },
    );

    // The collector's and the agents' metrics are stored.
    for (promql, series) in [
        ("nodecheck_nodes", 1),
        ("nodecheck_node_score", 2),
        (
            r#"nodecheck_check_failing_nodes{check="kubelet.anonymous-auth",severity="critical"}"#,
            1,
        ),
        (
            r#"nodecheck_check_failing_nodes{check="sshd.permit-root-login",severity="high"}"#,
            1,
        ),
        ("nodecheck_ingest_total", 4),
        ("nodecheck_agent_scans_total", 2),
        ("nodecheck_agent_upload_failures_total", 1),
        ("up", 3),
    ] {
        let data = server.query(promql).unwrap_or_else(|e| panic!("{e}"));
        let found = data["result"].as_array().map_or(0, Vec::len);
        assert_eq!(found, series, "{promql}: {data:#}");
    }
    // The dashboard's variable has its values, and Prometheus takes every panel's query.
    let clusters = server
        .api(&format!(
            "/api/v1/label/cluster/values?{}={}",
            encode("match[]"),
            encode("nodecheck_node_score")
        ))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        clusters
            .as_array()
            .is_some_and(|values| values.iter().any(|v| v == "prod")),
        "cluster values: {clusters}"
    );
    for query in dashboard_queries(&dashboard()) {
        if query.starts_with("label_values(") {
            continue; // Grafana's, checked above
        }
        let promql = query
            .replace("$__rate_interval", "1m")
            .replace("$cluster", ".*");
        if let Err(e) = server.query(&promql) {
            panic!("Prometheus refuses the dashboard's query {query}: {e}");
        }
    }
}
