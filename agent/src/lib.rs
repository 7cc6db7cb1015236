//! nodecheck: judges how hardened a Kubernetes node (or any Linux host) is.
//!
//! The data flow, one module each: [`host`] reads the host (the only code that does), [`parse`]
//! turns file text into models, [`facts`] gathers everything a scan needs once, [`checks`] are
//! pure functions of the facts, [`registry`] is the one list of checks, [`profile`] selects and
//! tunes them, [`scan`] runs them into a report, and [`output`] renders it.

pub mod checks;
pub mod cis;
pub mod cli;
pub mod daemon;
pub mod docs;
pub mod facts;
pub mod host;
pub mod output;
pub mod parse;
pub mod profile;
pub mod registry;
pub mod remediate;
pub mod scan;
pub mod text;
/// Dates, timestamps and report IDs live with the report format, shared with the collector.
pub use nodecheck_report::time;
