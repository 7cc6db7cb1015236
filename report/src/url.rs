//! URL pieces both sides build: node and cluster names and check ids go into paths and
//! queries (the collector's links, the agent's requests), percent-encoded the same way.

/// Percent-encodes all but the unreserved characters of RFC 3986, for a path segment or a
/// query value.
pub fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_unreserved_characters_stay() {
        assert_eq!(super::percent_encode("web-1.prod_x~"), "web-1.prod_x~");
        assert_eq!(super::percent_encode("a b/c?d&é"), "a%20b%2Fc%3Fd%26%C3%A9");
    }
}
