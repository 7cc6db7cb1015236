//! Load generator for the collector, on loopback only, bounded in count and time.
//!
//! `cargo run --release -p nodecheck-collector --example load -- [REPORTS] [CLIENTS] [NODES]`
//! starts a collector on a free loopback port with a fresh data dir, posts REPORTS reports of
//! 80 findings from CLIENTS concurrent clients over NODES node names (acknowledged = durable),
//! then times the read endpoints and the overview page; prints throughput, latency
//! percentiles and the database size. Each client keeps its connection alive; with
//! `NODECHECK_LOAD_CLOSE=1` every report opens a new connection instead. One report in ten
//! differs from its node's previous one (a changed finding message), so both the unchanged
//! path and the changed path are measured. `NODECHECK_LOAD_HISTORY_DAYS=30` adds that many days
//! of hourly history for every node before the reads are timed; `NODECHECK_LOAD_READ_DURING=1`
//! times reads made while the steady state is posted. The checks are ones the collector's
//! catalogue does not know (each is then described by what most nodes say, the costlier
//! path); with `NODECHECK_LOAD_CATALOGUE=1` the findings are the catalogue's checks instead, as
//! agents of the collector's own version send them (the catalogue's 78, then unknown ones).
//!
//! Reports carry 100 judged `settings` and 8 host listeners, as agents since issue 16 do (with
//! a minority of nodes holding other values, so there is drift to count), and the changed
//! report in ten also flips a check, a setting and a listener, so the change and drift
//! bookkeeping is measured; `NODECHECK_LOAD_SETTINGS=0` leaves settings out, for collectors
//! from before that field. `NODECHECK_LOAD_COLLECTOR=PATH` runs another collector binary (an
//! older build, side by side).

use nodecheck_report::*;

#[path = "../../tests/support/report.rs"]
mod sample;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[path = "../../tests/support/http.rs"]
mod http;

/// One request on a new connection: its status.
fn request(port: u16, method: &str, path: &str, token: &str, body: &str) -> std::io::Result<u16> {
    http::request(port, method, path, token, body).map(|(status, _)| status)
}

/// One client's HTTP/1.1 connection, kept alive between requests (reopened when the server
/// closes it), as an agent behind a connection pool would post.
struct Client {
    port: u16,
    connection: Option<BufReader<TcpStream>>,
}

impl Client {
    fn post(&mut self, path: &str, token: &str, body: &str) -> std::io::Result<u16> {
        if std::env::var_os("NODECHECK_LOAD_CLOSE").is_some() {
            return request(self.port, "POST", path, token, body);
        }
        for attempt in 0..2 {
            match self.try_post(path, token, body) {
                Ok(status) => return Ok(status),
                Err(e) if attempt == 1 => return Err(e),
                Err(_) => self.connection = None,
            }
        }
        Err(std::io::Error::other("unreachable"))
    }

    fn try_post(&mut self, path: &str, token: &str, body: &str) -> std::io::Result<u16> {
        if self.connection.is_none() {
            let stream = TcpStream::connect(("127.0.0.1", self.port))?;
            stream.set_read_timeout(Some(Duration::from_secs(30)))?;
            self.connection = Some(BufReader::new(stream));
        }
        let reader = self
            .connection
            .as_mut()
            .ok_or_else(|| std::io::Error::other("no connection"))?;
        // One write per request: pieces written separately would meet Nagle's algorithm and
        // delayed acknowledgements on a kept-alive connection, and measure those instead.
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        reader.get_mut().write_all(request.as_bytes())?;
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let status = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other("no status"))?;
        let mut length = 0usize;
        loop {
            line.clear();
            if reader.read_line(&mut line)? == 0 {
                return Err(std::io::Error::other("connection closed"));
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut response = vec![0; length];
        reader.read_exact(&mut response)?;
        Ok(status)
    }
}

/// The check ids of the collector's catalogue, when asked for (`NODECHECK_LOAD_CATALOGUE`).
fn catalogue_ids() -> &'static [String] {
    static IDS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    IDS.get_or_init(|| {
        if std::env::var_os("NODECHECK_LOAD_CATALOGUE").is_none() {
            return Vec::new();
        }
        let entries: Vec<serde_json::Value> =
            serde_json::from_str(include_str!("../catalogue.json")).unwrap_or_default();
        entries
            .iter()
            .filter_map(|entry| entry["id"].as_str().map(str::to_string))
            .collect()
    })
}

