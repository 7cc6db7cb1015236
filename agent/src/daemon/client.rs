//! The collector's HTTP client.
//!
//! Outcomes are sorted by what the caller should do next: an acknowledgement (stored, or
//! already there), a refusal that sending again will not change (400, 401, 403, 413: a
//! malformed report, a bad or revoked token, a report too big), or a failure worth retrying
//! later (the collector unreachable, a TLS handshake that failed, a 5xx, a 429, a token file
//! not there yet).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How to reach the collector.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Base URL, e.g. `https://nodecheck-collector.nodecheck.svc:8443`.
    pub collector: String,
    /// File holding the bearer token (re-read for every request).
    pub token_file: PathBuf,
    /// An enrollment token: when `token_file` does not exist yet, the first upload trades
    /// this for a token bound to the report's node and writes it to `token_file` (0600).
    pub enroll_token_file: Option<PathBuf>,
    /// PEM bundle of the CAs to trust instead of the public roots.
    pub ca: Option<PathBuf>,
    /// PEM client certificate chain and its key, presented to the collector.
    pub client_cert: Option<(PathBuf, PathBuf)>,
    /// Time allowed for a whole request.
    pub timeout: Duration,
}

/// Why a request did not get an answer the caller can use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    #[error("invalid collector URL {url:?}: {reason}")]
    Url { url: String, reason: String },
    #[error("cannot use {}: {reason}", path.display())]
    Certificates { path: PathBuf, reason: String },
    #[error("token file {}: {reason}", path.display())]
    Token { path: PathBuf, reason: String },
    #[error("collector {url} unreachable: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("collector refused the request ({status}): {message}")]
    Refused { status: u16, message: String },
    #[error("collector failed ({status}): {message}{}", retry_note(*retry_after))]
    Server {
        status: u16,
        message: String,
        /// How long the collector asked to be left alone (`Retry-After`), if it said.
        retry_after: Option<Duration>,
    },
}

fn retry_note(retry_after: Option<Duration>) -> String {
    retry_after.map_or(String::new(), |d| {
        format!(" (asked to retry after {} s)", d.as_secs())
    })
}

/// The longest `Retry-After` honoured: a collector asking for more is asked again after this.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// A `Retry-After` in seconds (the collector's form). An HTTP date, which a proxy may send,
/// is left to the caller's own backoff.
fn parse_retry_after(value: Option<&str>) -> Option<Duration> {
    let seconds: u64 = value?.trim().parse().ok()?;
    Some(Duration::from_secs(seconds).min(MAX_RETRY_AFTER))
}

impl ClientError {
    /// The wait the collector asked for before the next attempt.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ClientError::Server { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Whether the same request may succeed later without anyone changing anything.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ClientError::Unreachable { .. }
                | ClientError::Server { .. }
                | ClientError::Token { .. }
        )
    }

    /// A short label for metrics (`unreachable`, `refused_401`, …).
    pub fn kind(&self) -> String {
        match self {
            ClientError::Url { .. } => "url".into(),
            ClientError::Certificates { .. } => "certificates".into(),
            ClientError::Token { .. } => "token".into(),
            ClientError::Unreachable { .. } => "unreachable".into(),
            ClientError::Refused { status, .. } => format!("refused_{status}"),
            ClientError::Server { status, .. } => format!("server_{status}"),
        }
    }
}

/// What the collector said about a report it took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ack {
    Stored,
    /// The collector had it already (sent before, acknowledged or not).
    Duplicate,
}

/// A client of one collector.
#[derive(Debug)]
pub struct Client {
    base: String,
    token_file: PathBuf,
    enroll_token_file: Option<PathBuf>,
    agent: ureq::Agent,
}

/// The error bodies the collector sends: `{"error": "…"}`.
#[derive(serde::Deserialize)]
struct ErrorBody {
    error: String,
}

/// Responses are small JSON documents; a bigger one is not the collector.
const MAX_RESPONSE_BYTES: u64 = 16 * 1024 * 1024;

