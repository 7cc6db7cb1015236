//! The checks this collector knows, as the scanner of the same version describes them:
//! `collector/catalogue.json`, the output of `nodecheck checks --format json`, committed and
//! embedded (a test in `tests/cli.rs` fails when it differs from what the scanner prints, and
//! the collector still never depends on the scanner's crate).
//!
//! What the fleet's pages and API show about a check — its title, area, severity, rationale
//! and fix — comes from here for every check listed, never from a report: a node holding a
//! valid token could otherwise retitle a check for every viewer of the fleet (issue 12: a
//! report retitled `sshd.permit-root-login` "Root login is fine" with the fix `curl … | sudo
//! sh`). A node's own page still shows what that node sent.

use std::collections::HashMap;
use std::sync::LazyLock;

/// One check as the scanner describes it (the fields the collector shows).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Entry {
    pub id: String,
    pub title: String,
    pub area: String,
    pub severity: String,
    pub remediation: String,
    pub rationale: String,
}

const CATALOGUE_JSON: &str = include_str!("../catalogue.json");

static CATALOGUE: LazyLock<HashMap<String, Entry>> = LazyLock::new(|| {
    match serde_json::from_str::<Vec<Entry>>(CATALOGUE_JSON) {
        Ok(entries) => entries.into_iter().map(|e| (e.id.clone(), e)).collect(),
        Err(e) => {
            // A unit test parses it; this is never reached in a build that passed its tests.
            tracing::error!("the embedded check catalogue cannot be read: {e}");
            HashMap::new()
        }
    }
});

/// The catalogue's description of a check, if it knows it.
pub fn get(id: &str) -> Option<&'static Entry> {
    CATALOGUE.get(id)
}

/// The SHA-256 of the embedded catalogue: what a node's kept check rows were judged with
/// (see `store::ingest`).
pub fn fingerprint() -> &'static [u8; 32] {
    static FINGERPRINT: LazyLock<[u8; 32]> = LazyLock::new(|| {
        use sha2::Digest;
        sha2::Sha256::digest(CATALOGUE_JSON.as_bytes()).into()
    });
    &FINGERPRINT
}

/// How many checks the catalogue knows.
pub fn len() -> usize {
    CATALOGUE.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_catalogue_reads_and_knows_the_scanners_checks() {
        let entries: Vec<Entry> = serde_json::from_str(CATALOGUE_JSON).expect("catalogue.json");
        assert_eq!(entries.len(), len());
        let entry = get("sshd.permit-root-login").expect("a known check");
        assert_eq!(entry.area, "sshd");
        assert!(!entry.title.is_empty() && !entry.remediation.is_empty());
        assert!(get("no.such-check").is_none());
    }
}
