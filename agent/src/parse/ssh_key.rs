//! OpenSSH public keys and certificates (`ssh_host_rsa_key.pub`, a `HostCertificate` file):
//! the algorithm and the key size, read from the key blob as `sshkey_from_blob` does
//! (RFC 4253 §6.6, RFC 5656 §3.1, RFC 8709 §4, PROTOCOL.certkeys).
//!
//! Only public material is ever parsed here; a snapshot keeps not even that, but the
//! [`derived`] line this module writes and reads back.

use std::fmt;

/// What a public key is: enough to judge it, nothing of the key itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKeyInfo {
    /// The key's algorithm name without the certificate suffix (`ssh-rsa`, `ssh-ed25519`,
    /// `ecdsa-sha2-nistp256`, `sk-ssh-ed25519@openssh.com`, …).
    pub algorithm: String,
    /// The key size in bits: the RSA modulus or DSA prime length, the curve size.
    pub bits: u32,
    /// Whether the file held a certificate of that key (`…-cert-v01@openssh.com`).
    pub certificate: bool,
}

impl PublicKeyInfo {
    /// The key family sshd groups algorithms by (`list_hostkey_types`).
    pub fn family(&self) -> KeyFamily {
        KeyFamily::of(&self.algorithm)
    }
}

impl fmt::Display for PublicKeyInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.algorithm)?;
        if self.bits > 0 {
            write!(f, " {} bits", self.bits)?;
        }
        if self.certificate {
            f.write_str(" (certificate)")?;
        }
        Ok(())
    }
}

/// Key families, as sshd offers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFamily {
    Rsa,
    Dsa,
    Ecdsa,
    Ed25519,
    /// FIDO keys (`sk-…`), which a host key cannot be in practice but the format allows.
    SecurityKey,
    /// The composite post-quantum ML-DSA-44 + Ed25519 key of OpenSSH 10.4 and later.
    MlDsa,
    Other,
}

impl KeyFamily {
    pub fn of(algorithm: &str) -> KeyFamily {
        let base = algorithm.trim_end_matches("-cert-v01@openssh.com");
        match base {
            "ssh-rsa" | "rsa-sha2-256" | "rsa-sha2-512" => KeyFamily::Rsa,
            "ssh-dss" => KeyFamily::Dsa,
            "ssh-ed25519" => KeyFamily::Ed25519,
            "ssh-mldsa44-ed25519@openssh.com" => KeyFamily::MlDsa,
            b if b.starts_with("ecdsa-sha2-") => KeyFamily::Ecdsa,
            b if b.starts_with("sk-") || b.starts_with("webauthn-sk-") => KeyFamily::SecurityKey,
            _ => KeyFamily::Other,
        }
    }

    /// The family a host key file's conventional name implies (`ssh_host_dsa_key`), for a key
    /// whose public half is missing.
    pub fn from_file_name(path: &str) -> Option<KeyFamily> {
        let name = path.rsplit('/').next().unwrap_or(path);
        let kind = name.strip_prefix("ssh_host_")?.strip_suffix("_key")?;
        match kind {
            "rsa" => Some(KeyFamily::Rsa),
            "dsa" => Some(KeyFamily::Dsa),
            "ecdsa" => Some(KeyFamily::Ecdsa),
            "ed25519" => Some(KeyFamily::Ed25519),
            "mldsa44_ed25519" => Some(KeyFamily::MlDsa),
            _ => None,
        }
    }
}

impl fmt::Display for KeyFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyFamily::Rsa => "RSA",
            KeyFamily::Dsa => "DSA",
            KeyFamily::Ecdsa => "ECDSA",
            KeyFamily::Ed25519 => "Ed25519",
            KeyFamily::SecurityKey => "FIDO",
            KeyFamily::MlDsa => "ML-DSA-44/Ed25519",
            KeyFamily::Other => "unknown",
        })
    }
}

/// The key a host key file's conventional name fixes completely (`ssh_host_dsa_key`: DSA,
/// 1024 bits; Ed25519; ML-DSA), for a key whose public half is missing. An RSA key's size and
/// an ECDSA key's curve are in the key itself, so those names give `None`.
pub fn named_key(path: &str) -> Option<PublicKeyInfo> {
    let (algorithm, bits) = match KeyFamily::from_file_name(path)? {
        KeyFamily::Dsa => ("ssh-dss", 1024),
        KeyFamily::Ed25519 => ("ssh-ed25519", 256),
        KeyFamily::MlDsa => ("ssh-mldsa44-ed25519@openssh.com", 0),
        _ => return None,
    };
    Some(PublicKeyInfo {
        algorithm: algorithm.into(),
        bits,
        certificate: false,
    })
}

/// The first word of the line a snapshot keeps in place of a public key.
pub const DERIVED_TAG: &str = "nodecheck-derived-public-key";
/// The first word of the line a snapshot keeps in place of a file that holds no usable key:
/// the reason follows, one of this parser's fixed messages (none quotes the file).
pub const DERIVED_ERROR_TAG: &str = "nodecheck-derived-public-key-error";

