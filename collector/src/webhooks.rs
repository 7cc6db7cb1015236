//! Webhooks: regressions told to receivers, signed, retried, never lost.
//!
//! Events are found where the facts are: at ingest (a critical or high check starts failing,
//! the score falls by more than a webhook's threshold, a setting of a node moves away from
//! what most of its peers hold) and by a sweep (a node goes stale). Each event that a
//! webhook's filters take becomes a delivery row written in the same transaction as what
//! caused it, with its body already rendered and a stable idempotency key: a restart, a
//! crash or a receiver that is down loses nothing, and every retry sends the same bytes.
//!
//! A delivery is sent until the receiver answers 2xx, at least once (a collector that dies
//! after the receiver took a delivery but before recording it sends it again; receivers
//! dedupe on `X-Nodecheck-Delivery`). Retries wait `retry_initial_s`, then twice as long each
//! time, at most an hour; after `max_attempts` the delivery is dead-lettered, listed by
//! `GET /api/v1/deliveries?state=dead` and sent again by `POST /api/v1/deliveries/{id}/retry`.
//!
//! The body is signed: `X-Nodecheck-Signature: sha256=<hex HMAC-SHA256 of the body>` with the
//! webhook's secret. Slack-format bodies escape what Slack would read as mentions or links.

use crate::config::{WebhookConfig, WebhookFormat};
use std::path::Path;

/// The kinds of event.
pub mod event {
    pub const CHECK_FAILING: &str = "check-failing";
    pub const SCORE_DROP: &str = "score-drop";
    pub const STALE: &str = "stale";
    pub const DRIFT: &str = "drift";
}

/// A configured receiver, its secret read.
#[derive(Clone)]
pub struct Webhook {
    pub name: String,
    pub url: String,
    secret: Vec<u8>,
    pub format: WebhookFormat,
    events: Vec<String>,
    clusters: Option<Vec<String>>,
    severities: Vec<String>,
    checks: Option<Vec<String>>,
    score_drop: i64,
    pub max_attempts: i64,
    retry_initial_s: i64,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret.
        f.debug_struct("Webhook")
            .field("name", &self.name)
            .field("origin", &self.origin())
            .finish_non_exhaustive()
    }
}

/// A secret longer than this is no key but a mistake (a certificate, a log).
const SECRET_MAX: u64 = 4096;

impl Webhook {
    /// The webhook of a checked `[[webhooks]]` entry, its secret read from `secret_file`.
    pub fn from_config(config: &WebhookConfig) -> Result<Webhook, String> {
        let secret = read_secret(&config.secret_file)
            .map_err(|e| format!("webhook {:?}: {e}", config.name))?;
        Ok(Webhook {
            name: config.name.clone(),
            url: config.url.clone(),
            secret,
            format: config.format,
            events: config.events.clone().unwrap_or_else(|| {
                crate::config::WEBHOOK_EVENTS
                    .iter()
                    .map(|e| e.to_string())
                    .collect()
            }),
            clusters: config.clusters.clone(),
            severities: config
                .severities
                .clone()
                .unwrap_or_else(|| vec!["critical".into(), "high".into()]),
            checks: config.checks.clone(),
            score_drop: config.score_drop.unwrap_or(10),
            max_attempts: config.max_attempts.unwrap_or(10),
            retry_initial_s: config.retry_initial_s.unwrap_or(10),
        })
    }

    /// The URL's scheme and host, for logs: the rest of an incoming-webhook URL (Slack's,
    /// Teams', Discord's) is a credential.
    pub fn origin(&self) -> String {
        match self.url.parse::<axum::http::Uri>() {
            Ok(uri) => format!(
                "{}://{}",
                uri.scheme_str().unwrap_or("?"),
                uri.authority().map_or("?", |a| a.host())
            ),
            Err(_) => "(unparsable URL)".into(),
        }
    }

    /// Whether this webhook is told of `event`.
    pub fn takes(&self, event: &Event) -> bool {
        if !self.events.iter().any(|e| e == event.kind) {
            return false;
        }
        if let Some(clusters) = &self.clusters
            && !clusters.contains(&event.cluster)
        {
            return false;
        }
        match event.kind {
            event::CHECK_FAILING => {
                event
                    .severity
                    .as_ref()
                    .is_some_and(|s| self.severities.contains(s))
                    && self.checks.as_ref().is_none_or(|patterns| {
                        patterns.iter().any(|p| glob_matches(p, &event.subject))
                    })
            }
            event::SCORE_DROP => event.drop.is_some_and(|d| d > self.score_drop),
            _ => true,
        }
    }

