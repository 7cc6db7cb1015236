//! Compiled defaults of OpenSSH by version, and the algorithm lists behind `+ - ^`.
//!
//! Sources: `fill_default_server_options` (servconf.c) and `myproposal.h` of V_9_2_P1,
//! V_9_9_P2 and V_10_0_P1 to V_10_5_P1 (see `reference/sshd.md` §8–§9). An unknown version is
//! judged with the oldest known defaults and again with the newest; the evidence says so, and
//! a verdict that differs between them is an error (`checks::sshd::across_versions`).

use std::fmt;

/// An OpenSSH version as found on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenSshVersion {
    pub major: u32,
    pub minor: u32,
    /// The portable release (`p1`).
    pub portable: u32,
    /// What follows the version in the binary (`Debian-2+deb12u6`), if anything.
    pub vendor: Option<String>,
}

impl OpenSshVersion {
    /// The newest version whose defaults this table knows.
    pub fn newest_known() -> OpenSshVersion {
        OpenSshVersion {
            major: 10,
            minor: 5,
            portable: 1,
            vendor: None,
        }
    }

    /// The oldest version whose defaults this table knows: what an sshd of unknown version is
    /// judged as (its defaults offer the fewest algorithms, none that a newer build adds).
    pub fn oldest_known() -> OpenSshVersion {
        OpenSshVersion {
            major: 9,
            minor: 2,
            portable: 1,
            vendor: None,
        }
    }

    pub fn at_least(&self, major: u32, minor: u32) -> bool {
        (self.major, self.minor) >= (major, minor)
    }

    fn is_debian(&self) -> bool {
        self.vendor
            .as_deref()
            .is_some_and(|v| v.starts_with("Debian") || v.starts_with("Ubuntu"))
    }

    /// Parses `OpenSSH_9.2p1 Debian-2+deb12u6` (as in the sshd binary or `sshd -V`).
    pub fn parse(text: &str) -> Option<OpenSshVersion> {
        let rest = text.strip_prefix("OpenSSH_")?;
        let (version, vendor) = match rest.split_once(' ') {
            Some((v, vendor)) => (v, Some(vendor.trim().to_string()).filter(|s| !s.is_empty())),
            None => (rest, None),
        };
        let (numbers, portable) = version.split_once('p').unwrap_or((version, "0"));
        let (major, minor) = numbers.split_once('.')?;
        Some(OpenSshVersion {
            major: major.parse().ok()?,
            minor: minor.parse().ok()?,
            portable: portable
                .chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
                .parse()
                .unwrap_or(0),
            vendor,
        })
    }

    /// Finds the version string in an sshd binary.
    pub fn find_in_binary(bytes: &[u8]) -> Option<OpenSshVersion> {
        let needle = b"OpenSSH_";
        let mut best: Option<OpenSshVersion> = None;
        for start in bytes
            .windows(needle.len())
            .enumerate()
            .filter(|(_, w)| *w == needle)
            .map(|(i, _)| i)
        {
            let end = bytes[start..]
                .iter()
                .position(|&b| b == 0 || b == b'\n' || !(0x20..0x7f).contains(&b))
                .map_or(bytes.len(), |p| start + p);
            let text = String::from_utf8_lossy(&bytes[start..end]);
            if let Some(v) = OpenSshVersion::parse(&text) {
                // Prefer the string that carries the vendor suffix.
                if best
                    .as_ref()
                    .is_none_or(|b| b.vendor.is_none() && v.vendor.is_some())
                {
                    best = Some(v);
                }
            }
        }
        best
    }
}

impl fmt::Display for OpenSshVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OpenSSH {}.{}p{}", self.major, self.minor, self.portable)?;
        if let Some(vendor) = &self.vendor {
            write!(f, " ({vendor})")?;
        }
        Ok(())
    }
}

