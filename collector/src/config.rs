//! The collector's configuration file (`--config FILE`, TOML): the same settings as the
//! command line, for deployments that keep them in a ConfigMap or under /etc. A flag given on
//! the command line (or, for the database, in `NODECHECK_COLLECTOR_DATABASE`) wins over the
//! file; the file wins over the defaults.
//!
//! An unknown key, a value of the wrong type or out of range stops the start with the line and
//! column, never silently ignored: a misspelt `anonymous_read` must not leave a collector open
//! or closed by surprise.

use std::path::{Path, PathBuf};

/// Settings from the file; `None` where it says nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// `host:port` to listen on.
    pub listen: Option<String>,
    /// The collector's own files (SQLite database, first-start tokens).
    pub data_dir: Option<PathBuf>,
    /// A `postgres://` URL instead of SQLite.
    pub database: Option<String>,
    /// Let anyone read without a token.
    pub anonymous_read: Option<bool>,
    /// Days full reports are kept.
    pub retention_days: Option<i64>,
    /// PEM certificate chain for HTTPS.
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// The server's limits (`[limits]`).
    pub limits: Option<LimitsConfig>,
    /// Receivers told of regressions (`[[webhooks]]`).
    #[serde(default)]
    pub webhooks: Vec<WebhookConfig>,
}

/// A `[[webhooks]]` entry: a receiver, what it is told, and how it is retried.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Names the receiver in deliveries, logs and metrics: lowercase letters, digits, `-`.
    pub name: String,
    /// `http://` or `https://`.
    pub url: String,
    /// A file holding the HMAC-SHA256 key the body is signed with (read at start).
    pub secret_file: PathBuf,
    /// `generic` (the event as JSON, with a `text` line) or `slack` (`{"text": …}`).
    #[serde(default)]
    pub format: WebhookFormat,
    /// What it is told (default: all): `check-failing`, `score-drop`, `stale`, `drift`.
    pub events: Option<Vec<String>>,
    /// Only these clusters (default: all).
    pub clusters: Option<Vec<String>>,
    /// Severities of `check-failing` (default: critical and high).
    pub severities: Option<Vec<String>>,
    /// Check ids of `check-failing` (`*` matches any characters; default: all).
    pub checks: Option<Vec<String>>,
    /// `score-drop`: a fall of more than this many points between two reports (default 10).
    pub score_drop: Option<i64>,
    /// Attempts before a delivery is dead-lettered (default 10).
    pub max_attempts: Option<i64>,
    /// Seconds before the first retry; each next one waits twice as long, at most an hour
    /// (default 10).
    pub retry_initial_s: Option<i64>,
}

/// How a webhook body is shaped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WebhookFormat {
    #[default]
    Generic,
    Slack,
}

/// The events a webhook may be told of.
pub const WEBHOOK_EVENTS: &[&str] = &["check-failing", "score-drop", "stale", "drift"];

impl WebhookConfig {
    fn check(&self, seen: &mut std::collections::HashSet<String>) -> Result<(), String> {
        let at = format!("webhooks {:?}", self.name);
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 63
            && self
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !name_ok {
            return Err(format!(
                "{at}: name must be 1 to 63 lowercase letters, digits or '-'"
            ));
        }
        if !seen.insert(self.name.clone()) {
            return Err(format!("{at}: two webhooks have this name"));
        }
        let url_ok = (self.url.starts_with("https://") || self.url.starts_with("http://"))
            && self
                .url
                .parse::<axum::http::Uri>()
                .is_ok_and(|u| u.host().is_some());
        if !url_ok {
            return Err(format!(
                "{at}: url {:?} must be an http:// or https:// URL with a host",
                self.url
            ));
        }
        for event in self.events.iter().flatten() {
            if !WEBHOOK_EVENTS.contains(&event.as_str()) {
                return Err(format!(
                    "{at}: unknown event {event:?}: expected {}",
                    WEBHOOK_EVENTS.join(", ")
                ));
            }
        }
        for severity in self.severities.iter().flatten() {
            if nodecheck_report::Severity::parse(severity).is_none() {
                return Err(format!(
                    "{at}: unknown severity {severity:?}: expected critical, high, medium, low or info"
                ));
            }
        }
        let ranges = [
            ("score_drop", self.score_drop, 1..=100),
            ("max_attempts", self.max_attempts, 1..=100),
            ("retry_initial_s", self.retry_initial_s, 1..=3600),
        ];
        for (key, value, range) in ranges {
            if let Some(value) = value
                && !range.contains(&value)
            {
                return Err(format!(
                    "{at}: {key} = {value} is out of range ({} to {})",
                    range.start(),
                    range.end()
                ));
            }
        }
        Ok(())
    }
}

