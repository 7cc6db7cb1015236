//! Parsers: file text in, models out. Nothing here reads the host; callers hand in text.

pub mod flags;
pub mod kubelet;
pub mod redact;
pub mod ssh_key;
pub mod sshd;
pub mod yaml;