/// The compiled default of an option, as `sshd -T` would print it, or `None` when the
/// option has no value by default (empty lists).
pub fn default_value(option: &str, v: &OpenSshVersion) -> Option<Vec<String>> {
    let one = |s: &str| Some(vec![s.to_string()]);
    match option {
        "permitrootlogin" => one("prohibit-password"),
        "passwordauthentication"
        | "kbdinteractiveauthentication"
        | "pubkeyauthentication"
        | "allowagentforwarding"
        | "ignorerhosts"
        | "x11uselocalhost"
        | "permittty"
        | "permituserrc"
        | "strictmodes"
        | "tcpkeepalive"
        | "printmotd"
        | "printlastlog"
        | "allowstreamlocalforwarding"
        | "allowtcpforwarding"
        | "compression" => one("yes"),
        "usepam"
        | "x11forwarding"
        | "disableforwarding"
        | "gssapiauthentication"
        | "hostbasedauthentication"
        | "permitemptypasswords"
        | "permituserenvironment"
        | "kerberosauthentication"
        | "ignoreuserknownhosts"
        | "gatewayports"
        | "usedns"
        | "permittunnel"
        | "exposeauthinfo"
        | "streamlocalbindunlink" => one("no"),
        "logingracetime" => one("120"),
        "loglevel" => one("INFO"),
        "syslogfacility" => one("AUTH"),
        "maxauthtries" => one("6"),
        "maxsessions" => one("10"),
        "maxstartups" => one("10:30:100"),
        "clientaliveinterval" => one("0"),
        "clientalivecountmax" => one("3"),
        "banner" => one("none"),
        "port" => one("22"),
        "addressfamily" => one("any"),
        "fingerprinthash" => one("SHA256"),
        "authorizedkeysfile" => Some(vec![
            ".ssh/authorized_keys".into(),
            ".ssh/authorized_keys2".into(),
        ]),
        "hostkey" => {
            let mut keys = vec![
                "/etc/ssh/ssh_host_rsa_key".to_string(),
                "/etc/ssh/ssh_host_ecdsa_key".to_string(),
                "/etc/ssh/ssh_host_ed25519_key".to_string(),
            ];
            if v.at_least(10, 4) {
                keys.push("/etc/ssh/ssh_host_mldsa44_ed25519_key".into());
            }
            Some(keys)
        }
        "ciphers" => Some(vec![default_ciphers(v).join(",")]),
        "macs" => Some(vec![default_macs(v).join(",")]),
        "kexalgorithms" => Some(vec![default_kex(v).join(",")]),
        "hostkeyalgorithms" => Some(vec![default_host_key_algorithms(v).join(",")]),
        _ => None,
    }
}

/// The algorithm classes that take `+ - ^` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlgorithmClass {
    Ciphers,
    Macs,
    Kex,
    /// `HostKeyAlgorithms`: the signature algorithms the host keys may be offered with.
    HostKey,
}

impl AlgorithmClass {
    /// Every class, with the option that configures it.
    pub const ALL: [(&'static str, AlgorithmClass); 4] = [
        ("ciphers", AlgorithmClass::Ciphers),
        ("macs", AlgorithmClass::Macs),
        ("kexalgorithms", AlgorithmClass::Kex),
        ("hostkeyalgorithms", AlgorithmClass::HostKey),
    ];

    pub fn for_option(option: &str) -> Option<AlgorithmClass> {
        Self::ALL
            .iter()
            .find(|(name, _)| *name == option)
            .map(|(_, class)| *class)
    }

    pub fn defaults(self, v: &OpenSshVersion) -> Vec<&'static str> {
        match self {
            AlgorithmClass::Ciphers => default_ciphers(v),
            AlgorithmClass::Macs => default_macs(v),
            AlgorithmClass::Kex => default_kex(v),
            AlgorithmClass::HostKey => default_host_key_algorithms(v),
        }
    }

    /// What sshd says when a list of this class names something it does not know.
    pub fn bad_spec(self) -> &'static str {
        match self {
            AlgorithmClass::Ciphers => "Bad SSH2 cipher spec",
            AlgorithmClass::Macs => "Bad SSH2 mac spec",
            AlgorithmClass::Kex => "Bad SSH2 KexAlgorithms",
            AlgorithmClass::HostKey => "Bad key types",
        }
    }

    /// Every algorithm the server supports (`cipher_alg_list`, `mac_alg_list`,
    /// `kex_alg_list` of an OpenSSL build), in sshd's table order.
    pub fn supported(self, v: &OpenSshVersion) -> Vec<&'static str> {
        match self {
            AlgorithmClass::Ciphers => vec![
                "3des-cbc",
                "aes128-cbc",
                "aes192-cbc",
                "aes256-cbc",
                "aes128-ctr",
                "aes192-ctr",
                "aes256-ctr",
                "aes128-gcm@openssh.com",
                "aes256-gcm@openssh.com",
                "chacha20-poly1305@openssh.com",
            ],
            AlgorithmClass::Macs => MACS_ALL.to_vec(),
            AlgorithmClass::HostKey => host_key_algorithms_all(v),
            AlgorithmClass::Kex => {
                let mut all = vec![
                    "diffie-hellman-group1-sha1",
                    "diffie-hellman-group14-sha1",
                    "diffie-hellman-group14-sha256",
                    "diffie-hellman-group16-sha512",
                    "diffie-hellman-group18-sha512",
                    "diffie-hellman-group-exchange-sha1",
                    "diffie-hellman-group-exchange-sha256",
                    "ecdh-sha2-nistp256",
                    "ecdh-sha2-nistp384",
                    "ecdh-sha2-nistp521",
                    "curve25519-sha256",
                    "curve25519-sha256@libssh.org",
                ];
                if v.at_least(9, 9) || v.is_debian() {
                    all.push("sntrup761x25519-sha512");
                }
                all.push("sntrup761x25519-sha512@openssh.com");
                if v.at_least(9, 9) {
                    all.push("mlkem768x25519-sha256");
                }
                all
            }
        }
    }
}