/// The `[limits]` table: each key as the flag of the same name (`--max-connections`, …).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    pub max_connections: Option<u64>,
    pub max_handshakes: Option<u64>,
    pub handshake_timeout_s: Option<u64>,
    pub header_timeout_s: Option<u64>,
    pub idle_timeout_s: Option<u64>,
    pub request_timeout_s: Option<u64>,
    pub body_min_rate: Option<u64>,
    pub max_ingest: Option<u64>,
}

/// The ranges the limits may take, in the file and on the command line.
pub mod limit_ranges {
    use std::ops::RangeInclusive;
    pub const MAX_CONNECTIONS: RangeInclusive<u64> = 16..=1_000_000;
    pub const MAX_HANDSHAKES: RangeInclusive<u64> = 1..=65_536;
    pub const TIMEOUT_S: RangeInclusive<u64> = 1..=3_600;
    pub const BODY_MIN_RATE: RangeInclusive<u64> = 1..=1 << 30;
    pub const MAX_INGEST: RangeInclusive<u64> = 1..=4_096;
}

impl LimitsConfig {
    fn check(&self) -> Result<(), String> {
        use limit_ranges::*;
        let settings = [
            ("max_connections", self.max_connections, MAX_CONNECTIONS),
            ("max_handshakes", self.max_handshakes, MAX_HANDSHAKES),
            ("handshake_timeout_s", self.handshake_timeout_s, TIMEOUT_S),
            ("header_timeout_s", self.header_timeout_s, TIMEOUT_S),
            ("idle_timeout_s", self.idle_timeout_s, TIMEOUT_S),
            ("request_timeout_s", self.request_timeout_s, TIMEOUT_S),
            ("body_min_rate", self.body_min_rate, BODY_MIN_RATE),
            ("max_ingest", self.max_ingest, MAX_INGEST),
        ];
        for (key, value, range) in settings {
            if let Some(value) = value
                && !range.contains(&value)
            {
                return Err(format!(
                    "limits.{key} = {value} is out of range ({} to {})",
                    range.start(),
                    range.end()
                ));
            }
        }
        Ok(())
    }
}

/// Why the configuration file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {error}")]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    /// toml's message names the line and column and shows the line.
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

/// The range `retention_days` may take (as on the command line).
pub const RETENTION_DAYS: std::ops::RangeInclusive<i64> = 1..=3650;