/// The line a snapshot keeps for a public key: its algorithm and size, no key bytes.
pub fn derived(info: &PublicKeyInfo) -> String {
    let cert = if info.certificate { " certificate" } else { "" };
    format!("{DERIVED_TAG} {} {}{cert}\n", info.algorithm, info.bits)
}

/// The line a snapshot keeps for a file that is not a usable public key.
pub fn derived_error(why: &str) -> String {
    format!("{DERIVED_ERROR_TAG} {why}\n")
}

/// Parses a `.pub` file (or certificate): the first line that is not blank or a comment, as
/// `type base64 [comment]`, or, `from_snapshot`, the [`derived`] or [`derived_error`] line a
/// snapshot keeps (on a live host such a line is no key). Errors are fixed messages that quote
/// nothing of the file, so a snapshot can keep them.
pub fn parse_public_key(text: &str, from_snapshot: bool) -> Result<PublicKeyInfo, String> {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .ok_or_else(|| "no key in the file".to_string())?;
    let mut words = line.split_ascii_whitespace();
    let kind = words.next().unwrap_or_default();
    if !from_snapshot && (kind == DERIVED_ERROR_TAG || kind == DERIVED_TAG) {
        return Err("an unknown key type".into());
    }
    if kind == DERIVED_ERROR_TAG {
        let why: Vec<&str> = words.collect();
        return Err(why.join(" "));
    }
    if kind == DERIVED_TAG {
        let algorithm = words.next().ok_or("derived key line without algorithm")?;
        let bits = words
            .next()
            .and_then(|b| b.parse().ok())
            .ok_or("derived key line without size")?;
        return Ok(PublicKeyInfo {
            algorithm: algorithm.to_string(),
            bits,
            certificate: words.next() == Some("certificate"),
        });
    }
    let encoded = words.next().ok_or("no key data after the type")?;
    let blob = base64_decode(encoded).ok_or("the key data is not base64")?;
    let info = parse_blob(&blob)?;
    let declared = if info.certificate {
        format!("{}-cert-v01@openssh.com", info.algorithm)
    } else {
        info.algorithm.clone()
    };
    if declared != kind {
        return Err("the type named in the file is not the key's type".into());
    }
    Ok(info)
}

/// Reads the wire format of a public key or certificate (`sshkey_from_blob`).
pub fn parse_blob(blob: &[u8]) -> Result<PublicKeyInfo, String> {
    let mut r = Reader(blob);
    let name = r.string_utf8()?;
    let (algorithm, certificate) = match name.strip_suffix("-cert-v01@openssh.com") {
        Some(base) => {
            r.string()?; // the nonce comes before the key fields
            (base.to_string(), true)
        }
        None => (name.to_string(), false),
    };
    let bits = match algorithm.as_str() {
        "ssh-rsa" => {
            r.string()?; // e
            mpint_bits(r.string()?)
        }
        "ssh-dss" => {
            let p = r.string()?;
            for _ in 0..3 {
                r.string()?; // q, g, y
            }
            mpint_bits(p)
        }
        "ssh-ed25519" | "sk-ssh-ed25519@openssh.com" => {
            let key = r.string()?;
            if key.len() != 32 {
                return Err("an Ed25519 key of the wrong length".into());
            }
            256
        }
        // A composite key: no single size; it is judged by its type.
        "ssh-mldsa44-ed25519@openssh.com" => {
            r.string()?;
            0
        }
        a if a.starts_with("ecdsa-sha2-") || a == "sk-ecdsa-sha2-nistp256@openssh.com" => {
            let curve = r.string_utf8()?;
            r.string()?; // the point
            match curve {
                "nistp256" => 256,
                "nistp384" => 384,
                "nistp521" => 521,
                _ => return Err("an unknown elliptic curve".into()),
            }
        }
        _ => return Err("an unknown key type".into()),
    };
    Ok(PublicKeyInfo {
        algorithm,
        bits,
        certificate,
    })
}

/// The bit length of an SSH `mpint` (big-endian, a leading zero byte for positive numbers).
fn mpint_bits(bytes: &[u8]) -> u32 {
    let digits: &[u8] = match bytes.iter().position(|&b| b != 0) {
        Some(first) => &bytes[first..],
        None => return 0,
    };
    let leading = digits[0].leading_zeros();
    u32::try_from(digits.len() * 8).unwrap_or(u32::MAX) - leading
}

/// A cursor over SSH wire data.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn string(&mut self) -> Result<&'a [u8], String> {
        let too_short = || "the key data ends early".to_string();
        let len_bytes: [u8; 4] = self
            .0
            .get(..4)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(too_short)?;
        let len = u32::from_be_bytes(len_bytes) as usize;
        let value = self.0.get(4..4 + len).ok_or_else(too_short)?;
        self.0 = &self.0[4 + len..];
        Ok(value)
    }

    fn string_utf8(&mut self) -> Result<&'a str, String> {
        std::str::from_utf8(self.string()?).map_err(|_| "a name in the key data is not text".into())
    }
}

