//! Parsers: file text in, models out. Nothing here reads the host; callers hand in text.

pub mod sshd;
