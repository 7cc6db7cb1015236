//! Validating and normalising option values the way sshd's parser does.
//!
//! Values that sshd refuses are errors with sshd's own wording. Accepted values are normalised
//! to what `sshd -T` prints: multistate names lowercased and de-aliased, times in seconds,
//! integers in decimal, log levels uppercase. Options that no check judges keep their arguments
//! as written.

use super::defaults::{AlgorithmClass, OpenSshVersion};
use super::keywords::Keyword;

const INT_MAX: i64 = i32::MAX as i64;

fn one_arg<'a>(spelled: &str, args: &'a [String]) -> Result<&'a str, String> {
    match args {
        [] => Err(format!("{spelled} missing argument.")),
        [arg] if arg.is_empty() => Err(format!("{spelled} missing argument.")),
        [arg] => Ok(arg),
        _ => Err(format!("keyword {spelled} extra arguments at end of line")),
    }
}

fn multistate(spelled: &str, arg: &str, table: &[(&str, &str)]) -> Result<String, String> {
    table
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(arg))
        .map(|(_, value)| value.to_string())
        .ok_or_else(|| format!("unsupported option \"{arg}\" for {spelled}."))
}

/// `strtonum(arg, 0, INT_MAX)` as `atoi_err` uses it.
pub fn parse_int(arg: &str) -> Result<i64, &'static str> {
    let s = arg.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("invalid");
    }
    let value: i64 = match digits.parse::<i64>() {
        Ok(v) => v,
        Err(_) => return Err(if negative { "too small" } else { "too large" }),
    };
    let value = if negative { -value } else { value };
    if value < 0 {
        Err("too small")
    } else if value > INT_MAX {
        Err("too large")
    } else {
        Ok(value)
    }
}

/// `convtime`: `90`, `1m30s`, `2h`; `None` when invalid.
pub fn parse_time(arg: &str) -> Option<i64> {
    if arg.is_empty() {
        return None;
    }
    let bytes = arg.as_bytes();
    let mut i = 0;
    let mut total: i64 = 0;
    while i < bytes.len() {
        let start = i;
        if i < bytes.len() && (bytes[i] == b'+' || bytes[i] == b'-') {
            i += 1;
        }
        let digits_start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if i == digits_start {
            return None;
        }
        let secs: i64 = arg[start..i].parse().ok()?;
        if !(0..INT_MAX).contains(&secs) {
            return None;
        }
        let multiplier = match bytes.get(i) {
            None => 1,
            Some(b's' | b'S') => 1,
            Some(b'm' | b'M') => 60,
            Some(b'h' | b'H') => 3600,
            Some(b'd' | b'D') => 86400,
            Some(b'w' | b'W') => 604800,
            Some(_) => return None,
        };
        if i < bytes.len() {
            i += 1;
        }
        if secs > INT_MAX / multiplier {
            return None;
        }
        let secs = secs * multiplier;
        if total > INT_MAX - secs {
            return None;
        }
        total += secs;
    }
    Some(total)
}

/// `sscanf(arg, "%d:%d:%d")`: the fields read before the first mismatch.
pub fn scan_colon_ints(arg: &str) -> Vec<i64> {
    let bytes = arg.as_bytes();
    let mut values = Vec::new();
    let mut i = 0;
    loop {
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let start = i;
        if i < bytes.len() && (bytes[i] == b'+' || bytes[i] == b'-') {
            i += 1;
        }
        let digits = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if i == digits {
            return values;
        }
        values.push(arg[start..i].parse().unwrap_or(i64::MAX));
        if values.len() == 3 || bytes.get(i) != Some(&b':') {
            return values;
        }
        i += 1;
    }
}

