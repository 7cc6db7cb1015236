//! Command-line flags parsed the way the components' own flag libraries parse them.
//!
//! Kubernetes components use spf13/pflag with `WordSepNormalizeFunc`: `--name=value`,
//! `--name value` (not for booleans), bare `--name` for a boolean, `_` normalised to `-`,
//! single-dash arguments are shorthands. etcd uses Go's `flag` package, where `-name` and
//! `--name` are the same and names are not normalised. Every occurrence is kept in order, so
//! callers apply the right rule: last wins for scalars, append for slices, merge for maps.
//! Names are matched exactly after normalisation, never by substring
//! (`--requestheader-client-ca-file` is not `--client-ca-file`).

use std::collections::BTreeMap;

/// How a component's flag library behaves.
#[derive(Debug, Clone, Copy)]
pub struct FlagSyntax {
    /// Boolean flags: a bare `--name` means true, and the next argument is not its value.
    pub bools: &'static [&'static str],
    /// `_` in names becomes `-` (pflag's WordSepNormalizeFunc).
    pub normalise_underscores: bool,
    /// `-name` is a long flag (Go's flag package) rather than a shorthand.
    pub single_dash_long: bool,
}

/// One occurrence of a flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    /// Normalised name, without dashes.
    pub name: String,
    pub value: String,
    /// The argument(s) as written, for evidence (`--read-only-port=0`).
    pub spelled: String,
}

/// Flags in command-line order, and what did not parse.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flags {
    pub flags: Vec<Flag>,
    /// Non-flag arguments (most components refuse to start with them).
    pub positional: Vec<String>,
    /// Problems such as a value-taking flag at the end of the line.
    pub errors: Vec<String>,
}

/// Go's `strconv.ParseBool`.
pub fn parse_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Parses arguments (without the program name).
pub fn parse(args: &[String], syntax: &FlagSyntax) -> Flags {
    let mut out = Flags::default();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if arg == "--" {
            out.positional.extend(args[i..].iter().cloned());
            break;
        }
        let body = if let Some(long) = arg.strip_prefix("--") {
            long
        } else if let Some(short) = arg.strip_prefix('-').filter(|s| !s.is_empty()) {
            if !syntax.single_dash_long {
                // pflag shorthands (`-v=2`, `-h`) carry nothing nodecheck judges.
                continue;
            }
            short
        } else {
            out.positional.push(arg.clone());
            continue;
        };
        let (raw_name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (body, None),
        };
        let name = if syntax.normalise_underscores {
            raw_name.replace('_', "-")
        } else {
            raw_name.to_string()
        };
        let is_bool = syntax.bools.contains(&name.as_str());
        let (value, spelled) = match inline {
            Some(v) => (v, arg.clone()),
            None if is_bool => ("true".to_string(), arg.clone()),
            None => match args.get(i) {
                Some(next) => {
                    i += 1;
                    (next.clone(), format!("{arg} {next}"))
                }
                None => {
                    out.errors.push(format!("flag needs an argument: {arg}"));
                    continue;
                }
            },
        };
        out.flags.push(Flag {
            name,
            value,
            spelled,
        });
    }
    out
}

impl Flags {
    /// The last occurrence (scalars: last wins).
    pub fn last(&self, name: &str) -> Option<&Flag> {
        self.flags.iter().rev().find(|f| f.name == name)
    }

    pub fn has(&self, name: &str) -> bool {
        self.last(name).is_some()
    }

    /// A string-slice flag: every occurrence appends its comma-separated values.
    pub fn slice(&self, name: &str) -> Option<(Vec<String>, Vec<&Flag>)> {
        let occurrences: Vec<&Flag> = self.flags.iter().filter(|f| f.name == name).collect();
        if occurrences.is_empty() {
            return None;
        }
        let values = occurrences
            .iter()
            .flat_map(|f| f.value.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .collect();
        Some((values, occurrences))
    }

    /// A map flag (`A=true,B=false`): occurrences merge, later keys win.
    pub fn map(&self, name: &str) -> BTreeMap<String, (String, &Flag)> {
        let mut out = BTreeMap::new();
        for flag in self.flags.iter().filter(|f| f.name == name) {
            for pair in flag
                .value
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
            {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                out.insert(k.trim().to_string(), (v.trim().to_string(), flag));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PFLAG: FlagSyntax = FlagSyntax {
        bools: &["anonymous-auth", "rotate-certificates"],
        normalise_underscores: true,
        single_dash_long: false,
    };

    fn args(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn pflag_forms() {
        let f = parse(
            &args(&[
                "--config",
                "/etc/kubelet.yaml",
                "--anonymous-auth",
                "--read_only_port=10255",
                "--read-only-port=0",
                "-v=2",
                "--rotate-certificates=false",
                "--feature-gates=A=true,B=false",
                "--feature-gates=B=true",
                "--tls-cipher-suites=X,Y",
                "--tls-cipher-suites=Z",
                "--requestheader-client-ca-file=/x",
            ]),
            &PFLAG,
        );
        assert_eq!(
            f.last("config").map(|x| x.value.as_str()),
            Some("/etc/kubelet.yaml")
        );
        assert_eq!(
            f.last("config").map(|x| x.spelled.as_str()),
            Some("--config /etc/kubelet.yaml")
        );
        assert_eq!(
            f.last("anonymous-auth").map(|x| x.value.as_str()),
            Some("true")
        );
        assert_eq!(
            f.last("read-only-port").map(|x| x.value.as_str()),
            Some("0"),
            "last wins, _ normalised"
        );
        assert_eq!(
            f.last("rotate-certificates").map(|x| x.value.as_str()),
            Some("false")
        );
        let gates = f.map("feature-gates");
        assert_eq!(gates["A"].0, "true");
        assert_eq!(gates["B"].0, "true", "later occurrences win per key");
        assert_eq!(
            f.slice("tls-cipher-suites").map(|s| s.0),
            Some(args(&["X", "Y", "Z"]))
        );
        assert!(!f.has("client-ca-file"), "no substring matches");
        assert!(f.positional.is_empty());
    }

    #[test]
    fn a_bool_does_not_take_the_next_argument() {
        let f = parse(&args(&["--anonymous-auth", "false"]), &PFLAG);
        assert_eq!(
            f.last("anonymous-auth").map(|x| x.value.as_str()),
            Some("true")
        );
        assert_eq!(
            f.positional,
            ["false"],
            "the kubelet refuses this command line"
        );
        let f = parse(&args(&["--kubeconfig"]), &PFLAG);
        assert_eq!(f.errors.len(), 1);
    }

    #[test]
    fn go_flag_single_dash() {
        let go = FlagSyntax {
            bools: &["client-cert-auth"],
            normalise_underscores: false,
            single_dash_long: true,
        };
        let f = parse(
            &args(&[
                "-client-cert-auth",
                "-data-dir",
                "/var/lib/etcd",
                "--name=x",
            ]),
            &go,
        );
        assert_eq!(
            f.last("client-cert-auth").map(|x| x.value.as_str()),
            Some("true")
        );
        assert_eq!(
            f.last("data-dir").map(|x| x.value.as_str()),
            Some("/var/lib/etcd")
        );
        assert_eq!(f.last("name").map(|x| x.value.as_str()), Some("x"));
        assert_eq!(parse_bool("True"), Some(true));
        assert_eq!(parse_bool("yes"), None);
    }
}
