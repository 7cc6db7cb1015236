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
"#,
        )
        .expect("valid");
        assert_eq!(config.listen.as_deref(), Some("0.0.0.0:8443"));
        assert_eq!(config.retention_days, Some(14));
        assert_eq!(config.anonymous_read, Some(false));
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
        ];
        for (text, expected) in cases {
            let message = FileConfig::parse(text).expect_err(text);
            assert!(message.contains(expected), "{text}: {message}");
        }
        // toml names the line and column.
        let message = FileConfig::parse("listen = \"a\"\nlisten_port = 1\n").expect_err("unknown");
        assert!(message.contains("line 2, column 1"), "{message}");
    }
}