impl Client {
    pub fn new(options: &ClientOptions) -> Result<Client, ClientError> {
        let url = options.collector.trim();
        let url_error = |reason: &str| ClientError::Url {
            url: options.collector.clone(),
            reason: reason.into(),
        };
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))
            .ok_or_else(|| url_error("must start with http:// or https://"))?;
        if rest.is_empty() || rest.starts_with('/') {
            return Err(url_error("names no host"));
        }
        if rest.contains(['?', '#']) {
            return Err(url_error("must not carry a query or fragment"));
        }
        let base = url.trim_end_matches('/').to_string();
        let mut tls = ureq::tls::TlsConfig::builder();
        if let Some(path) = &options.ca {
            let certificates = read_certificates(path)?;
            tls = tls.root_certs(ureq::tls::RootCerts::new_with_certs(&certificates));
        }
        if let Some((chain, key)) = &options.client_cert {
            let certificates = read_certificates(chain)?;
            let key = read_key(key)?;
            tls = tls.client_cert(Some(ureq::tls::ClientCert::new_with_certs(
                &certificates,
                key,
            )));
        }
        let config = ureq::Agent::config_builder()
            .tls_config(tls.build())
            .timeout_global(Some(options.timeout))
            .timeout_connect(Some(options.timeout.min(Duration::from_secs(10))))
            .http_status_as_error(false)
            .user_agent(format!("nodecheck/{}", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(Client {
            base,
            token_file: options.token_file.clone(),
            enroll_token_file: options.enroll_token_file.clone(),
            agent: config.into(),
        })
    }

    /// The token, read now (trimmed; an empty file is an error, not an empty token).
    pub fn token(&self) -> Result<String, ClientError> {
        let error = |reason: String| ClientError::Token {
            path: self.token_file.clone(),
            reason,
        };
        let text = std::fs::read_to_string(&self.token_file).map_err(|e| error(e.to_string()))?;
        let token = text.trim();
        if token.is_empty() {
            return Err(error("is empty".into()));
        }
        if token.contains(char::is_whitespace) {
            return Err(error(
                "holds more than one word; it must hold the token alone".into(),
            ));
        }
        Ok(token.to_string())
    }

    /// Posts one report (its JSON), gzip-compressed; enrolls its node first when an enrollment
    /// token is configured and the node has no token yet.
    pub fn post_report(&self, json: &[u8]) -> Result<Ack, ClientError> {
        if let Some(enroll_token_file) = &self.enroll_token_file
            && !self.token_file.exists()
        {
            #[derive(serde::Deserialize)]
            struct Named {
                node: NodeName,
            }
            #[derive(serde::Deserialize)]
            struct NodeName {
                name: String,
            }
            let node = serde_json::from_slice::<Named>(json)
                .map(|r| r.node.name)
                .map_err(|e| ClientError::Server {
                    status: 0,
                    message: format!("the report names no node: {e}"),
                    retry_after: None,
                })?;
            self.enroll(enroll_token_file, &node)?;
        }
        let token = self.token()?;
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        let body = gzip
            .write_all(json)
            .and_then(|()| gzip.finish())
            .map_err(|e| ClientError::Server {
                status: 0,
                message: format!("cannot compress the report: {e}"),
                retry_after: None,
            })?;
        let url = format!("{}/api/v1/reports", self.base);
        let response = self
            .agent
            .post(&url)
            .header("Authorization", &format!("Bearer {token}"))
            .header("Content-Type", "application/json")
            .header("Content-Encoding", "gzip")
            .send(&body[..])
            .map_err(|e| self.unreachable(&e))?;
        let status = response.status().as_u16();
        let retry_after = parse_retry_after(
            response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok()),
        );
        let text = read_body(response);
        match status {
            201 => Ok(Ack::Stored),
            200 => Ok(Ack::Duplicate),
            _ => Err(classify(status, &text, retry_after)),
        }
    }

    /// Trades the enrollment token in `enroll_token_file` for a token bound to `node`, and
    /// keeps it in the token file: written 0600 beside it and renamed into place, so a crash
    /// leaves either no token file or a whole one.
    pub fn enroll(&self, enroll_token_file: &Path, node: &str) -> Result<(), ClientError> {
        let error = |reason: String| ClientError::Token {
            path: enroll_token_file.to_path_buf(),
            reason,
        };
        let text = std::fs::read_to_string(enroll_token_file).map_err(|e| error(e.to_string()))?;
        let enroll_token = text.trim();
        if enroll_token.is_empty() || enroll_token.contains(char::is_whitespace) {
            return Err(error("must hold the enrollment token alone".into()));
        }
        let url = format!("{}/api/v1/enroll", self.base);
        let body = serde_json::json!({ "node": node }).to_string();
        let response = self
            .agent
            .post(&url)
            .header("Authorization", &format!("Bearer {enroll_token}"))
            .header("Content-Type", "application/json")
            .send(body.as_bytes())
            .map_err(|e| self.unreachable(&e))?;
        let status = response.status().as_u16();
        let text = read_body(response);
        if status != 201 {
            return Err(classify(status, &text, None));
        }
        #[derive(serde::Deserialize)]
        struct Enrolled {
            token: String,
        }
        let token = serde_json::from_str::<Enrolled>(&text)
            .map_err(|e| ClientError::Server {
                status,
                message: format!("the enrollment answer holds no token: {e}"),
                retry_after: None,
            })?
            .token;
        write_private(&self.token_file, &token).map_err(|e| ClientError::Token {
            path: self.token_file.clone(),
            reason: format!("cannot keep the node token: {e}"),
        })?;
        tracing::info!(
            node,
            token_file = %self.token_file.display(),
            "enrolled: the node token is kept for the next uploads"
        );
        Ok(())
    }

    /// GETs `path` (e.g. `/api/v1/nodes?limit=100`) and parses its JSON.
    pub fn get_json(&self, path: &str) -> Result<serde_json::Value, ClientError> {
        let token = self.token()?;
        let url = format!("{}{path}", self.base);
        let response = self
            .agent
            .get(&url)
            .header("Authorization", &format!("Bearer {token}"))
            .header("Accept", "application/json")
            .call()
            .map_err(|e| self.unreachable(&e))?;
        let status = response.status().as_u16();
        let text = read_body(response);
        if status != 200 {
            return Err(classify(status, &text, None));
        }
        serde_json::from_str(&text).map_err(|e| ClientError::Server {
            status,
            message: format!(
                "answer is not JSON ({e}); is {} a nodecheck collector?",
                self.base
            ),
            retry_after: None,
        })
    }

    fn unreachable(&self, error: &ureq::Error) -> ClientError {
        ClientError::Unreachable {
            url: self.base.clone(),
            reason: error.to_string(),
        }
    }
}

