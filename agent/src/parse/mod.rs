//! Parsers: file text in, models out. Nothing here reads the host; callers hand in text.

pub mod dpkg;
pub mod flags;
pub mod go_build;
pub mod kubelet;
pub mod redact;
pub mod ssh_key;
pub mod sshd;
pub mod yaml;
