//! Webhooks end to end (issue 16, "How it is proven"): a receiver on loopback that fails its
//! first deliveries and then accepts; the collector is SIGKILLed while deliveries are pending;
//! after a restart every notification arrives, none missing and none extra, each idempotency
//! key seen at least once and always with the same bytes, every signature valid. And a receiver
//! that never accepts: the delivery is dead-lettered, listed, and an admin sends it again.

use nodecheck_report::{Finding, Severity, Status};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

#[path = "support/collector.rs"]
mod collector;
use collector::{Scratch, free_port, request, start_with, token};

#[path = "support/report.rs"]
mod sample;

/// The webhook's key as written to its file; the collector signs with it less the final
/// newline, as an operator's `echo … > file` leaves one.
const SECRET: &str = "whsec-loopback-9f2c";
const HIGH_CHECK: &str = "sshd.permit-root-login";
const CRITICAL_CHECK: &str = "kubelet.anonymous-auth";
/// `score_drop` of the first test: between the drop of a node failing the high check alone
/// (100 → 62) and of one failing both (100 → 0), so the filter takes half of them.
const SCORE_DROP: i64 = 50;

// ---------------------------------------------------------------------------------------------
// The receiver.

/// One request the receiver read, and what it answered.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    delivery: Option<String>,
    event: Option<String>,
    signature: Option<String>,
    content_type: Option<String>,
    /// Whether the body came with a Content-Length (the only framing this receiver reads).
    framed: bool,
    body: Vec<u8>,
    status: u16,
}