    /// Seconds to wait after failed attempt number `attempts` (1 for the first).
    pub fn backoff(&self, attempts: i64) -> i64 {
        let doublings = u32::try_from(attempts.clamp(1, 20) - 1).unwrap_or(0);
        self.retry_initial_s
            .saturating_mul(1_i64 << doublings)
            .min(3600)
    }

    /// `sha256=<hex>`: the HMAC-SHA256 of `body` with the webhook's secret.
    pub fn signature(&self, body: &[u8]) -> String {
        sign(&self.secret, body)
    }
}

/// The HMAC-SHA256 signature header value of `body` under `secret`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    use hmac::{KeyInit, Mac};
    let mut mac = match hmac::Hmac::<sha2::Sha256>::new_from_slice(secret) {
        Ok(mac) => mac,
        // HMAC takes keys of any length; this cannot happen.
        Err(_) => return String::new(),
    };
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// Reads a secret file: bounded, trimmed of a final newline, not empty.
fn read_secret(path: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let file = std::fs::File::open(path)
        .map_err(|e| format!("cannot read the secret {}: {e}", path.display()))?;
    let mut secret = Vec::new();
    file.take(SECRET_MAX + 1)
        .read_to_end(&mut secret)
        .map_err(|e| format!("cannot read the secret {}: {e}", path.display()))?;
    if secret.len() as u64 > SECRET_MAX {
        return Err(format!(
            "the secret {} is longer than {SECRET_MAX} bytes",
            path.display()
        ));
    }
    while secret.last().is_some_and(|b| matches!(b, b'\n' | b'\r')) {
        secret.pop();
    }
    if secret.is_empty() {
        return Err(format!("the secret {} is empty", path.display()));
    }
    Ok(secret)
}

/// `*` matches any run of characters; everything else itself.
fn glob_matches(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let [first, middle @ .., last] = parts.as_slice() else {
        return pattern == text;
    };
    if parts.len() == 1 {
        return pattern == text;
    }
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// Something a receiver may be told.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Event {
    pub kind: &'static str,
    pub cluster: String,
    pub node: String,
    /// When it was found (Unix seconds).
    pub at: i64,
    /// The check, the setting; empty for the node itself.
    pub subject: String,
    pub severity: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
    /// One line: the finding's message, what the majority holds.
    pub detail: String,
    /// The report that showed it, when one did.
    pub report_id: Option<String>,
    /// How many points the score fell, for `score-drop`.
    #[serde(skip)]
    pub drop: Option<i64>,
}

