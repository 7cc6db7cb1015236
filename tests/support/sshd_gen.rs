//! Random sshd configurations for the tests that hold nodecheck's sshd model to the real sshd:
//! keywords in every spelling and separator, values sshd takes and values it refuses, `Match`
//! blocks and `Include`d drop-ins. Deterministic for a seed, so a failing run can be replayed.

use std::path::{Path, PathBuf};

/// A small deterministic generator (xorshift64*), so a failing run can be replayed by seed.
pub struct Rng(pub u64);

/// The seed of a generated run: `NODECHECK_DIFF_SEED` to replay one, else the clock.
pub fn seed() -> u64 {
    std::env::var("NODECHECK_DIFF_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
                | 1
        })
}

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

pub fn value_for(rng: &mut Rng, keyword: &str) -> String {
    let pick = |rng: &mut Rng, items: &[&str]| rng.pick(items).to_string();
    match keyword {
        "PermitRootLogin" => pick(
            rng,
            &[
                "yes",
                "no",
                "prohibit-password",
                "without-password",
                "forced-commands-only",
                "No",
                "bogus",
            ],
        ),
        "PasswordAuthentication"
        | "KbdInteractiveAuthentication"
        | "ChallengeResponseAuthentication"
        | "UsePAM"
        | "X11Forwarding"
        | "AllowAgentForwarding"
        | "DisableForwarding"
        | "GSSAPIAuthentication"
        | "HostbasedAuthentication"
        | "PermitEmptyPasswords"
        | "PubkeyAuthentication" => pick(rng, &["yes", "no", "YES", "No", "maybe"]),
        "IgnoreRhosts" => pick(rng, &["yes", "no", "shosts-only", "sometimes"]),
        "AllowTcpForwarding" => pick(rng, &["yes", "no", "all", "local", "remote", "both"]),
        "PermitUserEnvironment" => pick(rng, &["yes", "no", "LANG,LC_*", "Yes"]),
        "LoginGraceTime" | "ClientAliveInterval" => pick(
            rng,
            &["0", "30", "60", "1m", "1m30s", "2h", "5x", "-1", "45S"],
        ),
        "MaxAuthTries" | "MaxSessions" | "ClientAliveCountMax" => pick(
            rng,
            &["0", "1", "3", "4", "6", "10", "-2", "x", "+5", "2147483648"],
        ),
        "LogLevel" => pick(
            rng,
            &[
                "INFO", "VERBOSE", "debug", "DEBUG1", "DEBUG3", "QUIET", "LOUD",
            ],
        ),
        "MaxStartups" => pick(
            rng,
            &[
                "10:30:60",
                "10:30:100",
                "5",
                "20:50:20",
                "30:10:20",
                "10:0:60",
                "10:30",
                "3:100:3",
            ],
        ),
        "Banner" => pick(
            rng,
            &["none", "/etc/issue.net", "\"/etc/issue net\"", "None"],
        ),
        "Ciphers" => pick(
            rng,
            &[
                "aes256-gcm@openssh.com,aes128-ctr",
                "-chacha20-poly1305@openssh.com",
                "+aes128-cbc",
                "^aes256-ctr",
                "-aes*-cbc,3des-cbc",
                "aes128-cbc,3des-cbc",
                "bogus-cipher",
                "-*ctr",
                // Empty elements are skipped (a trailing or leading comma, `,,`); in a `+`
                // list everything after one is dropped; a `-` list may leave nothing.
                "aes128-ctr,aes128-cbc,",
                ",aes256-ctr",
                "aes128-ctr,,aes256-gcm@openssh.com",
                "+aes128-cbc,,3des-cbc",
                "^,aes256-ctr",
                "aes128-ctr,,aes*",
                "aes128-ctr,,!aes256-ctr",
                "-*",
                ",",
            ],
        ),
        "MACs" => pick(
            rng,
            &[
                "hmac-sha2-512-etm@openssh.com,hmac-sha2-256",
                "-umac-64*,hmac-sha1*",
                "+hmac-md5",
                "^hmac-sha2-512",
                "hmac-sha1-96",
                "umac-32",
                "-*etm@openssh.com",
                "hmac-sha2-256,,hmac-sha1*",
                "hmac-md5,",
                "-*",
                "hmac-sha2-256,,zzz",
            ],
        ),
        "KexAlgorithms" => pick(
            rng,
            &[
                "curve25519-sha256",
                "-diffie-hellman-*",
                "+diffie-hellman-group1-sha1",
                "^ecdh-sha2-nistp521",
                "diffie-hellman-group14-sha1,curve25519-sha256",
                "nope",
                "curve25519-sha256,,",
                "-*",
            ],
        ),
        "HostKeyAlgorithms" => pick(
            rng,
            &[
                "ssh-ed25519",
                "+ssh-rsa",
                "ssh-rsa",
                "-ssh-rsa*",
                "ssh-ed25519,",
                "rsa-sha2-*",
                "^ssh-dss",
                "-*",
                "bogus",
                "ssh-ed25519,,bogus",
                "+ssh-rsa,ssh-dss",
                // Before 9.9 a key type's short name is valid and matches nothing.
                "ssh-ed25519,RSA",
                "+ED25519",
                "rsa",
            ],
        ),
        "PermitTunnel" => pick(
            rng,
            &["yes", "no", "point-to-point", "ethernet", "Yes", "maybe"],
        ),
        "GatewayPorts" => pick(
            rng,
            &["yes", "no", "clientspecified", "CLIENTSPECIFIED", "all"],
        ),
        "AllowStreamLocalForwarding" => {
            pick(rng, &["yes", "no", "all", "local", "remote", "No", "both"])
        }
        "AllowUsers" | "DenyUsers" => pick(
            rng,
            &["alice", "bob carol", "*", "root@10.0.0.0/8", "\"dave\""],
        ),
        "AllowGroups" | "DenyGroups" => pick(rng, &["admins", "ops wheel", "root"]),
        _ => "yes".into(),
    }
}