const MACS_ALL: &[&str] = &[
    "hmac-sha1",
    "hmac-sha1-96",
    "hmac-sha2-256",
    "hmac-sha2-512",
    "hmac-md5",
    "hmac-md5-96",
    "umac-64@openssh.com",
    "umac-128@openssh.com",
    "hmac-sha1-etm@openssh.com",
    "hmac-sha1-96-etm@openssh.com",
    "hmac-sha2-256-etm@openssh.com",
    "hmac-sha2-512-etm@openssh.com",
    "hmac-md5-etm@openssh.com",
    "hmac-md5-96-etm@openssh.com",
    "umac-64-etm@openssh.com",
    "umac-128-etm@openssh.com",
];

/// `sshkey_alg_list(0, 0, 1, ',')`: every key and signature algorithm, in `keyimpls[]` order
/// (the `all` list `assemble_algorithms` resolves `HostKeyAlgorithms` against). DSA is compiled
/// out by default from 9.8 (`--enable-dsa-keys`, gone in 10.0), the FIDO webauthn certificate
/// type appears in 10.3 and the composite ML-DSA key in 10.4 (sshkey.c of each tag).
fn host_key_algorithms_all(v: &OpenSshVersion) -> Vec<&'static str> {
    let mut all = vec![
        "ssh-ed25519",
        "ssh-ed25519-cert-v01@openssh.com",
        "sk-ssh-ed25519@openssh.com",
        "sk-ssh-ed25519-cert-v01@openssh.com",
    ];
    if v.at_least(10, 4) {
        all.extend([
            "ssh-mldsa44-ed25519@openssh.com",
            "ssh-mldsa44-ed25519-cert-v01@openssh.com",
        ]);
    }
    all.extend([
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp256-cert-v01@openssh.com",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp384-cert-v01@openssh.com",
        "ecdsa-sha2-nistp521",
        "ecdsa-sha2-nistp521-cert-v01@openssh.com",
        "sk-ecdsa-sha2-nistp256@openssh.com",
        "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
        "webauthn-sk-ecdsa-sha2-nistp256@openssh.com",
    ]);
    if v.at_least(10, 3) {
        all.push("webauthn-sk-ecdsa-sha2-nistp256-cert-v01@openssh.com");
    }
    if supports_dsa(v) {
        all.extend(["ssh-dss", "ssh-dss-cert-v01@openssh.com"]);
    }
    all.extend([
        "ssh-rsa",
        "ssh-rsa-cert-v01@openssh.com",
        "rsa-sha2-256",
        "rsa-sha2-256-cert-v01@openssh.com",
        "rsa-sha2-512",
        "rsa-sha2-512-cert-v01@openssh.com",
    ]);
    all
}

/// Whether this sshd can load a DSA host key: always up to 9.7, not in a default build of 9.8
/// and 9.9, never from 10.0.
pub fn supports_dsa(v: &OpenSshVersion) -> bool {
    !v.at_least(9, 8)
}

