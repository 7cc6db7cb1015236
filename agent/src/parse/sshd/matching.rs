//! `Match` criteria: parsing (`match_cfg_line` syntax) and evaluation against a connection
//! (`match_pattern_list`, `addr_match_list`, group membership from the host's files).

use super::SshdConfig;
use super::eval::ConnSpec;
use super::lex::strdelim;
use crate::host::UserDb;
use std::net::IpAddr;

/// One criterion of a `Match` line; all criteria of a line must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    All,
    User(String),
    Group(String),
    Host(String),
    Address(String),
    LocalAddress(String),
    LocalPort(u16),
    RDomain(String),
    InvalidUser,
    Version(String),
}

/// Parses the text after `Match`.
pub fn parse_criteria(text: &str) -> Result<Vec<Condition>, String> {
    let mut rest = text;
    let mut conditions = Vec::new();
    while let Some((attrib, after)) = strdelim(rest) {
        rest = after;
        if attrib.is_empty() || attrib.starts_with('#') {
            break;
        }
        // `criteria=value` is accepted by newer sshd; strdelim already split on `=`.
        let lower = attrib.to_ascii_lowercase();
        if lower == "all" {
            let next = strdelim(rest).map(|(a, _)| a).unwrap_or_default();
            if !conditions.is_empty() || (!next.is_empty() && !next.starts_with('#')) {
                return Err("'all' cannot be combined with other Match attributes".into());
            }
            return Ok(vec![Condition::All]);
        }
        if lower == "invalid-user" {
            conditions.push(Condition::InvalidUser);
            continue;
        }
        let Some((arg, after)) = strdelim(rest) else {
            return Err(format!("Missing Match criteria for {attrib}"));
        };
        rest = after;
        if arg.is_empty() || arg.starts_with('#') {
            return Err(format!("Missing Match criteria for {attrib}"));
        }
        let condition = match lower.as_str() {
            "user" => Condition::User(arg),
            "group" => Condition::Group(arg),
            "host" => Condition::Host(arg),
            "address" => {
                check_address_list(&arg)?;
                Condition::Address(arg)
            }
            "localaddress" => {
                check_address_list(&arg)?;
                Condition::LocalAddress(arg)
            }
            "localport" => match arg.parse::<u16>() {
                Ok(p) if p > 0 => Condition::LocalPort(p),
                _ => return Err(format!("Invalid LocalPort '{arg}' on Match line")),
            },
            "rdomain" => Condition::RDomain(arg),
            "version" => Condition::Version(arg),
            _ => return Err(format!("Unsupported Match attribute {attrib}")),
        };
        conditions.push(condition);
    }
    if conditions.is_empty() {
        return Err("One or more attributes required for Match".into());
    }
    Ok(conditions)
}

/// `match_pattern`: `*` and `?` wildcards.
pub fn match_pattern(s: &str, pattern: &str) -> bool {
    crate::host::fnmatch(&pattern.replace('[', "\\["), s)
}

/// `match_pattern_list`: 1 positive match, 0 none, -1 a negated pattern matched.
pub fn match_pattern_list(s: &str, list: &str, lowercase: bool) -> i32 {
    let mut positive = 0;
    for sub in list.split(',') {
        let (negated, pattern) = match sub.strip_prefix('!') {
            Some(p) => (true, p),
            None => (false, sub),
        };
        let pattern = if lowercase {
            pattern.to_ascii_lowercase()
        } else {
            pattern.to_string()
        };
        if match_pattern(s, &pattern) {
            if negated {
                return -1;
            }
            positive = 1;
        }
    }
    positive
}

fn parse_cidr(entry: &str) -> Result<Option<(IpAddr, u8)>, String> {
    let (addr, len) = match entry.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (entry, None),
    };
    let Ok(ip) = addr.parse::<IpAddr>() else {
        if len.is_some() {
            return Err(format!("invalid network '{entry}'"));
        }
        return Ok(None);
    };
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let len = match len {
        None => max,
        Some(l) => match l.parse::<u8>() {
            Ok(l) if l <= max => l,
            _ => return Err(format!("invalid mask length in '{entry}'")),
        },
    };
    if masked(ip, len) != ip {
        return Err(format!(
            "inconsistent mask length for match network '{entry}'"
        ));
    }
    Ok(Some((ip, len)))
}

fn masked(ip: IpAddr, len: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            let mask = if len == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(len))
            };
            IpAddr::V4((bits & mask).into())
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let mask = if len == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(len))
            };
            IpAddr::V6((bits & mask).into())
        }
    }
}

