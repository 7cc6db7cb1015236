//! Load generator for the collector, on loopback only, bounded in count and time.
//!
//! `cargo run --release -p nodecheck-collector --example load -- [REPORTS] [CLIENTS] [NODES]`
//! starts a collector on a free loopback port with a fresh data dir, posts REPORTS reports of
//! 80 findings from CLIENTS concurrent clients over NODES node names (acknowledged = durable),
//! then times the read endpoints and the overview page; prints throughput, latency
//! percentiles and the database size.

use nodecheck_report::*;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn request(port: u16, method: &str, path: &str, token: &str, body: &str) -> std::io::Result<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let text = String::from_utf8_lossy(&response[..response.len().min(64)]).into_owned();
    text.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("no status"))
}

fn report(id: &str, node: usize) -> String {
    let findings: Vec<Finding> = (0..80)
        .map(|i| Finding {
            id: format!("area{}.check-{i:02}", i % 6),
            title: "A check of the load test".into(),
            area: format!("area{}", i % 6),
            severity: Severity::ALL[i % 5],
            status: if (i + node) % 7 == 0 {
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
            waiver: None,
        })
        .collect();
    let summary = summarize(&findings);
    serde_json::to_string(&Report {
        schema: SCHEMA_V1.into(),
        id: id.into(),
        node: Node {
            name: format!("node-{node:05}"),
            cluster: "load".into(),
            roles: vec![Role::Worker],
            os: None,
            kernel: None,
            labels: Default::default(),
        },
        agent: Agent {
            version: "0.1.0".into(),
            interval_s: Some(600),
        },
        profile: ProfileRef {
            name: "default".into(),
            sha256: "00".repeat(32),
        },
        started_at: "2026-11-27T00:00:00.000Z".into(),
        duration_ms: 1,
        score: score(&summary),
        summary,
        findings,
        inventory: Inventory::default(),
    })
    .unwrap_or_default()
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
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
    let binary = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent()?.parent().map(|d| d.join("nodecheck-collector")))
        .unwrap_or_default();
    let mut collector = match Command::new(&binary)
        .args([
            "serve",
            "--data-dir",
            &data.display().to_string(),
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
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
    let bodies: Vec<String> = (0..nodes.min(reports))
        .map(|n| report("template", n))
        .collect();
    let next = Arc::new(AtomicUsize::new(0));
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(reports)));
    let stop_at = Instant::now() + Duration::from_secs(600);
    let started = Instant::now();
    let workers: Vec<_> = (0..clients)
        .map(|_| {
            let (next, latencies, agent, bodies) = (
                next.clone(),
                latencies.clone(),
                agent.clone(),
                bodies.clone(),
            );
            std::thread::spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= reports || Instant::now() > stop_at {
                        return;
                    }
                    let body = bodies[i % bodies.len()].replacen(
                        "\"template\"",
                        &format!("\"r{i:08}\""),
                        1,
                    );
                    let t = Instant::now();
                    match request(port, "POST", "/api/v1/reports", &agent, &body) {
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
        "ingest: {} reports of 80 findings from {clients} clients in {:.1} s = {:.0} reports/s durable; ack latency p50 {:.1} ms, p99 {:.1} ms",
        lat.len(),
        elapsed.as_secs_f64(),
        lat.len() as f64 / elapsed.as_secs_f64(),
        percentile(&lat, 0.5),
        percentile(&lat, 0.99)
    );
    for path in [
        "/api/v1/summary",
        "/api/v1/nodes?limit=100",
        "/api/v1/checks/area0.check-00",
        "/",
    ] {
        let mut times = Vec::new();
        for _ in 0..200 {
            let t = Instant::now();
            let _ = request(port, "GET", path, &viewer, "");
            times.push(t.elapsed());
        }
        times.sort();
        println!(
            "GET {path}: p50 {:.1} ms, p99 {:.1} ms ({} nodes)",
            percentile(&times, 0.5),
            percentile(&times, 0.99),
            nodes.min(reports)
        );
    }
    let size: u64 = std::fs::read_dir(&data)
        .map(|d| {
            d.filter_map(|e| e.ok()?.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0);
    println!(
        "database: {:.1} MiB for {} reports = {:.1} KiB per report (a node reporting every 10 minutes keeps 144 a day)",
        size as f64 / 1048576.0,
        lat.len(),
        size as f64 / 1024.0 / lat.len().max(1) as f64
    );
    let _ = collector.kill();
    let _ = collector.wait();
    let _ = std::fs::remove_dir_all(&data);
}
