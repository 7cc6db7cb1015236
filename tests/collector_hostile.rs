//! Hostile clients against the real collector on loopback: each attack of the collector's
//! trust boundary, bounded in count and time, after which `/healthz` still answers promptly
//! and the collector's memory stays under a ceiling.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

#[path = "support/collector.rs"]
mod collector;

/// The collector's resident memory, from its own /proc entry.
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// `/healthz` answers, and how long it took.
fn healthz_within(port: u16, limit: Duration) -> Duration {
    let started = Instant::now();
    let answer = collector::request(port, "GET", "/healthz", "", "");
    let took = started.elapsed();
    assert!(answer.is_ok(), "/healthz: {answer:?}");
    assert!(took < limit, "/healthz took {took:?}");
    took
}

/// A client with no token that announces an 8 MiB report is refused at once, before it sends a
/// byte of the body: the collector never holds an anonymous body. (It used to buffer the whole
/// body first: 100 such clients took it from 10 MiB to 821 MiB.)
#[test]
fn an_anonymous_body_is_never_read() {
    let dir = collector::Scratch::new("collector-hostile-body");
    let port = collector::free_port();
    let server = collector::start(&dir, port);
    let pid = server.0.id();
    let before = rss_kib(pid);

    let body_len = 8 * 1024 * 1024 - 1;
    let mut clients = Vec::new();
    for _ in 0..100 {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        write!(
            stream,
            "POST /api/v1/reports HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {body_len}\r\n\r\n"
        )
        .expect("headers");
        clients.push(stream);
    }
    // Each is answered without having sent its body.
    for stream in &mut clients {
        let mut answer = [0u8; 64];
        let n = stream.read(&mut answer).expect("an answer before the body");
        let status = String::from_utf8_lossy(&answer[..n]);
        assert!(status.starts_with("HTTP/1.1 401"), "{status}");
    }
    // The body sent anyway is not kept.
    let chunk = vec![b'x'; 1024 * 1024];
    for stream in &mut clients {
        for _ in 0..8 {
            if stream.write_all(&chunk).is_err() {
                break;
            }
        }
    }
    healthz_within(port, Duration::from_millis(100));
    let after = rss_kib(pid);
    assert!(
        after < before + 64 * 1024,
        "the collector grew from {before} KiB to {after} KiB"
    );
}
