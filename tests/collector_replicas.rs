//! Two `nodecheck-collector` processes sharing one PostgreSQL database, as replicas behind a
//! load balancer would: tokens made by one work on the other, reports posted to either are seen
//! by both, a dashboard session opened on one is honoured by the other and ends everywhere when
//! its token is revoked, and both carry on after the database restarts.
//!
//! Without PostgreSQL the test says why and passes, unless `NODECHECK_REQUIRE_TOOLS=1`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

#[path = "support/collector.rs"]
mod support;
use support::{Scratch, bin, free_port, request, start_with, token};

#[path = "support/postgres.rs"]
mod postgres_server;
use postgres_server::Postgres;

#[path = "support/report.rs"]
mod sample;

fn report(id: &str, name: &str) -> String {
    use nodecheck_report::{Severity, Status};
    sample::json(&sample::report(
        id,
        "prod",
        name,
        vec![sample::finding(
            "sshd.permit-root-login",
            Severity::High,
            Status::Fail,
            "PermitRootLogin is yes",
        )],
    ))
}

/// A raw request with extra headers: (status, headers, body).
fn raw(port: u16, request: &str) -> (u16, String, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    stream.write_all(request.as_bytes()).expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_string(), body.to_string())
}

fn dashboard(port: u16, cookie: &str) -> u16 {
    raw(
        port,
        &format!(
            "GET / HTTP/1.1\r\nHost: localhost\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
        ),
    )
    .0
}

#[test]
fn replicas_share_tokens_reports_and_sessions_and_outlive_a_database_restart() {
    let mut server = match Postgres::start_in(Scratch::new("replicas-postgres")) {
        Ok(server) => server,
        Err(reason) => {
            assert!(
                std::env::var("NODECHECK_REQUIRE_TOOLS").as_deref() != Ok("1"),
                "NODECHECK_REQUIRE_TOOLS=1 but PostgreSQL cannot run: {reason}"
            );
            eprintln!("skipped: {reason}");
            return;
        }
    };
    let url = server.create_database("fleet");
    let scratch = Scratch::new("replicas");
    let (dir_a, dir_b) = (scratch.join("a"), scratch.join("b"));
    let (port_a, port_b) = (free_port(), free_port());
    let replica_a = start_with(&dir_a, port_a, &["--database", &url]);
    // The second replica finds the tokens the first made and makes none of its own.
    let replica_b = start_with(&dir_b, port_b, &["--database", &url]);
    assert!(!dir_b.join("agent.token").exists());
    assert!(
        !dir_a.join("collector.db").exists(),
        "no SQLite file when PostgreSQL is used"
    );
    let (agent, viewer) = (token(&dir_a, "agent"), token(&dir_a, "viewer"));

    // Reports to either replica, seen by both.
    for (port, id, name) in [(port_a, "01A1", "web-1"), (port_b, "01B1", "web-2")] {
        let (status, body) =
            request(port, "POST", "/api/v1/reports", &agent, &report(id, name)).expect("post");
        assert_eq!(status, 201, "{body}");
    }
    let (status, _) = request(
        port_b,
        "POST",
        "/api/v1/reports",
        &agent,
        &report("01A1", "web-1"),
    )
    .expect("post");
    assert_eq!(
        status, 200,
        "a report already stored through the other replica is a duplicate"
    );
    for port in [port_a, port_b] {
        let (status, body) = request(port, "GET", "/api/v1/summary", &viewer, "").expect("get");
        assert_eq!(status, 200);
        let summary: serde_json::Value = serde_json::from_str(&body).expect("json");
        assert_eq!(summary["nodes"], 2, "{summary}");
    }

    // A session opened on A is honoured by B.
    let form = format!("token={viewer}");
    let (status, head, _) = raw(
        port_a,
        &format!(
            "POST /login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{form}",
            form.len()
        ),
    );
    assert!((300..400).contains(&status), "login: {status} {head}");
    let cookie = head
        .lines()
        .find_map(|l| {
            l.strip_prefix("set-cookie: ")
                .or(l.strip_prefix("Set-Cookie: "))
        })
        .and_then(|c| c.split(';').next())
        .expect("session cookie")
        .to_string();
    assert_eq!(dashboard(port_b, &cookie), 200, "session known on B");
    assert_eq!(dashboard(port_b, "nc_session=forged"), 303);

    // Revoked from the command line, against the database: the session ends on both.
    let cli = |args: &[&str]| -> String {
        let out = std::process::Command::new(bin())
            .arg("token")
            .args(args)
            .arg("--data-dir")
            .arg(scratch.join("cli"))
            .env("NODECHECK_COLLECTOR_DATABASE", &url)
            .output()
            .expect("token command");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let viewer_id = cli(&["list"])
        .lines()
        .find(|l| l.contains("\tviewer\t"))
        .and_then(|l| l.split('\t').next())
        .expect("viewer listed")
        .to_string();
    cli(&["revoke", &viewer_id]);
    for port in [port_a, port_b] {
        assert_eq!(dashboard(port, &cookie), 303, "revoked everywhere");
    }

    // The database restarts: both replicas reconnect without being restarted themselves, and
    // no request fails for it: reads are retried on a new connection, and so is an ingest
    // batch (idempotent by report id).
    server.restart();
    for (port, id, name) in [(port_a, "01A2", "web-3"), (port_b, "01B2", "web-4")] {
        let (status, body) = request(port, "GET", "/readyz", "", "").expect("readyz");
        assert_eq!(status, 200, "{body}");
        let (status, body) =
            request(port, "POST", "/api/v1/reports", &agent, &report(id, name)).expect("post");
        assert_eq!(status, 201, "{body}");
    }
    let reader = cli(&["create", "--role", "viewer", "--name", "after restart"]);
    let (_, body) = request(port_a, "GET", "/api/v1/summary", reader.trim(), "").expect("get");
    let summary: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(summary["nodes"], 4, "{summary}");
    drop((replica_a, replica_b));
}
