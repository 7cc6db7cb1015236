//! Durability: the collector is killed with SIGKILL while agents are posting; after a restart
//! every report it had acknowledged is there, and none twice.

use nodecheck_report::*;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[path = "support/collector.rs"]
mod support;
use support::{free_port, request, start, token};

#[path = "support/report.rs"]
mod sample;

/// A report of 80 findings, a third of them failing; the node is named after the report.
fn report(id: &str) -> String {
    let findings: Vec<Finding> = (0..80)
        .map(|i| {
            let status = if i % 3 == 0 {
                Status::Fail
            } else {
                Status::Pass
            };
            sample::finding(
                &format!("sshd.check-{i:02}"),
                Severity::Medium,
                status,
                "message",
            )
        })
        .collect();
    sample::json(&sample::report(id, "durability", id, findings))
}

#[test]
fn acknowledged_reports_survive_sigkill_exactly_once() {
    let scratch = support::Scratch::new("durability");
    let data = scratch.0.join("data");
    let port = free_port();
    let mut collector = start(&data, port);
    let agent = token(&data, "agent");
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let workers: Vec<_> = (0..8)
        .map(|worker| {
            let (agent, acknowledged) = (agent.clone(), acknowledged.clone());
            std::thread::spawn(move || {
                for i in 0..2000 {
                    let id = format!("w{worker}-{i:05}");
                    match request(port, "POST", "/api/v1/reports", &agent, &report(&id)) {
                        Ok((201, _)) => acknowledged.lock().expect("lock").push(id),
                        Ok((status, body)) => panic!("unexpected {status}: {body}"),
                        Err(_) => return, // the collector is gone
                    }
                }
            })
        })
        .collect();
    // Kill it in the middle of the posting.
    let deadline = Instant::now() + Duration::from_secs(30);
    while acknowledged.lock().expect("lock").len() < 200 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = collector.0.kill(); // SIGKILL
    let _ = collector.0.wait();
    for w in workers {
        let _ = w.join();
    }
    let acknowledged = acknowledged.lock().expect("lock").clone();
    assert!(
        acknowledged.len() >= 200,
        "posting was under way when the collector died"
    );

    let port = free_port();
    let _collector = start(&data, port);
    let viewer = token(&data, "viewer");
    let (status, body) = request(
        port,
        "GET",
        "/api/v1/nodes?cluster=durability&limit=1000",
        &viewer,
        "",
    )
    .expect("nodes");
    assert_eq!(status, 200, "{body}");
    let mut seen: Vec<String> = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/nodes?cluster=durability&limit=1000&cursor={c}"),
            None => "/api/v1/nodes?cluster=durability&limit=1000".to_string(),
        };
        let (_, body) = request(port, "GET", &path, &viewer, "").expect("nodes");
        let page: serde_json::Value = serde_json::from_str(&body).expect("json");
        for n in page["nodes"].as_array().cloned().unwrap_or_default() {
            seen.push(n["name"].as_str().unwrap_or_default().to_string());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    for id in &acknowledged {
        assert!(seen.contains(id), "acknowledged report {id} was lost");
    }
    let (_, metrics) = request(port, "GET", "/metrics", &viewer, "").expect("metrics");
    let stored: usize = metrics
        .lines()
        .find_map(|l| l.strip_prefix("nodecheck_reports_stored "))
        .and_then(|v| v.trim().parse().ok())
        .expect("reports_stored");
    assert_eq!(
        stored,
        seen.len(),
        "one report per node: nothing stored twice"
    );
}