/// `ciphers_valid`, `mac_valid`, `kex_names_valid` and `sshkey_names_valid2`: each name up to
/// the first empty element must be known (sshd's `strsep` loops stop there, so `a,,b` checks
/// only `a`); an empty list is refused. Host key algorithms may be patterns that match some
/// known name, positively or negatively.
fn algorithm_names_valid(arg: &str, class: AlgorithmClass, version: &OpenSshVersion) -> bool {
    let names = arg.strip_prefix(['+', '^']).unwrap_or(arg);
    if names.is_empty() {
        return false;
    }
    let supported = class.supported(version);
    names.split(',').take_while(|n| !n.is_empty()).all(|name| {
        supported.contains(&name)
            || (class == AlgorithmClass::HostKey
                && (short_key_name(name, version)
                    || supported
                        .iter()
                        .any(|s| super::matching::match_pattern_list(s, name, false) != 0)))
    })
}

/// Before 9.9, `sshkey_type_from_name` also took a plain key type's short name, in any case
/// (`RSA`, `ed25519`): valid in HostKeyAlgorithms, though it then matches no algorithm.
fn short_key_name(name: &str, version: &OpenSshVersion) -> bool {
    let mut short = vec!["ED25519", "ED25519-SK", "ECDSA", "ECDSA-SK", "RSA"];
    if super::defaults::supports_dsa(version) {
        short.push("DSA");
    }
    !version.at_least(9, 9) && short.iter().any(|s| s.eq_ignore_ascii_case(name))
}

const FLAG: &[(&str, &str)] = &[("yes", "yes"), ("no", "no")];

