//! HTTPS through rustls: a real collector serves a certificate made with openssl, a rustls
//! client that trusts only the test CA talks to it, and plain HTTP, a silent client and bad
//! certificate files are each handled as an operator would expect.
//!
//! Skipped (with a message) when openssl is missing, unless `NODECHECK_REQUIRE_TOOLS=1`.

use std::net::TcpStream;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[path = "support/collector.rs"]
mod support;
use support::{bin, free_port, spawn, token};

#[path = "support/pki.rs"]
mod pki;
use pki::certificates;

#[path = "support/https.rs"]
mod https_client;
use https_client::{client_config, https};

#[path = "support/report.rs"]
mod sample;

fn report_json() -> String {
    sample::json(&sample::report("01TLS", "prod", "web-1", vec![]))
}

#[test]
fn https_with_rustls_and_clear_errors_for_bad_certificates() {
    if Command::new("openssl").arg("version").output().is_err() {
        assert!(
            std::env::var_os("NODECHECK_REQUIRE_TOOLS").is_none(),
            "openssl is required (NODECHECK_REQUIRE_TOOLS is set) but not installed"
        );
        eprintln!("skipped: openssl is not installed");
        return;
    }
    let scratch = support::Scratch::new("tls");
    let dir = scratch.0.clone();
    certificates(&dir);
    let data = dir.join("data");
    let port = free_port();
    let (cert, key) = (dir.join("server.crt"), dir.join("server.key"));
    let _collector = spawn(
        &data,
        port,
        &[
            "--tls-cert",
            &cert.display().to_string(),
            "--tls-key",
            &key.display().to_string(),
        ],
    );
    let config = client_config(&dir.join("ca.crt"));
    let deadline = Instant::now() + Duration::from_secs(20);
    let (status, response) = loop {
        match https(&config, port, "GET", "/healthz", "", "") {
            Ok(answer) => break answer,
            Err(e) => {
                assert!(Instant::now() < deadline, "no HTTPS answer: {e}");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    };
    assert_eq!(status, 200, "{response}");

    // A client that connects and says nothing does not hold up anyone else.
    let silent = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let agent = token(&data, "agent");
    let (status, response) = https(
        &config,
        port,
        "POST",
        "/api/v1/reports",
        &format!("Authorization: Bearer {agent}\r\nContent-Type: application/json\r\n"),
        &report_json(),
    )
    .expect("post over https");
    assert_eq!(status, 201, "{response}");
    drop(silent);

    // Session cookies over HTTPS are Secure.
    let viewer = token(&data, "viewer");
    let (status, response) = https(
        &config,
        port,
        "POST",
        "/login",
        "Content-Type: application/x-www-form-urlencoded\r\n",
        &format!("token={viewer}"),
    )
    .expect("login");
    assert_eq!(status, 303, "{response}");
    let cookie = response
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .expect("a session cookie");
    assert!(
        cookie.contains("; Secure") && cookie.contains("HttpOnly"),
        "{cookie}"
    );

    // Plain HTTP to the HTTPS port gets no HTTP answer.
    let plain = support::request(port, "GET", "/healthz", "", "");
    assert!(
        !matches!(plain, Ok((200, _))),
        "plain HTTP must not be served: {plain:?}"
    );

    // A client that does not trust the CA is refused by its own verifier.
    let stranger = Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth(),
    );
    assert!(https(&stranger, port, "GET", "/healthz", "", "").is_err());

    // Bad certificate files stop the start with a clear message.
    let mismatched = dir.join("ca.key");
    let missing = dir.join("missing.key");
    for (certificate, key, message) in [
        (&cert, &mismatched, "cannot be used together"),
        (&cert, &missing, "cannot read the TLS key"),
        (&dir.join("ext.cnf"), &key, "no PEM certificate"),
    ] {
        let output = Command::new(bin())
            .args([
                "serve",
                "--data-dir",
                &dir.join("other").display().to_string(),
                "--listen",
                &format!("127.0.0.1:{}", free_port()),
                "--tls-cert",
                &certificate.display().to_string(),
                "--tls-key",
                &key.display().to_string(),
            ])
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{message}: started anyway");
        assert!(stderr.contains(message), "{message} in {stderr}");
    }
    let output = Command::new(bin())
        .args(["serve", "--tls-cert", &cert.display().to_string()])
        .output()
        .expect("run");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--tls-key"));
}