/// `KEX_DEFAULT_PK_ALG` (myproposal.h): from 10.3 with the webauthn names. (10.5's manual lists
/// ML-DSA too, but its myproposal.h took it out again before the release.)
fn default_host_key_algorithms(v: &OpenSshVersion) -> Vec<&'static str> {
    let webauthn = v.at_least(10, 3);
    let mut list = vec![
        "ssh-ed25519-cert-v01@openssh.com",
        "ecdsa-sha2-nistp256-cert-v01@openssh.com",
        "ecdsa-sha2-nistp384-cert-v01@openssh.com",
        "ecdsa-sha2-nistp521-cert-v01@openssh.com",
        "sk-ssh-ed25519-cert-v01@openssh.com",
        "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
    ];
    if webauthn {
        list.push("webauthn-sk-ecdsa-sha2-nistp256-cert-v01@openssh.com");
    }
    list.extend([
        "rsa-sha2-512-cert-v01@openssh.com",
        "rsa-sha2-256-cert-v01@openssh.com",
        "ssh-ed25519",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com",
        "sk-ecdsa-sha2-nistp256@openssh.com",
    ]);
    if webauthn {
        list.push("webauthn-sk-ecdsa-sha2-nistp256@openssh.com");
    }
    list.extend(["rsa-sha2-512", "rsa-sha2-256"]);
    list
}

fn default_ciphers(v: &OpenSshVersion) -> Vec<&'static str> {
    if v.at_least(10, 0) {
        vec![
            "chacha20-poly1305@openssh.com",
            "aes128-gcm@openssh.com",
            "aes256-gcm@openssh.com",
            "aes128-ctr",
            "aes192-ctr",
            "aes256-ctr",
        ]
    } else {
        vec![
            "chacha20-poly1305@openssh.com",
            "aes128-ctr",
            "aes192-ctr",
            "aes256-ctr",
            "aes128-gcm@openssh.com",
            "aes256-gcm@openssh.com",
        ]
    }
}

fn default_macs(_v: &OpenSshVersion) -> Vec<&'static str> {
    vec![
        "umac-64-etm@openssh.com",
        "umac-128-etm@openssh.com",
        "hmac-sha2-256-etm@openssh.com",
        "hmac-sha2-512-etm@openssh.com",
        "hmac-sha1-etm@openssh.com",
        "umac-64@openssh.com",
        "umac-128@openssh.com",
        "hmac-sha2-256",
        "hmac-sha2-512",
        "hmac-sha1",
    ]
}

fn default_kex(v: &OpenSshVersion) -> Vec<&'static str> {
    const ECDH_ON: [&str; 5] = [
        "curve25519-sha256",
        "curve25519-sha256@libssh.org",
        "ecdh-sha2-nistp256",
        "ecdh-sha2-nistp384",
        "ecdh-sha2-nistp521",
    ];
    const FFDH: [&str; 4] = [
        "diffie-hellman-group-exchange-sha256",
        "diffie-hellman-group16-sha512",
        "diffie-hellman-group18-sha512",
        "diffie-hellman-group14-sha256",
    ];
    let mut list = Vec::new();
    if v.at_least(10, 0) {
        list.extend([
            "mlkem768x25519-sha256",
            "sntrup761x25519-sha512",
            "sntrup761x25519-sha512@openssh.com",
        ]);
        list.extend(ECDH_ON);
        return list;
    }
    if v.at_least(9, 9) {
        list.extend([
            "sntrup761x25519-sha512",
            "sntrup761x25519-sha512@openssh.com",
            "mlkem768x25519-sha256",
        ]);
    } else {
        if v.is_debian() {
            list.push("sntrup761x25519-sha512");
        }
        list.push("sntrup761x25519-sha512@openssh.com");
    }
    list.extend(ECDH_ON);
    list.extend(FFDH);
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_from_banner_and_binary() {
        let v = OpenSshVersion::parse("OpenSSH_9.2p1 Debian-2+deb12u6").expect("parses");
        assert_eq!((v.major, v.minor, v.portable), (9, 2, 1));
        assert_eq!(v.vendor.as_deref(), Some("Debian-2+deb12u6"));
        let bin = b"\0junk\0OpenSSH_9.2p1\0more\0OpenSSH_9.2p1 Debian-2+deb12u6\0";
        let found = OpenSshVersion::find_in_binary(bin).expect("found");
        assert!(found.is_debian());
        assert!(OpenSshVersion::parse("OpenSSH_x").is_none());
    }

    #[test]
    fn debian_9_2_kex_default_matches_sshd_t() {
        let v = OpenSshVersion::parse("OpenSSH_9.2p1 Debian-2+deb12u6").expect("parses");
        assert_eq!(
            default_kex(&v).join(","),
            "sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256"
        );
    }
}