/// Writes `text` to `path` readable by its owner alone: a new file beside it, synced, then
/// renamed over it.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let temporary = dir.join(format!(
        ".{}.{}",
        path.file_name()
            .map_or("token".into(), |n| n.to_string_lossy().into_owned()),
        std::process::id()
    ));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temporary)?;
    let written = file
        .write_all(format!("{text}\n").as_bytes())
        .and_then(|()| file.sync_all())
        .and_then(|()| std::fs::rename(&temporary, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written
}

fn read_body(response: ureq::http::Response<ureq::Body>) -> String {
    response
        .into_body()
        .with_config()
        .limit(MAX_RESPONSE_BYTES)
        .read_to_string()
        .unwrap_or_default()
}

/// A non-success answer: refused for good (4xx but 408 and 429) or failed for now.
fn classify(status: u16, body: &str, retry_after: Option<Duration>) -> ClientError {
    let message = serde_json::from_str::<ErrorBody>(body)
        .map(|b| b.error)
        .unwrap_or_else(|_| {
            let text: String = body.chars().take(200).collect();
            if text.trim().is_empty() {
                "no message".into()
            } else {
                text.trim().to_string()
            }
        });
    if (400..500).contains(&status) && status != 408 && status != 429 {
        ClientError::Refused { status, message }
    } else {
        ClientError::Server {
            status,
            message,
            retry_after,
        }
    }
}

fn read_certificates(path: &Path) -> Result<Vec<ureq::tls::Certificate<'static>>, ClientError> {
    let error = |reason: String| ClientError::Certificates {
        path: path.to_path_buf(),
        reason,
    };
    let pem = std::fs::read(path).map_err(|e| error(e.to_string()))?;
    let mut certificates = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        if let ureq::tls::PemItem::Certificate(c) = item.map_err(|e| error(e.to_string()))? {
            certificates.push(c);
        }
    }
    if certificates.is_empty() {
        return Err(error("holds no PEM certificate".into()));
    }
    Ok(certificates)
}