fn check_address_list(list: &str) -> Result<(), String> {
    for entry in list.split(',') {
        let entry = entry.strip_prefix('!').unwrap_or(entry);
        if entry.is_empty() {
            return Err(format!("Invalid Match address argument '{list}'"));
        }
        parse_cidr(entry)?;
    }
    Ok(())
}

/// `addr_match_list`: 1 match, 0 none, -1 a negated entry matched.
pub fn addr_match_list(addr: &str, list: &str) -> i32 {
    let ip: Option<IpAddr> = addr.parse().ok();
    let mut result = 0;
    for entry in list.split(',') {
        let (negated, entry) = match entry.strip_prefix('!') {
            Some(e) => (true, e),
            None => (false, entry),
        };
        let found = match parse_cidr(entry) {
            Ok(Some((net, len))) => {
                ip.is_some_and(|ip| ip.is_ipv4() == net.is_ipv4() && masked(ip, len) == net)
            }
            Ok(None) => match_pattern(addr, entry),
            Err(_) => false,
        };
        if found {
            if negated {
                return -1;
            }
            result = 1;
        }
    }
    result
}

fn condition_matches(condition: &Condition, conn: Option<&ConnSpec>, users: &UserDb) -> bool {
    if *condition == Condition::All {
        return true;
    }
    let Some(conn) = conn else {
        return false;
    };
    match condition {
        Condition::All => true,
        Condition::User(list) => conn
            .user
            .as_deref()
            .is_some_and(|u| match_pattern_list(u, list, false) == 1),
        Condition::Group(list) => conn.user.as_deref().is_some_and(|u| {
            let Some(groups) = users.groups_of(u) else {
                return false;
            };
            let mut found = false;
            for g in groups {
                match match_pattern_list(&g, list, false) {
                    -1 => return false,
                    1 => found = true,
                    _ => {}
                }
            }
            found
        }),
        Condition::Host(list) => conn
            .host
            .as_deref()
            .is_some_and(|h| match_pattern_list(&h.to_ascii_lowercase(), list, true) == 1),
        Condition::Address(list) => conn
            .addr
            .as_deref()
            .is_some_and(|a| addr_match_list(a, list) == 1),
        Condition::LocalAddress(list) => conn
            .laddr
            .as_deref()
            .is_some_and(|a| addr_match_list(a, list) == 1),
        Condition::LocalPort(port) => conn.lport == Some(*port),
        Condition::RDomain(list) => conn
            .rdomain
            .as_deref()
            .is_some_and(|r| match_pattern_list(r, list, false) == 1),
        Condition::InvalidUser => conn.invalid_user,
        Condition::Version(_) => false,
    }
}

/// Whether `block` and every block it sits in match. `conn` `None` is sshd's startup pass.
pub fn chain_matches(
    config: &SshdConfig,
    block: Option<usize>,
    conn: Option<&ConnSpec>,
    users: &UserDb,
) -> bool {
    let mut current = block;
    let mut guard = 0;
    while let Some(index) = current {
        guard += 1;
        let Some(b) = config.blocks.get(index) else {
            return false;
        };
        if guard > config.blocks.len() + 1
            || !b
                .conditions
                .iter()
                .all(|c| condition_matches(c, conn, users))
        {
            return false;
        }
        current = b.parent;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn criteria_syntax() {
        assert_eq!(parse_criteria("All"), Ok(vec![Condition::All]));
        assert_eq!(
            parse_criteria("User alice,bob Address 10.0.0.0/8"),
            Ok(vec![
                Condition::User("alice,bob".into()),
                Condition::Address("10.0.0.0/8".into())
            ])
        );
        assert_eq!(
            parse_criteria("User=alice"),
            Ok(vec![Condition::User("alice".into())])
        );
        assert!(parse_criteria("All User x").is_err());
        assert!(parse_criteria("User").is_err());
        assert!(parse_criteria("Colour blue").is_err());
        assert!(parse_criteria("Address 10.0.0.1/8").is_err());
        assert!(parse_criteria("Address 10.0.0.0/33").is_err());
    }

    #[test]
    fn pattern_lists_follow_openssh() {
        assert_eq!(match_pattern_list("root", "!root", false), -1);
        assert_eq!(match_pattern_list("alice", "!root", false), 0);
        assert_eq!(match_pattern_list("alice", "*,!root", false), 1);
        assert_eq!(match_pattern_list("alice", "a?ice", false), 1);
        assert_eq!(addr_match_list("10.1.2.3", "10.0.0.0/8"), 1);
        assert_eq!(addr_match_list("10.1.2.3", "!10.0.0.0/8,*"), -1);
        assert_eq!(addr_match_list("192.168.1.1", "192.168.1.*"), 1);
        assert_eq!(addr_match_list("::1", "::1"), 1);
    }
}