/// A minimal HTTP/1.1 server on 127.0.0.1: one request per connection, answered
/// `fail_status` for its first `fails` requests and 200 after. It outlives the collectors
/// of a test, so what it counts spans their restarts.
struct Receiver {
    port: u16,
    log: Arc<Mutex<Vec<Received>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Receiver {
    fn start(fails: usize, fail_status: u16) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("receiver bind");
        let port = listener.local_addr().expect("receiver addr").port();
        // Non-blocking accept, so dropping the receiver ends its thread even if the
        // collector never connects.
        listener.set_nonblocking(true).expect("nonblocking");
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (log, stop) = (log.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            let answered = log.lock().expect("log").len();
                            let status = if answered < fails { fail_status } else { 200 };
                            // A connection cut by a SIGKILLed collector is no request: not
                            // recorded, and it does not use up a failure.
                            if let Some(received) = serve_one(stream, status) {
                                log.lock().expect("log").push(received);
                            }
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(20)),
                    }
                }
            })
        };
        Receiver {
            port,
            log,
            stop,
            thread: Some(thread),
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hooks/nodecheck", self.port)
    }

    fn received(&self) -> Vec<Received> {
        self.log.lock().expect("log").clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads one request and answers `status`. Every read and write is bounded: a stuck
/// collector fails the test by its deadlines instead of hanging the receiver.
fn serve_one(mut stream: TcpStream, status: u16) -> Option<Received> {
    stream.set_nonblocking(false).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    stream
        .set_write_timeout(Some(Duration::from_secs(5)))
        .ok()?;
    let mut buffer = Vec::new();
    let mut chunk = [0_u8; 4096];
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        if buffer.len() > 64 * 1024 {
            return None;
        }
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let path = lines.next()?.split_whitespace().nth(1)?.to_string();
    let headers: BTreeMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: Option<usize> = headers.get("content-length").and_then(|v| v.parse().ok());
    let mut body = buffer[head_end + 4..].to_vec();
    let want = length.unwrap_or(0).min(1024 * 1024);
    while body.len() < want {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(want);
    // A text the collector keeps as last_error, so the dead-letter list can be checked to
    // carry the receiver's own words.
    let (reason, text) = match status {
        200 => ("OK", "accepted"),
        503 => ("Service Unavailable", "receiver warming up"),
        _ => ("Internal Server Error", "receiver down"),
    };
    let answer = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
    // Recorded even if the answer cannot be written: the collector then retries, which
    // at-least-once allows.
    let _ = stream.write_all(answer.as_bytes());
    let _ = stream.flush();
    Some(Received {
        path,
        delivery: headers.get("x-nodecheck-delivery").cloned(),
        event: headers.get("x-nodecheck-event").cloned(),
        signature: headers.get("x-nodecheck-signature").cloned(),
        content_type: headers.get("content-type").cloned(),
        framed: length.is_some(),
        body,
        status,
    })
}

// ---------------------------------------------------------------------------------------------
// Signatures, checked the way a receiver checks them: independently of the collector's code.

fn unhex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
        .collect()
}

/// Whether `header` is `sha256=<hex HMAC-SHA256 of body under secret>` (compared in
/// constant time, as a receiver should).
fn signature_valid(secret: &[u8], body: &[u8], header: &str) -> bool {
    use hmac::{KeyInit, Mac};
    let Some(tag) = header.strip_prefix("sha256=").and_then(unhex) else {
        return false;
    };
    let mut mac =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(body);
    mac.verify_slice(&tag).is_ok()
}

/// Every request is one a receiver can trust and parse: signed with the trimmed secret (and
/// not with the file's raw content), JSON, its headers agreeing with its body. Returns the
/// bodies, parsed.
fn check_requests(requests: &[Received], webhook: &str) -> Vec<serde_json::Value> {
    requests
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let key = r.delivery.as_deref().unwrap_or_default();
            assert!(r.framed, "request {i} ({key}) has no Content-Length");
            assert_eq!(
                r.path, "/hooks/nodecheck",
                "request {i} ({key}): the url's path"
            );
            assert_eq!(
                r.content_type.as_deref(),
                Some("application/json"),
                "request {i} ({key})"
            );
            assert_eq!(key.len(), 32, "request {i}: delivery id {key:?}");
            let signature = r.signature.as_deref().unwrap_or_default();
            assert!(
                signature_valid(SECRET.as_bytes(), &r.body, signature),
                "request {i} ({key}): signature {signature:?} does not verify"
            );
            assert!(
                !signature_valid(format!("{SECRET}\n").as_bytes(), &r.body, signature),
                "request {i} ({key}): signed with the secret file's newline"
            );
            let body: serde_json::Value = serde_json::from_slice(&r.body)
                .unwrap_or_else(|e| panic!("request {i} ({key}): body is not JSON: {e}"));
            assert_eq!(body["delivery_id"], key, "request {i}: header and body ids");
            assert_eq!(
                body["event"].as_str(),
                r.event.as_deref(),
                "request {i} ({key}): header and body events"
            );
            assert_eq!(body["webhook"], webhook, "request {i} ({key})");
            body
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The collector's side.

/// What identifies an event, independently of how the collector derives its key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Expected {
    event: String,
    cluster: String,
    node: String,
    subject: String,
    report_id: String,
}

fn expected_of(body: &serde_json::Value) -> Expected {
    let text = |field: &str| body[field].as_str().unwrap_or_default().to_string();
    Expected {
        event: text("event"),
        cluster: text("cluster"),
        node: text("node"),
        subject: text("subject"),
        report_id: text("report_id"),
    }
}

fn webhook_config(receiver: &Receiver, secret_file: &Path, rules: &str) -> String {
    format!(
        "[[webhooks]]\nname = \"receiver\"\nurl = \"{}\"\nsecret_file = \"{}\"\nformat = \"generic\"\n{rules}",
        receiver.url(),
        secret_file.display()
    )
}

/// A report of `cluster/node` with the two checks passing or failing as told.
fn report(id: &str, cluster: &str, node: &str, high_fails: bool, critical_fails: bool) -> String {
    let status = |fails: bool| if fails { Status::Fail } else { Status::Pass };
    let findings: Vec<Finding> = vec![
        sample::finding(
            HIGH_CHECK,
            Severity::High,
            status(high_fails),
            "PermitRootLogin is yes; expected no",
        ),
        sample::finding(
            CRITICAL_CHECK,
            Severity::Critical,
            status(critical_fails),
            "anonymous requests are served",
        ),
    ];
    sample::json(&sample::report(id, cluster, node, findings))
}

fn score_of(report: &str) -> i64 {
    let parsed: serde_json::Value = serde_json::from_str(report).expect("report json");
    parsed["score"]
        .as_i64()
        .expect("a report with judged checks has a score")
}

fn post(port: u16, agent: &str, report: &str) {
    let (status, body) = request(port, "POST", "/api/v1/reports", agent, report).expect("post");
    assert_eq!(status, 201, "{body}");
}

fn get_json(port: u16, path: &str, token: &str) -> serde_json::Value {
    let (status, body) = request(port, "GET", path, token, "").expect(path);
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"))
}

fn deliveries(port: u16, viewer: &str, state: &str) -> Vec<serde_json::Value> {
    let page = get_json(
        port,
        &format!("/api/v1/deliveries?state={state}&limit=1000"),
        viewer,
    );
    assert!(page["next_cursor"].is_null(), "one page holds them: {page}");
    page["deliveries"].as_array().cloned().unwrap_or_default()
}

/// Waits for `done`, at most `limit`: every wait of these tests has a deadline.
fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn keys(requests: &[&Received]) -> BTreeSet<String> {
    requests.iter().filter_map(|r| r.delivery.clone()).collect()
}

#[test]
fn every_notification_arrives_signed_after_a_sigkill_with_deliveries_pending() {
    const NODES: usize = 6;
    let scratch = Scratch::new("webhooks-e2e");
    let data = scratch.join("data");
    let secret_file = scratch.join("webhook.secret");
    std::fs::write(&secret_file, format!("{SECRET}\n")).expect("secret");

    // Filters chosen so the expected set is exact and each filter drops something: the
    // critical check is not taken (severities), a cluster is not (clusters), and only the
    // larger score drops are (score_drop).
    let mut expected: BTreeSet<Expected> = BTreeSet::new();
    let mut reports: Vec<(String, String)> = Vec::new();
    for i in 0..NODES {
        let node = format!("web-{i}");
        let before = report(&format!("01WHPASS{i}"), "prod", &node, false, false);
        let after_id = format!("01WHFAIL{i}");
        let after = report(&after_id, "prod", &node, true, i % 2 == 0);
        let event = |event: &str, subject: &str| Expected {
            event: event.into(),
            cluster: "prod".into(),
            node: node.clone(),
            subject: subject.into(),
            report_id: after_id.clone(),
        };
        expected.insert(event("check-failing", HIGH_CHECK));
        if score_of(&before) - score_of(&after) > SCORE_DROP {
            expected.insert(event("score-drop", ""));
        }
        reports.push((before, after));
    }
    // Both of its checks start failing and its score falls to 0: told of nothing, for its
    // cluster is not the webhook's.
    reports.push((
        report("01WHLABPASS", "lab", "db-0", false, false),
        report("01WHLABFAIL", "lab", "db-0", true, true),
    ));
    assert_eq!(
        expected.len(),
        NODES + NODES / 2,
        "the scenario: a high check failing on every prod node, a score drop on half"
    );

    // Fails about three rounds of attempts: the kill below comes after the first, so
    // deliveries are pending (none accepted) when it dies, and some still fail after the
    // restart, whose retries are what must deliver them.
    let receiver = Receiver::start(3 * expected.len(), 503);
    let config = scratch.join("collector.toml");
    std::fs::write(
        &config,
        webhook_config(
            &receiver,
            &secret_file,
            &format!(
                "events = [\"check-failing\", \"score-drop\"]\nclusters = [\"prod\"]\nseverities = [\"high\"]\nscore_drop = {SCORE_DROP}\nmax_attempts = 20\nretry_initial_s = 1\n"
            ),
        ),
    )
    .expect("config");
    let config = config.display().to_string();
    let port = free_port();
    let mut first = start_with(&data, port, &["--config", &config]);
    let agent = token(&data, "agent");
    for (before, _) in &reports {
        post(port, &agent, before);
    }
    for (_, after) in &reports {
        post(port, &agent, after);
    }

    // One round's worth of attempts shows the sender at work; then it dies mid-retry.
    wait_for("first delivery attempts", Duration::from_secs(30), || {
        receiver.received().len() >= expected.len()
    });
    let _ = first.0.kill(); // SIGKILL
    let _ = first.0.wait();
    let before_kill = receiver.received();
    assert!(
        before_kill.iter().all(|r| r.status != 200),
        "the receiver accepted nothing before the kill: every delivery was pending"
    );

    // The same data dir and port; the receiver's failure count goes on where it was.
    let _second = start_with(&data, port, &["--config", &config]);
    let viewer = token(&data, "viewer");
    // Long enough for a delivery that was claimed when the collector died (a 60 s lease)
    // plus the backoff of the retries that follow.
    wait_for(
        "every event accepted and recorded as delivered",
        Duration::from_secs(90),
        || {
            let accepted: BTreeSet<Expected> = receiver
                .received()
                .iter()
                .filter(|r| r.status == 200)
                .filter_map(|r| serde_json::from_slice(&r.body).ok())
                .map(|body| expected_of(&body))
                .collect();
            accepted.is_superset(&expected)
                && deliveries(port, &viewer, "delivered").len() >= expected.len()
        },
    );

    let received = receiver.received();
    // Otherwise the restarted collector only sent once what it found pending, and its
    // retries (attempts and backoff carried over in the database) went untested.
    assert!(
        received[before_kill.len()..]
            .iter()
            .any(|r| r.status != 200),
        "some attempts after the restart failed too"
    );
    let bodies = check_requests(&received, "receiver");
    // The same key always came with the same bytes, before the kill and after.
    let mut body_of: BTreeMap<String, &[u8]> = BTreeMap::new();
    for r in &received {
        let key = r.delivery.clone().unwrap_or_default();
        let first = *body_of.entry(key.clone()).or_insert(&r.body);
        assert_eq!(
            first,
            &r.body[..],
            "delivery {key} was sent with two different bodies"
        );
    }
    // Each key is one event and each event one key: a receiver deduping on the key sees
    // every event exactly once.
    let mut event_of_key: BTreeMap<String, Expected> = BTreeMap::new();
    for (r, body) in received.iter().zip(&bodies) {
        let key = r.delivery.clone().unwrap_or_default();
        event_of_key.entry(key).or_insert_with(|| expected_of(body));
    }
    let arrived: BTreeSet<Expected> = event_of_key.values().cloned().collect();
    assert_eq!(
        arrived.len(),
        event_of_key.len(),
        "two keys for one event: {event_of_key:#?}"
    );
    let missing: Vec<_> = expected.difference(&arrived).collect();
    let extra: Vec<_> = arrived.difference(&expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing: {missing:#?}\nextra: {extra:#?}"
    );
    let accepted: Vec<&Received> = received.iter().filter(|r| r.status == 200).collect();
    let all: Vec<&Received> = received.iter().collect();
    assert_eq!(
        keys(&all),
        keys(&accepted),
        "every key the collector sent was in the end accepted: none replaced by another"
    );
    assert!(
        keys(&before_kill.iter().collect::<Vec<_>>()).is_subset(&keys(&accepted)),
        "deliveries tried before the kill were delivered after it under the same keys"
    );
    // What a generic receiver reads from the body.
    for body in &bodies {
        let text = body["text"].as_str().unwrap_or_default();
        assert!(
            text.contains(&format!("prod/{}", body["node"].as_str().unwrap_or("?"))),
            "{body}"
        );
        match body["event"].as_str() {
            Some("check-failing") => {
                assert_eq!(body["severity"], "high", "{body}");
                assert_eq!(body["before"], "pass", "{body}");
                assert_eq!(body["after"], "fail", "{body}");
                assert_eq!(
                    body["detail"], "PermitRootLogin is yes; expected no",
                    "{body}"
                );
            }
            Some("score-drop") => {
                assert_eq!(body["before"], "100", "{body}");
                assert_eq!(body["after"], "0", "{body}");
            }
            _ => panic!("unexpected event: {body}"),
        }
    }

    // The API agrees: all delivered, with the bodies as received; none pending, none dead.
    let delivered = deliveries(port, &viewer, "delivered");
    let listed: BTreeMap<String, String> = delivered
        .iter()
        .map(|d| {
            (
                d["idempotency_key"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                d["body"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(
        listed.keys().cloned().collect::<BTreeSet<_>>(),
        keys(&accepted),
        "{delivered:#?}"
    );
    for (key, body) in &listed {
        assert_eq!(
            body_of.get(key).copied(),
            Some(body.as_bytes()),
            "the stored body of {key} is what was sent"
        );
    }
    for d in &delivered {
        assert!(d["delivered_at"].is_i64(), "{d}");
        assert!(d["last_error"].is_null(), "{d}");
    }
    assert_eq!(
        deliveries(port, &viewer, "dead"),
        Vec::<serde_json::Value>::new()
    );
    assert_eq!(
        deliveries(port, &viewer, "pending"),
        Vec::<serde_json::Value>::new()
    );
    let (_, metrics) = request(port, "GET", "/metrics", &viewer, "").expect("metrics");
    assert!(
        metrics.contains(&format!(
            "nodecheck_webhook_deliveries{{state=\"delivered\"}} {}\n",
            expected.len()
        )),
        "{metrics}"
    );
}

#[test]
fn a_receiver_that_never_accepts_gets_a_dead_letter_an_admin_sends_again() {
    let scratch = Scratch::new("webhooks-dead");
    let data = scratch.join("data");
    let secret_file = scratch.join("webhook.secret");
    std::fs::write(&secret_file, format!("{SECRET}\n")).expect("secret");
    let receiver = Receiver::start(usize::MAX, 500);
    let config = scratch.join("collector.toml");
    std::fs::write(
        &config,
        webhook_config(
            &receiver,
            &secret_file,
            "events = [\"check-failing\"]\nmax_attempts = 2\nretry_initial_s = 1\n",
        ),
    )
    .expect("config");
    let config = config.display().to_string();
    let port = free_port();
    let _collector = start_with(&data, port, &["--config", &config]);
    let agent = token(&data, "agent");
    let viewer = token(&data, "viewer");
    post(
        port,
        &agent,
        &report("01DLPASS", "prod", "web-0", false, false),
    );
    post(
        port,
        &agent,
        &report("01DLFAIL", "prod", "web-0", true, false),
    );

    wait_for(
        "the delivery dead-lettered",
        Duration::from_secs(30),
        || !deliveries(port, &viewer, "dead").is_empty(),
    );
    let dead = deliveries(port, &viewer, "dead");
    assert_eq!(dead.len(), 1, "{dead:#?}");
    let letter = &dead[0];
    assert_eq!(letter["event"], "check-failing", "{letter}");
    assert_eq!(letter["node"], "web-0", "{letter}");
    assert_eq!(letter["attempts"], 2, "{letter}");
    let error = letter["last_error"].as_str().unwrap_or_default();
    assert!(
        error.contains("HTTP 500") && error.contains("receiver down"),
        "{letter}"
    );
    let key = letter["idempotency_key"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let id = letter["id"].as_i64().expect("id");
    // Dead means no more attempts: the receiver got max_attempts requests, no more.
    let received = receiver.received();
    check_requests(&received, "receiver");
    assert_eq!(received.len(), 2, "{received:#?}");
    assert!(received.iter().all(|r| r.delivery.as_deref() == Some(&key)));
    assert!(deliveries(port, &viewer, "pending").is_empty());

    // Sending again is an admin's act: a viewer is refused and nothing changes.
    let retry = format!("/api/v1/deliveries/{id}/retry");
    let (status, body) = request(port, "POST", &retry, &viewer, "").expect("retry");
    assert_eq!(status, 403, "{body}");
    assert_eq!(deliveries(port, &viewer, "dead").len(), 1);
    let admin = collector::create_token(&data, &["--role", "admin", "--name", "webhook-test"]);
    let (status, body) =
        request(port, "POST", "/api/v1/deliveries/999999/retry", &admin, "").expect("retry");
    assert_eq!(status, 404, "{body}");
    let (status, body) = request(port, "POST", &retry, &admin, "").expect("retry");
    assert_eq!(status, 202, "{body}");
    // Pending for at least a second: its next attempt fails and waits retry_initial_s.
    let pending = deliveries(port, &viewer, "pending");
    assert_eq!(pending.len(), 1, "{pending:#?}");
    assert_eq!(pending[0]["id"], id);
    assert!(
        pending[0]["attempts"].as_i64().is_some_and(|a| a < 2),
        "its attempts start over: {}",
        pending[0]
    );
    assert!(deliveries(port, &viewer, "dead").is_empty());

    // Sent again, the same delivery with the same bytes, until its attempts run out again.
    wait_for("the delivery dead again", Duration::from_secs(30), || {
        deliveries(port, &viewer, "dead").len() == 1
    });
    let again = deliveries(port, &viewer, "dead");
    assert_eq!(again[0]["id"], id);
    assert_eq!(again[0]["attempts"], 2, "{}", again[0]);
    let received = receiver.received();
    check_requests(&received, "receiver");
    assert_eq!(received.len(), 4, "two attempts, twice: {received:#?}");
    assert!(
        received
            .iter()
            .all(|r| r.delivery.as_deref() == Some(&key) && r.body == received[0].body)
    );
}