pub const GLOBAL_ONLY: &[&str] = &[
    "HostKeyAlgorithms",
    "Ciphers",
    "MACs",
    "KexAlgorithms",
    "LoginGraceTime",
    "UsePAM",
    "MaxStartups",
    "PermitUserEnvironment",
];
pub const ANYWHERE: &[&str] = &[
    "PermitRootLogin",
    "PasswordAuthentication",
    "KbdInteractiveAuthentication",
    "ChallengeResponseAuthentication",
    "X11Forwarding",
    "AllowTcpForwarding",
    "AllowAgentForwarding",
    "DisableForwarding",
    "GSSAPIAuthentication",
    "HostbasedAuthentication",
    "IgnoreRhosts",
    "PermitEmptyPasswords",
    "MaxAuthTries",
    "MaxSessions",
    "ClientAliveInterval",
    "ClientAliveCountMax",
    "LogLevel",
    "Banner",
    "AllowUsers",
    "DenyUsers",
    "AllowGroups",
    "DenyGroups",
    "PubkeyAuthentication",
    "PermitTunnel",
    "GatewayPorts",
    "AllowStreamLocalForwarding",
];

pub fn spell(rng: &mut Rng, keyword: &str) -> String {
    match rng.below(4) {
        0 => keyword.to_ascii_lowercase(),
        1 => keyword.to_ascii_uppercase(),
        _ => keyword.to_string(),
    }
}

/// Where a generated line goes: outside any Match, in `Match all` (where global-only keywords
/// are startup lines), or in another Match block (where sshd refuses them).
#[derive(Clone, Copy, PartialEq)]
pub enum Block {
    Global,
    MatchAll,
    Other,
}

pub fn line(rng: &mut Rng, block: Block) -> String {
    let in_match = block != Block::Global;
    let global_only_percent = match block {
        Block::Global | Block::MatchAll => 30,
        Block::Other => 3,
    };
    let keyword = if rng.chance(global_only_percent) {
        rng.pick(GLOBAL_ONLY)
    } else {
        rng.pick(ANYWHERE)
    };

    let sep = rng.pick(&[" ", "=", " = ", "\t", "  "]);
    let comment = if rng.chance(10) { " # note" } else { "" };
    let indent = if in_match && rng.chance(50) {
        "    "
    } else {
        ""
    };
    format!(
        "{indent}{}{sep}{}{comment}",
        spell(rng, keyword),
        value_for(rng, keyword)
    )
}

pub fn match_line(rng: &mut Rng) -> (String, Block) {
    let line = rng.pick(&[
        "Match User alice",
        "Match User *,!root",
        "Match User !root",
        "Match Address 10.0.0.0/8",
        "Match User alice Address 192.168.0.0/16",
        "Match all",
        "Match Group root",
        "Match Host *.example.com",
        "Match LocalPort 2222",
        "Match All",
    ]);
    let block = if line.eq_ignore_ascii_case("match all") {
        Block::MatchAll
    } else {
        Block::Other
    };
    (line.to_string(), block)
}

/// Writes generated config `index` into `dir` (its main file `gen-<index>.conf`, its drop-ins
/// in `gen-<index>.d/`); `include_named` says how an `Include` line names that directory.
pub fn generate(
    rng: &mut Rng,
    dir: &Path,
    index: usize,
    include_named: &dyn Fn(&Path) -> String,
) -> PathBuf {
    let include = dir.join(format!("gen-{index}.d"));
    let mut main = Vec::new();
    let mut block = Block::Global;
    let lines = 1 + rng.below(12);
    for _ in 0..lines {
        let roll = rng.below(100);
        if roll < 12 {
            let (text, opened) = match_line(rng);
            main.push(text);
            block = opened;
        } else if roll < 18 {
            std::fs::create_dir_all(&include).expect("mkdir");
            let mut sub = Vec::new();
            let mut sub_block = block;
            for _ in 0..1 + rng.below(5) {
                if rng.chance(15) {
                    let (text, opened) = match_line(rng);
                    sub.push(text);
                    sub_block = opened;
                } else {
                    sub.push(line(rng, sub_block));
                }
            }
            let name = format!("{:02}-x.conf", rng.below(100));
            std::fs::write(include.join(&name), sub.join("\n") + "\n").expect("write include");
            main.push(format!("Include {}/*.conf", include_named(&include)));
        } else {
            main.push(line(rng, block));
        }
    }
    let path = dir.join(format!("gen-{index}.conf"));
    std::fs::write(&path, main.join("\n") + "\n").expect("write config");
    path
}