fn report(id: &str, node: usize) -> String {
    let findings: Vec<Finding> = (0..80)
        .map(|i| Finding {
            id: catalogue_ids()
                .get(i)
                .cloned()
                .unwrap_or_else(|| format!("area{}.check-{i:02}", i % 6)),
            title: "A check of the load test".into(),
            area: format!("area{}", i % 6),
            severity: Severity::ALL[i % 5],
            status: if (i + node).is_multiple_of(7) {
                Status::Fail
            } else {
                Status::Pass
            },
            message: "observed value and where it came from, as a real finding says".into(),
            evidence: vec![Evidence {
                subject: "Setting".into(),
                observed: Some("value".into()),
                expected: "other".into(),
                status: Status::Pass,
                source: Source::file("/etc/some/config", Some(12)),
                note: None,
            }],
            remediation: "Change the setting and restart the component.".into(),
            references: vec!["CIS 1.2.3".into()],
            cis: Vec::new(),
            rationale: String::new(),
            waiver: None,
        })
        .collect();
    let mut report = sample::report(id, "load", &format!("node-{node:05}"), findings);
    report.inventory.listeners = [22, 10250, 10256, 9100, 2379, 2380, 6443, 30000]
        .iter()
        .map(|port| sample::host_listener(*port, &format!("daemon-{port}")))
        .collect();
    if std::env::var("NODECHECK_LOAD_SETTINGS").as_deref() != Ok("0") {
        // One node in fifty holds other values for a few settings: drift to find.
        report.settings = (0..100)
            .map(|k| {
                let value = if node.is_multiple_of(50) && k < 5 {
                    "other"
                } else {
                    "usual"
                };
                (
                    format!("area{}:setting-{k:03}", k % 6),
                    Some(value.to_string()),
                )
            })
            .collect();
    }
    sample::json(&report)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

/// Posts the reports numbered `ids` from `clients` threads and prints throughput and
/// acknowledgement latency.
fn post_reports(
    port: u16,
    agent: &str,
    bodies: &Arc<Vec<String>>,
    ids: std::ops::Range<usize>,
    clients: usize,
    label: &str,
) -> usize {
    let next = Arc::new(AtomicUsize::new(ids.start));
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(ids.len())));
    let stop_at = Instant::now() + Duration::from_secs(600);
    let started = Instant::now();
    let workers: Vec<_> = (0..clients)
        .map(|_| {
            let (next, latencies, agent, bodies) = (
                next.clone(),
                latencies.clone(),
                agent.to_string(),
                bodies.clone(),
            );
            let end = ids.end;
            std::thread::spawn(move || {
                let mut client = Client {
                    port,
                    connection: None,
                };
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= end || Instant::now() > stop_at {
                        return;
                    }
                    let mut body = bodies[i % bodies.len()].replacen(
                        "\"template\"",
                        &format!("\"r{i:08}\""),
                        1,
                    );
                    // Churn: one report in ten differs from its node's previous one: a
                    // message, a check's status, a setting and a listener.
                    if i % 10 == 0 {
                        body = body
                            .replacen("observed value and", &format!("observed value {i} and"), 1)
                            .replacen("\"status\":\"pass\"", "\"status\":\"fail\"", 1)
                            .replacen(
                                "\"area0:setting-000\":\"usual\"",
                                "\"area0:setting-000\":\"changed\"",
                                1,
                            )
                            .replacen("\"port\":30000", "\"port\":30001", 1);
                    }
                    let t = Instant::now();
                    match client.post("/api/v1/reports", &agent, &body) {
                        Ok(201) => latencies
                            .lock()
                            .map(|mut l| l.push(t.elapsed()))
                            .unwrap_or(()),
                        Ok(status) => eprintln!("status {status}"),
                        Err(e) => eprintln!("error {e}"),
                    }
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.join();
    }
    let elapsed = started.elapsed();
    let mut lat = latencies.lock().map(|l| l.clone()).unwrap_or_default();
    lat.sort();
    println!(
        "ingest, {label}: {} reports of 80 findings from {clients} clients in {:.1} s = {:.0} reports/s durable; ack latency p50 {:.1} ms, p99 {:.1} ms",
        lat.len(),
        elapsed.as_secs_f64(),
        lat.len() as f64 / elapsed.as_secs_f64(),
        percentile(&lat, 0.5),
        percentile(&lat, 0.99)
    );
    lat.len()
}

/// Bytes the database uses: its pages in use after a checkpoint (the write-ahead log is
/// bounded and reused, so it is not history).
fn used_bytes(data: &std::path::Path) -> u64 {
    if let Ok(url) = std::env::var("NODECHECK_LOAD_DATABASE") {
        let measure = || -> Result<u64, postgres::Error> {
            let mut client = postgres::Client::connect(&url, postgres::NoTls)?;
            let size: i64 = client
                .query_one("SELECT pg_database_size(current_database())", &[])?
                .get(0);
            Ok(u64::try_from(size).unwrap_or(0))
        };
        return measure().unwrap_or_else(|e| {
            eprintln!("cannot measure the database: {e}");
            0
        });
    }
    let measure = || -> rusqlite::Result<u64> {
        let connection = rusqlite::Connection::open(data.join("collector.db"))?;
        connection.busy_timeout(Duration::from_secs(10))?;
        connection.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        let pages: i64 = connection.query_row("PRAGMA page_count", [], |r| r.get(0))?;
        let free: i64 = connection.query_row("PRAGMA freelist_count", [], |r| r.get(0))?;
        let size: i64 = connection.query_row("PRAGMA page_size", [], |r| r.get(0))?;
        Ok(u64::try_from((pages - free) * size).unwrap_or(0))
    };
    measure().unwrap_or_else(|e| {
        eprintln!("cannot measure the database: {e}");
        0
    })
}

/// Adds `days` of hourly reports and scores for every node, older than anything posted: the
/// rows a collector holds after a month, sharing stored bodies as unchanged reports do.
fn seed_history(data: &std::path::Path, days: i64) -> rusqlite::Result<usize> {
    let connection = rusqlite::Connection::open(data.join("collector.db"))?;
    connection.busy_timeout(Duration::from_secs(30))?;
    let hours = days * 24;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let tx = connection.unchecked_transaction()?;
    let reports = tx.execute(
        "WITH RECURSIVE hours(h) AS (SELECT 1 UNION ALL SELECT h + 1 FROM hours WHERE h < ?1)
         INSERT INTO reports (id, cluster, node, received_at, score, body, body_hash, started_at, duration_ms)
         SELECT printf('history-%s-%05d', n.name, h), n.cluster, n.name, ?2 - h * 3600, n.score, X'',
                (SELECT hash FROM report_bodies LIMIT 1), '2026-01-01T00:00:00.000Z', 1
         FROM nodes n, hours",
        rusqlite::params![hours, now],
    )?;
    tx.execute(
        "WITH RECURSIVE hours(h) AS (SELECT 1 UNION ALL SELECT h + 1 FROM hours WHERE h < ?1)
         INSERT INTO score_history (cluster, name, at, score, report_id)
         SELECT n.cluster, n.name, ?2 - h * 3600, n.score, printf('history-%s-%05d', n.name, h)
         FROM nodes n, hours",
        rusqlite::params![hours, now],
    )?;
    tx.execute(
        "WITH RECURSIVE d(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM d WHERE i < ?1)
         INSERT OR IGNORE INTO fleet_daily (day, score_sum, reports)
         SELECT ?2 / 86400 - i, (SELECT COALESCE(SUM(score), 0) FROM nodes) * 24, (SELECT COUNT(*) FROM nodes) * 24 FROM d",
        rusqlite::params![days, now],
    )?;
    tx.execute(
        "UPDATE counts SET value = value + ?1 WHERE name = 'reports'",
        [reports as i64],
    )?;
    // Changes, where the collector keeps them: the changed report in five of every node's
    // history flipped a check and moved its score.
    let has_changes: bool = tx
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE name = 'changes'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| n > 0)?;
    if has_changes {
        tx.execute(
            "WITH RECURSIVE hours(h) AS (SELECT 5 UNION ALL SELECT h + 5 FROM hours WHERE h + 5 <= ?1)
             INSERT INTO changes (at, cluster, node, report_id, kind, subject, severity, direction, before, after, detail)
             SELECT ?2 - h * 3600, n.cluster, n.name, printf('history-%s-%05d', n.name, h), c.kind, c.subject,
                    c.severity, c.direction, c.before, c.after, 'from the seeded history'
             FROM hours, nodes n,
                  (SELECT 'check' AS kind, 'area1.check-01' AS subject, 'high' AS severity, 'worse' AS direction,
                          'pass' AS before, 'fail' AS after
                   UNION ALL SELECT 'score', '', NULL, 'worse', '90', '84') c
             ORDER BY h DESC",
            rusqlite::params![hours, now],
        )?;
    }
    tx.commit()?;
    Ok(reports)
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let (reports, clients, nodes) = (
        args.first().copied().unwrap_or(20_000).min(1_000_000),
        args.get(1).copied().unwrap_or(50).clamp(1, 200),
        args.get(2).copied().unwrap_or(10_000).max(1),
    );
    let data = std::env::temp_dir().join(format!("nodecheck-load-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(18099);
    let binary = match std::env::var_os("NODECHECK_LOAD_COLLECTOR") {
        Some(path) => std::path::PathBuf::from(path),
        None => std::env::current_exe()
            .ok()
            .and_then(|p| p.parent()?.parent().map(|d| d.join("nodecheck-collector")))
            .unwrap_or_default(),
    };
    // If the load generator is killed (a timeout, ^C), its collector goes with it instead of
    // living on as an orphan: util-linux's setpriv sets the parent-death signal and execs it.
    if !binary.is_file() {
        eprintln!(
            "no collector at {} (cargo build --release -p nodecheck-collector --bins --examples)",
            binary.display()
        );
        std::process::exit(2);
    }
    let setpriv = std::path::Path::new("/usr/bin/setpriv");
    let mut command = if setpriv.exists() {
        let mut command = Command::new(setpriv);
        command.args(["--pdeathsig", "KILL", "--"]).arg(&binary);
        command
    } else {
        Command::new(&binary)
    };
    // NODECHECK_LOAD_DATABASE=postgres://… measures PostgreSQL instead of SQLite (the
    // database must exist and be empty).
    let database = std::env::var("NODECHECK_LOAD_DATABASE").ok();
    if let Some(url) = &database {
        command.env("NODECHECK_COLLECTOR_DATABASE", url);
    }
    command
        .args([
            "serve",
            "--data-dir",
            &data.display().to_string(),
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut collector = match command.spawn() {
        Ok(c) => c,
        Err(e) => {
            eprintln!(
                "cannot start {}: {e} (cargo build --release -p nodecheck-collector first)",
                binary.display()
            );
            std::process::exit(2);
        }
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while request(port, "GET", "/healthz", "", "").is_err() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let agent = std::fs::read_to_string(data.join("agent.token"))
        .unwrap_or_default()
        .trim()
        .to_string();
    let viewer = std::fs::read_to_string(data.join("viewer.token"))
        .unwrap_or_default()
        .trim()
        .to_string();
    let bodies: Arc<Vec<String>> = Arc::new(
        (0..nodes.min(reports))
            .map(|n| report("template", n))
            .collect(),
    );
    // First contact: one report per node, every row new. Then the steady state the fleet
    // lives in: nodes reporting again, most statuses unchanged.
    let first = post_reports(
        port,
        &agent,
        &bodies,
        0..nodes.min(reports),
        clients,
        "first contact",
    );
    let after_first = used_bytes(&data);
    // With NODECHECK_LOAD_READ_DURING=1, while the steady state is posted a reader keeps
    // asking for the summary and the overview: what an operator's dashboard sees during ingest
    // (it takes CPU from the ingest on a small machine, so it is off by default).
    let read_during = std::env::var_os("NODECHECK_LOAD_READ_DURING").is_some();
    let ingesting = Arc::new(std::sync::atomic::AtomicBool::new(read_during));
    let reader = {
        let (ingesting, viewer) = (ingesting.clone(), viewer.clone());
        std::thread::spawn(move || {
            let mut times = Vec::new();
            while ingesting.load(Ordering::Relaxed) && times.len() < 100_000 {
                for path in ["/api/v1/summary", "/"] {
                    let t = Instant::now();
                    let _ = request(port, "GET", path, &viewer, "");
                    times.push(t.elapsed());
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            times
        })
    };
    let stored_steady = post_reports(
        port,
        &agent,
        &bodies,
        nodes.min(reports)..nodes.min(reports) + reports,
        clients,
        "steady state",
    );
    ingesting.store(false, Ordering::Relaxed);
    let mut during = reader.join().unwrap_or_default();
    during.sort();
    if read_during {
        println!(
            "reads during the steady state (summary and overview, {} requests): p50 {:.1} ms, p99 {:.1} ms",
            during.len(),
            percentile(&during, 0.5),
            percentile(&during, 0.99)
        );
    }
    let after_all = used_bytes(&data);
    let per_report = after_all.saturating_sub(after_first) as f64 / stored_steady.max(1) as f64;
    println!(
        "database: {:.1} MiB after first contact of {first} nodes ({:.1} KiB per node); {:.1} MiB after {stored_steady} more reports = {:.2} KiB per further report = {:.2} MiB per node per day at one report every 10 minutes",
        after_first as f64 / 1048576.0,
        after_first as f64 / 1024.0 / first.max(1) as f64,
        after_all as f64 / 1048576.0,
        per_report / 1024.0,
        per_report * 144.0 / 1048576.0
    );
    // History: NODECHECK_LOAD_HISTORY_DAYS=30 adds that many days of hourly reports and scores
    // for every node, straight into the database (posting them would take hours), before the
    // reads are timed.
    let history_days: i64 = std::env::var("NODECHECK_LOAD_HISTORY_DAYS")
        .ok()
        .and_then(|d| d.parse().ok())
        .unwrap_or(0)
        .clamp(0, 90);
    if history_days > 0 && database.is_some() {
        eprintln!("NODECHECK_LOAD_HISTORY_DAYS is for SQLite only; no history added");
    }
    let history = if history_days > 0 && database.is_none() {
        let started = Instant::now();
        match seed_history(&data, history_days) {
            Ok(rows) => {
                println!(
                    "history: {rows} hourly reports and scores over {history_days} days added in {:.0} s; database now {:.1} MiB",
                    started.elapsed().as_secs_f64(),
                    used_bytes(&data) as f64 / 1048576.0
                );
                format!(", {history_days} days of hourly history")
            }
            Err(e) => {
                eprintln!("cannot add history: {e}");
                String::new()
            }
        }
    } else {
        String::new()
    };
    let mut paths = vec![
        "/api/v1/summary",
        "/api/v1/nodes?limit=100",
        "/api/v1/checks/area0.check-00",
        "/api/v1/nodes/load/node-00001",
        "/",
        "/nodes/load/node-00001",
    ];
    if std::env::var_os("NODECHECK_LOAD_COLLECTOR").is_none() {
        paths.extend([
            "/api/v1/changes",
            "/api/v1/changes?since=24h&direction=worse",
            "/api/v1/changes?cluster=load&node=node-00050",
            "/api/v1/changes?check=area1.check-01&severity=high",
            "/api/v1/changes?cluster=elsewhere",
            "/api/v1/drift",
            "/api/v1/drift?cluster=load&node=node-00050",
            "/changes",
            "/drift",
        ]);
    }
    for path in paths {
        let mut times = Vec::new();
        for _ in 0..200 {
            let t = Instant::now();
            match request(port, "GET", path, &viewer, "") {
                Ok(200) => {}
                Ok(status) => eprintln!("GET {path}: status {status}"),
                Err(e) => eprintln!("GET {path}: {e}"),
            }
            times.push(t.elapsed());
        }
        times.sort();
        println!(
            "GET {path}: p50 {:.1} ms, p99 {:.1} ms ({} nodes{history})",
            percentile(&times, 0.5),
            percentile(&times, 0.99),
            nodes.min(reports)
        );
    }
    let _ = collector.kill();
    let _ = collector.wait();
    let _ = std::fs::remove_dir_all(&data);
}