/// Standard base64 with optional padding; `None` on any other character.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let trimmed = text.trim_end_matches('=');
    if text.len() - trimmed.len() > 2 {
        return None;
    }
    let mut out = Vec::with_capacity(trimmed.len() * 3 / 4);
    let (mut acc, mut held) = (0u32, 0u32);
    for &c in trimmed.as_bytes() {
        acc = (acc << 6) | value(c)?;
        held += 6;
        if held >= 8 {
            held -= 8;
            out.push((acc >> held) as u8);
            acc &= (1 << held) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(bytes: &[u8]) -> Vec<u8> {
        let mut out = (bytes.len() as u32).to_be_bytes().to_vec();
        out.extend_from_slice(bytes);
        out
    }

    fn encode(bytes: &[u8]) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |acc, (i, &b)| acc | (b as u32) << (16 - 8 * i));
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    fn rsa_blob(modulus_bytes: usize) -> Vec<u8> {
        let mut blob = string(b"ssh-rsa");
        blob.extend(string(&[1, 0, 1]));
        let mut n = vec![0u8];
        n.push(0xc5);
        n.extend(std::iter::repeat_n(0x11, modulus_bytes - 1));
        blob.extend(string(&n));
        blob
    }

    #[test]
    fn rsa_size_is_the_modulus_length() {
        let line = format!("ssh-rsa {} root@host\n", encode(&rsa_blob(128)));
        let info = parse_public_key(&line, false).expect("parses");
        assert_eq!(
            info,
            PublicKeyInfo {
                algorithm: "ssh-rsa".into(),
                bits: 1024,
                certificate: false
            }
        );
        assert_eq!(info.family(), KeyFamily::Rsa);
    }

    #[test]
    fn ed25519_ecdsa_and_certificates() {
        let mut ed = string(b"ssh-ed25519");
        ed.extend(string(&[7; 32]));
        let info =
            parse_public_key(&format!("ssh-ed25519 {}", encode(&ed)), false).expect("ed25519");
        assert_eq!((info.bits, info.family()), (256, KeyFamily::Ed25519));

        let mut ec = string(b"ecdsa-sha2-nistp384");
        ec.extend(string(b"nistp384"));
        ec.extend(string(&[4; 97]));
        let info =
            parse_public_key(&format!("ecdsa-sha2-nistp384 {}", encode(&ec)), false).expect("ec");
        assert_eq!((info.bits, info.family()), (384, KeyFamily::Ecdsa));

        let mut cert = string(b"ssh-rsa-cert-v01@openssh.com");
        cert.extend(string(b"nonce"));
        cert.extend(rsa_blob(256)[11..].iter().copied());
        let info = parse_public_key(
            &format!("ssh-rsa-cert-v01@openssh.com {}", encode(&cert)),
            false,
        )
        .expect("cert");
        assert_eq!((info.bits, info.certificate), (2048, true));
    }

    #[test]
    fn bad_files_say_why() {
        assert!(
            parse_public_key("", false)
                .expect_err("refused")
                .contains("no key")
        );
        assert!(
            parse_public_key("ssh-rsa !!!", false)
                .expect_err("refused")
                .contains("not base64")
        );
        let truncated = encode(&rsa_blob(128)[..40]);
        assert!(
            parse_public_key(&format!("ssh-rsa {truncated}"), false)
                .expect_err("refused")
                .contains("ends early")
        );
        let liar = format!("ssh-ed25519 {}", encode(&rsa_blob(128)));
        assert!(
            parse_public_key(&liar, false)
                .expect_err("refused")
                .contains("not the key's type")
        );
        let kept = derived_error("the key data ends early");
        assert_eq!(
            parse_public_key(&kept, true).expect_err("refused"),
            "the key data ends early"
        );
    }

    #[test]
    fn derived_lines_round_trip_without_key_bytes() {
        let info = PublicKeyInfo {
            algorithm: "ssh-dss".into(),
            bits: 1024,
            certificate: false,
        };
        let line = derived(&info);
        assert_eq!(line, "nodecheck-derived-public-key ssh-dss 1024\n");
        assert!(
            parse_public_key(&line, false).is_err(),
            "a live host's file cannot claim a derived type"
        );
        assert_eq!(parse_public_key(&line, true), Ok(info));
    }

    #[test]
    fn family_from_conventional_names() {
        assert_eq!(
            KeyFamily::from_file_name("/etc/ssh/ssh_host_dsa_key"),
            Some(KeyFamily::Dsa)
        );
        assert_eq!(KeyFamily::from_file_name("/etc/ssh/mykey"), None);
    }
}