/// Validates one directive's arguments; returns them normalised.
pub fn validate(
    keyword: &Keyword,
    spelled: &str,
    args: &[String],
    version: &OpenSshVersion,
) -> Result<Vec<String>, String> {
    let single = |value: String| Ok(vec![value]);
    match keyword.option {
        "passwordauthentication"
        | "kbdinteractiveauthentication"
        | "usepam"
        | "x11forwarding"
        | "allowagentforwarding"
        | "disableforwarding"
        | "gssapiauthentication"
        | "hostbasedauthentication"
        | "permitemptypasswords"
        | "pubkeyauthentication" => single(multistate(spelled, one_arg(spelled, args)?, FLAG)?),
        "ignorerhosts" => single(multistate(
            spelled,
            one_arg(spelled, args)?,
            &[("yes", "yes"), ("no", "no"), ("shosts-only", "shosts-only")],
        )?),
        "permittunnel" => {
            // Compared case-sensitively (`tunmode_desc`, strcmp), unlike the multistates.
            let arg = one_arg(spelled, args)?;
            match arg {
                "yes" | "no" | "point-to-point" | "ethernet" => single(arg.to_string()),
                _ => Err(format!("bad {spelled} argument {arg}")),
            }
        }
        "gatewayports" => single(multistate(
            spelled,
            one_arg(spelled, args)?,
            &[
                ("clientspecified", "clientspecified"),
                ("yes", "yes"),
                ("no", "no"),
            ],
        )?),
        "allowtcpforwarding" | "allowstreamlocalforwarding" => single(multistate(
            spelled,
            one_arg(spelled, args)?,
            &[
                ("yes", "yes"),
                ("all", "yes"),
                ("no", "no"),
                ("remote", "remote"),
                ("local", "local"),
            ],
        )?),
        "permitrootlogin" => single(multistate(
            spelled,
            one_arg(spelled, args)?,
            &[
                ("without-password", "prohibit-password"),
                ("prohibit-password", "prohibit-password"),
                ("forced-commands-only", "forced-commands-only"),
                ("yes", "yes"),
                ("no", "no"),
            ],
        )?),
        "addressfamily" => single(multistate(
            spelled,
            one_arg(spelled, args)?,
            &[("inet", "inet"), ("inet6", "inet6"), ("any", "any")],
        )?),
        "permituserenvironment" => {
            // Compared case-sensitively by sshd: anything but `yes`/`no` is a pattern list.
            single(one_arg(spelled, args)?.to_string())
        }
        "logingracetime" | "clientaliveinterval" => {
            let arg = one_arg(spelled, args)?;
            match parse_time(arg) {
                Some(secs) => single(secs.to_string()),
                None => Err(format!("invalid time value \"{arg}\".")),
            }
        }
        "maxauthtries" | "maxsessions" | "clientalivecountmax" => {
            let arg = one_arg(spelled, args)?;
            match parse_int(arg) {
                Ok(v) => single(v.to_string()),
                Err(why) => Err(format!("{spelled} integer value {why}.")),
            }
        }
        "loglevel" => {
            let arg = one_arg(spelled, args)?;
            const LEVELS: &[(&str, &str)] = &[
                ("QUIET", "QUIET"),
                ("FATAL", "FATAL"),
                ("ERROR", "ERROR"),
                ("INFO", "INFO"),
                ("VERBOSE", "VERBOSE"),
                ("DEBUG", "DEBUG"),
                ("DEBUG1", "DEBUG"),
                ("DEBUG2", "DEBUG2"),
                ("DEBUG3", "DEBUG3"),
            ];
            LEVELS
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(arg))
                .map(|(_, v)| vec![v.to_string()])
                .ok_or_else(|| format!("unsupported log level '{arg}'"))
        }
        "maxstartups" => {
            let arg = one_arg(spelled, args)?;
            let fields = scan_colon_ints(arg);
            let bad = || Err(format!("Invalid {spelled} spec."));
            match fields.as_slice() {
                [begin, rate, max] => {
                    if begin > max || *rate > 100 || *rate < 1 || *max <= 0 || *begin <= 0 {
                        return bad();
                    }
                    single(format!("{begin}:{rate}:{max}"))
                }
                [n] => {
                    if *n <= 0 {
                        return bad();
                    }
                    single(n.to_string())
                }
                _ => bad(),
            }
        }
        "banner" | "hostkey" => single(one_arg(spelled, args)?.to_string()),
        "port" => {
            let arg = one_arg(spelled, args)?;
            match arg.parse::<u32>() {
                Ok(p) if (1..=65535).contains(&p) => single(p.to_string()),
                _ => Err("Badly formatted port number.".to_string()),
            }
        }
        "ciphers" | "macs" | "kexalgorithms" | "hostkeyalgorithms" => {
            let arg = one_arg(spelled, args)?;
            let class = AlgorithmClass::for_option(keyword.option)
                .ok_or_else(|| format!("{spelled}: no algorithm table"))?;
            if !arg.starts_with('-') && !algorithm_names_valid(arg, class, version) {
                return Err(format!("{} '{arg}'.", class.bad_spec()));
            }
            single(arg.to_string())
        }
        "allowusers" | "denyusers" | "allowgroups" | "denygroups" => {
            if let Some(empty) = args.iter().find(|a| a.is_empty()) {
                return Err(format!("invalid {spelled} pattern: \"{empty}\""));
            }
            Ok(args.to_vec())
        }
        _ => {
            if args.is_empty() {
                return Err(format!("{spelled} missing argument."));
            }
            Ok(args.to_vec())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_follow_convtime() {
        assert_eq!(parse_time("90"), Some(90));
        assert_eq!(parse_time("1m30s"), Some(90));
        assert_eq!(parse_time("5M"), Some(300));
        assert_eq!(parse_time("1h1"), Some(3601));
        assert_eq!(parse_time("-5"), None);
        assert_eq!(parse_time("5x"), None);
        assert_eq!(parse_time(""), None);
        assert_eq!(parse_time("99999999999"), None);
    }

    #[test]
    fn ints_follow_strtonum() {
        assert_eq!(parse_int("4"), Ok(4));
        assert_eq!(parse_int("+4"), Ok(4));
        assert_eq!(parse_int("-0"), Ok(0));
        assert_eq!(parse_int("-1"), Err("too small"));
        assert_eq!(parse_int("0x10"), Err("invalid"));
        assert_eq!(parse_int("2147483648"), Err("too large"));
    }

    #[test]
    fn maxstartups_scan() {
        assert_eq!(scan_colon_ints("10:30:60"), [10, 30, 60]);
        assert_eq!(scan_colon_ints("10"), [10]);
        assert_eq!(scan_colon_ints("10abc"), [10]);
        assert_eq!(scan_colon_ints("10:30"), [10, 30]);
        assert!(scan_colon_ints("x").is_empty());
    }
}