impl Event {
    /// The same for every delivery of this event to a webhook, whichever replica finds it
    /// and however often it is sent: what happened, where, and the report (or, for a node
    /// going stale, the time it was last heard from) that showed it.
    pub fn idempotency_key(&self, webhook: &str) -> String {
        use sha2::Digest;
        let mut hasher = sha2::Sha256::new();
        for part in [
            webhook,
            self.kind,
            &self.cluster,
            &self.node,
            &self.subject,
            self.report_id.as_deref().unwrap_or_default(),
            self.before.as_deref().unwrap_or_default(),
        ] {
            hasher.update(part.as_bytes());
            hasher.update([0]);
        }
        let digest = hasher.finalize();
        digest[..16].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// One line for people: what the node sent is cut short and its control and invisible
    /// characters replaced, so it cannot start a line that reads as another alert.
    pub fn text(&self) -> String {
        let line = self.raw_text();
        let clean: String = line
            .chars()
            .map(|c| {
                if c.is_control() || nodecheck_report::limits::is_invisible(c) {
                    ' '
                } else {
                    c
                }
            })
            .collect();
        crate::ingest::clip(&clean, 600)
    }

    fn raw_text(&self) -> String {
        let node = format!("{}/{}", self.cluster, self.node);
        match self.kind {
            event::CHECK_FAILING => format!(
                "{node}: {} ({}) started failing: {}",
                self.subject,
                self.severity.as_deref().unwrap_or("?"),
                self.detail
            ),
            event::SCORE_DROP => format!(
                "{node}: score fell from {} to {}",
                self.before.as_deref().unwrap_or("?"),
                self.after.as_deref().unwrap_or("?")
            ),
            event::STALE => format!("{node} stopped reporting: {}", self.detail),
            event::DRIFT => format!(
                "{node} differs from its peers on {}: {} ({})",
                self.subject,
                self.after.as_deref().unwrap_or("unset"),
                self.detail
            ),
            _ => format!("{node}: {}", self.detail),
        }
    }
}

/// What Slack reads as markup in text (`<!channel>`, `<https://…|link>`), escaped as its
/// documentation asks: a node's message cannot ping a channel or hide a link.
fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The body a webhook is sent for an event, rendered once, at enqueue.
pub fn body(webhook: &Webhook, event: &Event, delivery_id: &str) -> String {
    let value = match webhook.format {
        // No unfurling: a link in a node's message must not fetch a preview.
        WebhookFormat::Slack => serde_json::json!({
            "text": format!("nodecheck: {}", slack_escape(&event.text())),
            "unfurl_links": false,
            "unfurl_media": false,
        }),
        WebhookFormat::Generic => serde_json::json!({
            "delivery_id": delivery_id,
            "webhook": webhook.name,
            "event": event.kind,
            "text": event.text(),
            "cluster": event.cluster,
            "node": event.node,
            "at": event.at,
            "subject": event.subject,
            "severity": event.severity,
            "before": event.before,
            "after": event.after,
            "detail": event.detail,
            "report_id": event.report_id,
        }),
    };
    value.to_string()
}

/// A delivery due now, as claimed.
#[derive(Debug, Clone)]
pub struct Due {
    pub id: i64,
    pub webhook: String,
    pub event: String,
    pub idempotency_key: String,
    pub body: String,
    pub attempts: i64,
    /// Until when this sender holds it: the claim's mark, which an attempt's outcome is
    /// recorded against (another sender that took it after the lease ran out wins).
    pub lease_until: i64,
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    /// Why not: the status and the start of the answer, or the connection's error.
    Failed(String),
}

/// Error texts kept per delivery are cut to this.
const ERROR_MAX: usize = 300;

/// The HTTP client of the deliveries: ten seconds per attempt, no redirects (a receiver is
/// named exactly), statuses as answers.
pub fn client() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(std::time::Duration::from_secs(10)))
        .max_redirects(0)
        .http_status_as_error(false)
        .user_agent(concat!("nodecheck-collector/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

/// Sends one delivery.
pub fn send(agent: &ureq::Agent, webhook: &Webhook, due: &Due) -> Outcome {
    let result = agent
        .post(&webhook.url)
        .header("content-type", "application/json")
        .header("x-nodecheck-event", &due.event)
        .header("x-nodecheck-delivery", &due.idempotency_key)
        .header(
            "x-nodecheck-signature",
            webhook.signature(due.body.as_bytes()),
        )
        .send(due.body.as_bytes());
    match result {
        Ok(response) if response.status().is_success() => Outcome::Delivered,
        Ok(mut response) => {
            let status = response.status();
            let answer = response
                .body_mut()
                .with_config()
                .limit(1024)
                .read_to_string()
                .unwrap_or_default();
            Outcome::Failed(crate::ingest::clip(
                &format!("HTTP {status}: {}", answer.trim()),
                ERROR_MAX,
            ))
        }
        Err(e) => Outcome::Failed(crate::ingest::clip(&e.to_string(), ERROR_MAX)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn webhook(format: WebhookFormat) -> Webhook {
        Webhook {
            name: "chat".into(),
            url: "http://127.0.0.1:9/".into(),
            secret: b"key".to_vec(),
            format,
            events: vec![event::CHECK_FAILING.into(), event::SCORE_DROP.into()],
            clusters: Some(vec!["prod".into()]),
            severities: vec!["critical".into()],
            checks: Some(vec!["kubelet.*".into(), "sshd.permit-root-login".into()]),
            score_drop: 10,
            max_attempts: 3,
            retry_initial_s: 5,
        }
    }

    fn failing(check: &str, severity: &str, cluster: &str) -> Event {
        Event {
            kind: event::CHECK_FAILING,
            cluster: cluster.into(),
            node: "web-1".into(),
            at: 100,
            subject: check.into(),
            severity: Some(severity.into()),
            before: Some("pass".into()),
            after: Some("fail".into()),
            detail: "<!channel> see <https://evil.example|docs> & more".into(),
            report_id: Some("01R".into()),
            drop: None,
        }
    }

    #[test]
    fn filters_take_what_they_name() {
        let w = webhook(WebhookFormat::Generic);
        assert!(w.takes(&failing("kubelet.anonymous-auth", "critical", "prod")));
        assert!(w.takes(&failing("sshd.permit-root-login", "critical", "prod")));
        assert!(!w.takes(&failing("sshd.permit-root-login", "high", "prod")));
        assert!(!w.takes(&failing("kubelet.anonymous-auth", "critical", "dev")));
        assert!(!w.takes(&failing("etcd.exposure", "critical", "prod")));
        let mut drop = failing("", "", "prod");
        drop.kind = event::SCORE_DROP;
        drop.severity = None;
        drop.drop = Some(10);
        assert!(!w.takes(&drop), "a fall of 10 is not more than 10");
        drop.drop = Some(11);
        assert!(w.takes(&drop));
        drop.kind = event::STALE;
        assert!(!w.takes(&drop), "not an event it takes");
    }

    #[test]
    fn globs_match_whole_ids() {
        assert!(glob_matches("kubelet.*", "kubelet.read-only-port"));
        assert!(glob_matches("*.anonymous-auth", "kubelet.anonymous-auth"));
        assert!(glob_matches("a*b*c", "aXbYc"));
        assert!(!glob_matches("a*b*c", "aXbY"));
        assert!(!glob_matches("kubelet", "kubelet.x"));
        assert!(glob_matches("*", ""));
    }

    #[test]
    fn backoff_doubles_to_an_hour() {
        let w = webhook(WebhookFormat::Generic);
        let waits: Vec<i64> = (1..=4).map(|a| w.backoff(a)).collect();
        assert_eq!(waits, [5, 10, 20, 40]);
        assert_eq!(w.backoff(30), 3600);
    }

    #[test]
    fn bodies_are_signed_keyed_and_escaped_for_slack() {
        let event = failing("kubelet.anonymous-auth", "critical", "prod");
        let key = event.idempotency_key("chat");
        assert_eq!(key, event.idempotency_key("chat"), "stable");
        assert_ne!(key, event.idempotency_key("other"));
        let mut later = event.clone();
        later.report_id = Some("01S".into());
        assert_ne!(
            key,
            later.idempotency_key("chat"),
            "another report, another event"
        );
        let generic = body(&webhook(WebhookFormat::Generic), &event, &key);
        let parsed: serde_json::Value = serde_json::from_str(&generic).expect("json");
        assert_eq!(parsed["delivery_id"], key.as_str());
        assert_eq!(parsed["event"], "check-failing");
        let slack = body(&webhook(WebhookFormat::Slack), &event, &key);
        let parsed: serde_json::Value = serde_json::from_str(&slack).expect("json");
        let text = parsed["text"].as_str().expect("text");
        assert!(!text.contains('<') && !text.contains('>'), "{text}");
        assert!(
            text.contains("&lt;!channel&gt;") && text.contains("&amp; more"),
            "{text}"
        );
        assert_eq!(parsed["unfurl_links"], false);
        // A line break in what the node sent cannot start a line of its own.
        let mut spoof = failing("kubelet.anonymous-auth", "critical", "prod");
        spoof.detail = "x\nnodecheck: prod/etcd-1 stopped reporting\u{202E}".into();
        let line = spoof.text();
        assert!(!line.contains('\n') && !line.contains('\u{202E}'), "{line}");
        // RFC 4231, test case 2.
        assert_eq!(
            sign(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn secrets_are_read_bounded_and_never_shown() {
        let dir = std::env::temp_dir().join(format!("nodecheck-webhook-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("secret");
        std::fs::write(&path, "s3cret\n").expect("write");
        assert_eq!(read_secret(&path).expect("read"), b"s3cret");
        std::fs::write(&path, "\n").expect("write");
        assert!(read_secret(&path).expect_err("empty").contains("is empty"));
        std::fs::write(&path, vec![b'x'; 5000]).expect("write");
        assert!(
            read_secret(&path)
                .expect_err("long")
                .contains("longer than 4096")
        );
        let mut w = webhook(WebhookFormat::Generic);
        w.secret = b"s3cret".to_vec();
        assert!(!format!("{w:?}").contains("s3cret"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