fn read_key(path: &Path) -> Result<ureq::tls::PrivateKey<'static>, ClientError> {
    let error = |reason: String| ClientError::Certificates {
        path: path.to_path_buf(),
        reason,
    };
    let pem = std::fs::read(path).map_err(|e| error(e.to_string()))?;
    for item in ureq::tls::parse_pem(&pem) {
        if let ureq::tls::PemItem::PrivateKey(key) = item.map_err(|e| error(e.to_string()))? {
            return Ok(key);
        }
    }
    Err(error("holds no PEM private key".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(collector: &str) -> ClientOptions {
        ClientOptions {
            collector: collector.into(),
            token_file: "/nonexistent/token".into(),
            enroll_token_file: None,
            ca: None,
            client_cert: None,
            timeout: Duration::from_secs(5),
        }
    }

    #[test]
    fn collector_urls_are_checked() {
        for (url, reason) in [
            ("collector:8080", "must start with http:// or https://"),
            ("https://", "names no host"),
            ("http:///x", "names no host"),
            ("https://c:8443/?x=1", "must not carry a query"),
        ] {
            match Client::new(&options(url)) {
                Err(ClientError::Url { reason: r, .. }) => {
                    assert!(r.contains(reason), "{url}: {r}")
                }
                other => panic!("{url}: {other:?}"),
            }
        }
        assert!(Client::new(&options("https://collector.example:8443/")).is_ok());
    }

    #[test]
    fn answers_are_sorted_by_what_to_do_next() {
        let refused = classify(401, r#"{"error":"this token was revoked"}"#, None);
        assert_eq!(
            refused,
            ClientError::Refused {
                status: 401,
                message: "this token was revoked".into()
            }
        );
        assert!(!refused.is_transient());
        assert!(!classify(413, "", None).is_transient());
        assert!(classify(429, "", None).is_transient());
        assert!(classify(503, "<html>busy</html>", None).is_transient());
        assert_eq!(
            classify(500, "", None).to_string(),
            "collector failed (500): no message"
        );
        assert_eq!(classify(403, "", None).kind(), "refused_403");

        let busy = classify(503, r#"{"error":"busy"}"#, Some(Duration::from_secs(5)));
        assert!(busy.is_transient());
        assert_eq!(busy.retry_after(), Some(Duration::from_secs(5)));
        assert_eq!(
            busy.to_string(),
            "collector failed (503): busy (asked to retry after 5 s)"
        );
    }

    #[test]
    fn retry_after_is_read_in_seconds_and_capped() {
        assert_eq!(parse_retry_after(Some("7")), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after(Some(" 0 ")), Some(Duration::ZERO));
        assert_eq!(parse_retry_after(Some("99999999")), Some(MAX_RETRY_AFTER));
        // A date (from a proxy), a negative or garbage: the caller's own backoff decides.
        assert_eq!(
            parse_retry_after(Some("Wed, 21 Oct 2026 07:28:00 GMT")),
            None
        );
        assert_eq!(parse_retry_after(Some("-1")), None);
        assert_eq!(parse_retry_after(None), None);
    }

    #[test]
    fn token_files_are_read_for_every_request_and_checked() {
        let dir = std::env::temp_dir().join(format!("nodecheck-client-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("token");
        let client = Client::new(&ClientOptions {
            token_file: path.clone(),
            ..options("http://127.0.0.1:9")
        })
        .expect("client");
        assert!(matches!(client.token(), Err(ClientError::Token { .. })));
        std::fs::write(&path, " \n").expect("write");
        assert!(
            client
                .token()
                .expect_err("empty")
                .to_string()
                .ends_with("is empty")
        );
        std::fs::write(&path, "first\n").expect("write");
        assert_eq!(client.token().expect("token"), "first");
        // Rotated in place: the next request uses the new one.
        std::fs::write(&path, "second").expect("write");
        assert_eq!(client.token().expect("token"), "second");
        std::fs::write(&path, "two words").expect("write");
        assert!(client.token().is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