impl FileConfig {
    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<FileConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
            path: path.to_path_buf(),
            error,
        })?;
        FileConfig::parse(&text).map_err(|message| ConfigError::Invalid {
            path: path.to_path_buf(),
            message,
        })
    }

    /// Parses and checks configuration text.
    pub fn parse(text: &str) -> Result<FileConfig, String> {
        let config: FileConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        if let Some(days) = config.retention_days
            && !RETENTION_DAYS.contains(&days)
        {
            return Err(format!(
                "retention_days = {days} is out of range ({} to {})",
                RETENTION_DAYS.start(),
                RETENTION_DAYS.end()
            ));
        }
        if let Some(limits) = &config.limits {
            limits.check()?;
        }
        let mut names = std::collections::HashSet::new();
        for webhook in &config.webhooks {
            webhook.check(&mut names)?;
        }
        if config.tls_cert.is_some() != config.tls_key.is_some() {
            return Err("tls_cert and tls_key go together: give both or neither".into());
        }
        if let Some(database) = &config.database
            && !crate::store::is_postgres_url(database)
        {
            return Err(
                "database must be a postgres:// or postgresql:// URL (SQLite lives in data_dir)"
                    .into(),
            );
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_setting_is_read() {
        let config = FileConfig::parse(
            r#"
listen = "0.0.0.0:8443"
data_dir = "/var/lib/nc"
database = "postgres://collector@db/nodecheck"
anonymous_read = false
retention_days = 14
tls_cert = "/etc/nc/tls.crt"
tls_key = "/etc/nc/tls.key"

[limits]
max_connections = 5000
max_handshakes = 100
handshake_timeout_s = 5
header_timeout_s = 5
idle_timeout_s = 30
request_timeout_s = 20
body_min_rate = 4096
max_ingest = 8
"#,
        )
        .expect("valid");
        assert_eq!(config.listen.as_deref(), Some("0.0.0.0:8443"));
        assert_eq!(config.retention_days, Some(14));
        assert_eq!(config.anonymous_read, Some(false));
        let limits = config.limits.expect("limits");
        assert_eq!(limits.max_connections, Some(5000));
        assert_eq!(limits.max_ingest, Some(8));
        assert_eq!(limits.body_min_rate, Some(4096));
        assert_eq!(FileConfig::parse("").expect("empty"), FileConfig::default());
    }

    #[test]
    fn mistakes_are_refused_with_their_place() {
        let cases = [
            ("anonymous_reads = true", "unknown field `anonymous_reads`"),
            ("retention_days = \"30\"", "invalid type: string"),
            (
                "retention_days = 0",
                "retention_days = 0 is out of range (1 to 3650)",
            ),
            ("tls_cert = \"/a\"", "tls_cert and tls_key go together"),
            ("database = \"/var/lib/x.db\"", "must be a postgres://"),
            ("listen = ", "string values must be quoted"),
            (
                "[limits]\nmax_ingest = 0",
                "limits.max_ingest = 0 is out of range (1 to 4096)",
            ),
            (
                "[limits]\nheader_timeout = 5",
                "unknown field `header_timeout`",
            ),
        ];
        for (text, expected) in cases {
            let message = FileConfig::parse(text).expect_err(text);
            assert!(message.contains(expected), "{text}: {message}");
        }
        // toml names the line and column.
        let message = FileConfig::parse("listen = \"a\"\nlisten_port = 1\n").expect_err("unknown");
        assert!(message.contains("line 2, column 1"), "{message}");
    }

    #[test]
    fn webhooks_are_read_and_checked() {
        let hook = |extra: &str| {
            format!(
                "[[webhooks]]\nname = \"chat\"\nurl = \"https://hooks.example.com/x\"\nsecret_file = \"/s\"\n{extra}"
            )
        };
        let config = FileConfig::parse(&hook(
            "format = \"slack\"\nevents = [\"check-failing\", \"stale\"]\nclusters = [\"prod\"]\nseverities = [\"critical\"]\nchecks = [\"kubelet.*\"]\nscore_drop = 5\nmax_attempts = 3\nretry_initial_s = 2",
        ))
        .expect("valid");
        let webhook = &config.webhooks[0];
        assert_eq!(webhook.format, WebhookFormat::Slack);
        assert_eq!(
            webhook.checks.as_deref(),
            Some(&["kubelet.*".to_string()][..])
        );
        assert_eq!(webhook.retry_initial_s, Some(2));
        for (extra, expected) in [
            ("events = [\"regression\"]", "unknown event \"regression\""),
            ("severities = [\"urgent\"]", "unknown severity \"urgent\""),
            (
                "score_drop = 0",
                "score_drop = 0 is out of range (1 to 100)",
            ),
            ("format = \"teams\"", "unknown variant `teams`"),
            ("secret = \"x\"", "unknown field `secret`"),
        ] {
            let message = FileConfig::parse(&hook(extra)).expect_err(extra);
            assert!(message.contains(expected), "{extra}: {message}");
        }
        let message =
            FileConfig::parse(&hook("").replace("https://hooks.example.com/x", "ftp://x"))
                .expect_err("ftp");
        assert!(
            message.contains("must be an http:// or https:// URL"),
            "{message}"
        );
        let message = FileConfig::parse(&format!("{}\n{}", hook(""), hook(""))).expect_err("twice");
        assert!(message.contains("two webhooks have this name"), "{message}");
    }
}
