//! The effective sshd options: sshd's startup pass, its per-connection `Match` pass, the
//! compiled defaults and the resolution of `+ - ^` algorithm lists.

use super::defaults::{self, AlgorithmClass, OpenSshVersion};
use super::keywords::{Precedence, precedence};
use super::matching::{chain_matches, match_pattern_list};
use super::{Directive, Place, SshdConfig};
use crate::host::UserDb;
use std::collections::BTreeMap;

/// The attributes of a test connection, as `sshd -T -C user=…,host=…,addr=…` takes them. An
/// attribute left out makes every criterion on it fail, as in sshd's test mode.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnSpec {
    pub user: Option<String>,
    pub host: Option<String>,
    pub addr: Option<String>,
    pub laddr: Option<String>,
    pub lport: Option<u16>,
    pub rdomain: Option<String>,
    pub invalid_user: bool,
}

impl ConnSpec {
    /// The `-C` argument for `sshd -T` that describes this connection.
    pub fn to_test_spec(&self) -> String {
        let mut parts = Vec::new();
        if let Some(u) = &self.user {
            parts.push(format!("user={u}"));
        }
        if let Some(h) = &self.host {
            parts.push(format!("host={h}"));
        }
        if let Some(a) = &self.addr {
            parts.push(format!("addr={a}"));
        }
        if let Some(a) = &self.laddr {
            parts.push(format!("laddr={a}"));
        }
        if let Some(p) = self.lport {
            parts.push(format!("lport={p}"));
        }
        if let Some(r) = &self.rdomain {
            parts.push(format!("rdomain={r}"));
        }
        parts.join(",")
    }
}

/// The value of one option and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The values, as `sshd -T` would print them (one per list entry for lists).
    pub values: Vec<String>,
    /// Where the value (or each list entry) came from; never empty.
    pub origins: Vec<Place>,
    /// The `Match` block that set it, if one did.
    pub block: Option<usize>,
}

impl Setting {
    /// The first value, for scalar options.
    pub fn value(&self) -> &str {
        self.values.first().map_or("", String::as_str)
    }

    /// Where the value came from (for lists, the first entry).
    pub fn origin(&self) -> &Place {
        &self.origins[0]
    }

    pub fn is_default(&self) -> bool {
        matches!(self.origins.first(), Some(Place::Default { .. }))
    }
}

/// The effective options for one connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effective {
    pub options: BTreeMap<&'static str, Setting>,
}

impl Effective {
    pub fn get(&self, option: &str) -> Option<&Setting> {
        self.options.get(option)
    }

    /// The first value of an option, or `""` when it has none.
    pub fn value(&self, option: &str) -> &str {
        self.get(option).map_or("", Setting::value)
    }
}

type Options = BTreeMap<&'static str, Setting>;

fn apply(options: &mut Options, d: &Directive, config: &SshdConfig) {
    let option = d.keyword.option;
    let fresh = || Setting {
        values: d.args.clone(),
        origins: vec![d.place.clone()],
        block: d.block,
    };
    if option == "maxstartups" {
        // Last value wins, but a single number leaves the rate as it was.
        let rate = options.get(option).map(|s| s.values[1].clone());
        let fields: Vec<String> = d.args[0].split(':').map(str::to_string).collect();
        let values = match fields.as_slice() {
            [b, r, m] => vec![b.clone(), r.clone(), m.clone()],
            [n] => vec![n.clone(), rate.unwrap_or_default(), n.clone()],
            _ => return,
        };
        options.insert(option, Setting { values, ..fresh() });
        return;
    }
    match precedence(option) {
        Precedence::FirstWins | Precedence::FirstLineList => {
            options.entry(option).or_insert_with(fresh);
        }
        Precedence::LastWins => {
            options.insert(option, fresh());
        }
        Precedence::Accumulate => {
            let from_file = matches!(d.place, Place::File { .. });
            if option == "port" && config.ports_from_cmdline && from_file {
                return;
            }
            let entry = options.entry(option).or_insert_with(|| Setting {
                values: Vec::new(),
                origins: Vec::new(),
                block: d.block,
            });
            for arg in &d.args {
                entry.values.push(arg.clone());
                entry.origins.push(d.place.clone());
            }
            if entry.values.is_empty() {
                options.remove(option);
            }
        }
        Precedence::PerName => {
            let entry = options.entry(option).or_insert_with(|| Setting {
                values: Vec::new(),
                origins: Vec::new(),
                block: d.block,
            });
            let line = d.args.join(" ");
            let name = d.args.first().cloned().unwrap_or_default();
            if !entry
                .values
                .iter()
                .any(|v| v.split(' ').next() == Some(name.as_str()))
            {
                entry.values.push(line);
                entry.origins.push(d.place.clone());
            }
        }
    }
}

/// `kex_assemble_names` (kex.c): resolves a configured list against the defaults and every
/// algorithm sshd supports. Empty elements are skipped as sshd skips them (`x,,y`, a trailing
/// comma); in a `+` list everything after an empty element is dropped, because
/// `kex_names_cat` stops there. A `-` list may remove everything, which sshd accepts and then
/// offers nothing; any other list that matches nothing, or names a negation, makes sshd exit at
/// startup (`assemble_algorithms: ciphers: invalid argument`).
pub fn assemble_algorithms(
    configured: &str,
    defaults: &[&str],
    supported: &[&str],
) -> Result<Vec<String>, String> {
    /// `kex_names_cat(a, b)`: `a` whole, then each name of `b` not yet present, up to `b`'s
    /// first empty element.
    fn cat(a: &[String], b: &str) -> Vec<String> {
        let mut out = a.to_vec();
        for name in b.split(',').take_while(|n| !n.is_empty()) {
            if !out.iter().any(|o| o == name) {
                out.push(name.to_string());
            }
        }
        out
    }
    let defaults: Vec<String> = defaults.iter().map(|s| s.to_string()).collect();
    if configured.is_empty() {
        return Ok(defaults);
    }
    let patterns: Vec<String> = if let Some(rest) = configured.strip_prefix('+') {
        cat(&defaults, rest)
    } else if let Some(rest) = configured.strip_prefix('-') {
        return Ok(defaults
            .into_iter()
            .filter(|d| match_pattern_list(d, rest, false) != 1)
            .collect());
    } else if let Some(rest) = configured.strip_prefix('^') {
        // `kex_names_cat(rest, defaults)` copies `rest` as written, empty elements included.
        let mut head: Vec<String> = rest.split(',').map(str::to_string).collect();
        for name in &defaults {
            if !head.contains(name) {
                head.push(name.clone());
            }
        }
        head
    } else {
        configured.split(',').map(str::to_string).collect()
    };
    let mut out: Vec<String> = Vec::new();
    for pattern in &patterns {
        if pattern.starts_with('!') {
            return Err(format!(
                "negated name {pattern:?} is not supported in this list"
            ));
        }
        for name in supported {
            if match_pattern_list(name, pattern, false) == 1 && !out.iter().any(|o| o == name) {
                out.push(name.to_string());
            }
        }
    }
    if out.is_empty() {
        return Err("the list names no algorithm sshd supports".into());
    }
    Ok(out)
}

/// The resolved list of one algorithm class, as `assemble_algorithms` (servconf.c) leaves it.
pub fn resolve_algorithms(
    configured: &str,
    class: AlgorithmClass,
    version: &OpenSshVersion,
) -> Result<Vec<String>, String> {
    assemble_algorithms(
        configured,
        &class.defaults(version),
        &class.supported(version),
    )
}

fn fill_defaults(options: &mut Options, config: &SshdConfig) {
    let version: &OpenSshVersion = &config.version;
    for &option in super::JUDGED_OPTIONS
        .iter()
        .chain(&["port", "addressfamily"])
    {
        if options.contains_key(option) {
            continue;
        }
        if let Some(values) = defaults::default_value(option, version) {
            let origins = vec![
                Place::Default {
                    version: version.to_string(),
                    known: config.version_known,
                };
                values.len().max(1)
            ];
            let values = if option == "maxstartups" {
                values[0].split(':').map(str::to_string).collect()
            } else {
                values
            };
            options.insert(
                option,
                Setting {
                    values,
                    origins,
                    block: None,
                },
            );
        }
    }
    if let Some(ms) = options.get_mut("maxstartups") {
        if ms.values.get(1).is_some_and(String::is_empty) {
            ms.values[1] = "30".into();
        }
        let joined = ms.values.join(":");
        ms.values = vec![joined];
        ms.origins.truncate(1);
    }
    // `none` (in any case) clears the banner.
    if let Some(banner) = options.get_mut("banner")
        && banner.value().eq_ignore_ascii_case("none")
    {
        banner.values = vec!["none".into()];
    }
    for (option, class) in AlgorithmClass::ALL {
        if let Some(setting) = options.get_mut(option) {
            // A list sshd cannot assemble is a fatal problem found at load; keep it as written.
            if let Ok(resolved) = resolve_algorithms(setting.value(), class, version) {
                setting.values = vec![resolved.join(",")];
            }
        }
    }
}

/// sshd's two passes for one connection, then defaults.
pub fn evaluate(config: &SshdConfig, conn: &ConnSpec, users: &UserDb) -> Effective {
    let mut options = Options::new();
    for d in &config.directives {
        if d.block.is_none() || chain_matches(config, d.block, None, users) {
            apply(&mut options, d, config);
        }
    }
    // The per-connection pass copies only options that may be set in a Match block; a
    // global-only keyword inside `Match All` took effect in the startup pass above.
    let mut matched = Options::new();
    for d in &config.directives {
        if d.keyword.allowed_in_match(&config.version)
            && d.block.is_some()
            && chain_matches(config, d.block, Some(conn), users)
        {
            apply(&mut matched, d, config);
        }
    }
    for (option, setting) in matched {
        options.insert(option, setting);
    }
    permit_user_environment_quirk(&mut options, config, conn, users);
    fill_defaults(&mut options, config);
    Effective { options }
}

/// `PermitUserEnvironment` is global-only, yet sshd's per-connection pass copies its pattern
/// list (`permit_user_env_allowlist` is in `COPY_MATCH_STRING_OPTS`, servconf.h) while the
/// yes/no flag stays from startup. So the first such line in a matching block (only `Match All`
/// can hold one without a fatal error) replaces what `sshd -T` prints when it is a pattern
/// list, and changes nothing when it is exactly `yes` or `no`.
fn permit_user_environment_quirk(
    options: &mut Options,
    config: &SshdConfig,
    conn: &ConnSpec,
    users: &UserDb,
) {
    let first_matched = config.directives.iter().find(|d| {
        d.keyword.option == "permituserenvironment"
            && d.block.is_some()
            && chain_matches(config, d.block, Some(conn), users)
    });
    if let Some(d) = first_matched
        && d.args.first().is_some_and(|v| v != "yes" && v != "no")
    {
        options.insert(
            "permituserenvironment",
            Setting {
                values: d.args.clone(),
                origins: vec![d.place.clone()],
                block: d.block,
            },
        );
    }
}

/// For each block that sets `option` for the connections it matches, the value it sets (its
/// own lines only). A global-only keyword is never a block's own: sshd refuses it in any block
/// but `Match All`, and there it is a startup line that the global view already holds.
pub fn block_settings(config: &SshdConfig, option: &str) -> Vec<(usize, Setting)> {
    let mut per_block: BTreeMap<usize, Options> = BTreeMap::new();
    for d in &config.directives {
        if let Some(block) = d.block
            && d.keyword.option == option
            && d.keyword.allowed_in_match(&config.version)
        {
            apply(per_block.entry(block).or_default(), d, config);
        }
    }
    per_block
        .into_iter()
        .filter_map(|(block, mut options)| {
            options.remove(option).map(|s| {
                (
                    block,
                    Setting {
                        block: Some(block),
                        ..s
                    },
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::testing::load_mem;
    use super::*;

    fn eval(files: &[(&str, &str)], conn: ConnSpec) -> Effective {
        let config = load_mem(files);
        assert!(config.fatal.is_empty(), "{:?}", config.fatal);
        config.evaluate(&conn, &UserDb::default())
    }

    fn user(u: &str) -> ConnSpec {
        ConnSpec {
            user: Some(u.into()),
            ..ConnSpec::default()
        }
    }

    #[test]
    fn first_value_wins_case_insensitive_and_equals() {
        let e = eval(
            &[(
                "/etc/ssh/sshd_config",
                "permitrootlogin=no\nPermitRootLogin yes\n",
            )],
            ConnSpec::default(),
        );
        assert_eq!(e.value("permitrootlogin"), "no");
        assert_eq!(
            e.get("permitrootlogin").map(|s| s.origin().to_string()),
            Some("/etc/ssh/sshd_config:1".into())
        );
    }

    #[test]
    fn drop_ins_included_first_override_the_main_file() {
        let e = eval(
            &[
                (
                    "/etc/ssh/sshd_config",
                    "Include /etc/ssh/sshd_config.d/*.conf\nMaxAuthTries 6\nPasswordAuthentication yes\n",
                ),
                ("/etc/ssh/sshd_config.d/10-a.conf", "MaxAuthTries 3\n"),
                (
                    "/etc/ssh/sshd_config.d/20-b.conf",
                    "MaxAuthTries 4\nPasswordAuthentication no\nMatch User zed\nX11Forwarding yes\n",
                ),
            ],
            ConnSpec::default(),
        );
        assert_eq!(e.value("maxauthtries"), "3");
        assert_eq!(e.value("passwordauthentication"), "no");
        assert_eq!(e.value("x11forwarding"), "no");
    }

    #[test]
    fn match_overrides_global_whatever_the_order_and_lines_after_match_belong_to_it() {
        let files = [(
            "/etc/ssh/sshd_config",
            "Match User foo\nX11Forwarding yes\nPermitRootLogin no\n",
        )];
        assert_eq!(
            eval(&files, ConnSpec::default()).value("permitrootlogin"),
            "prohibit-password"
        );
        assert_eq!(eval(&files, user("foo")).value("permitrootlogin"), "no");
        assert_eq!(eval(&files, user("foo")).value("x11forwarding"), "yes");
    }

    #[test]
    fn match_all_applies_without_a_connection() {
        let e = eval(
            &[(
                "/etc/ssh/sshd_config",
                "PasswordAuthentication yes\nMatch all\nPasswordAuthentication no\n",
            )],
            ConnSpec::default(),
        );
        assert_eq!(e.value("passwordauthentication"), "no");
    }

    /// Found by the differential test against OpenSSH 9.2 (seed 1796489540170524583): in
    /// `Match All` a pattern list replaces the printed value, `yes`/`no` do not.
    #[test]
    fn permit_user_environment_pattern_in_match_all_is_copied() {
        let value = |config: &str| {
            eval(&[("/etc/ssh/sshd_config", config)], user("alice"))
                .value("permituserenvironment")
                .to_string()
        };
        let global = "PermitUserEnvironment LANG,LC_*\nMatch all\n";
        assert_eq!(
            value(&format!("{global}PermitUserEnvironment Yes\n")),
            "Yes"
        );
        assert_eq!(
            value(&format!("{global}PermitUserEnvironment yes\n")),
            "LANG,LC_*"
        );
        assert_eq!(
            value(&format!("{global}PermitUserEnvironment no\n")),
            "LANG,LC_*"
        );
        assert_eq!(
            value("PermitUserEnvironment no\nMatch all\nPermitUserEnvironment Zed\n"),
            "Zed"
        );
        assert_eq!(
            value("Match all\nPermitUserEnvironment yes\nPermitUserEnvironment Zed\n"),
            "yes"
        );
    }

    #[test]
    fn accumulating_and_list_replacing_in_match() {
        let files = [(
            "/etc/ssh/sshd_config",
            "AllowUsers alice\nAllowUsers bob carol\nMatch User dave\nAllowUsers dave\n",
        )];
        assert_eq!(
            eval(&files, ConnSpec::default())
                .get("allowusers")
                .map(|s| s.values.clone()),
            Some(vec!["alice".into(), "bob".into(), "carol".into()])
        );
        assert_eq!(
            eval(&files, user("dave"))
                .get("allowusers")
                .map(|s| s.values.clone()),
            Some(vec!["dave".into()])
        );
    }

    #[test]
    fn last_value_wins_for_maxstartups() {
        let e = eval(
            &[(
                "/etc/ssh/sshd_config",
                "MaxStartups 10:30:60\nMaxStartups 5:20:30\n",
            )],
            ConnSpec::default(),
        );
        assert_eq!(e.value("maxstartups"), "5:20:30");
        let e = eval(
            &[("/etc/ssh/sshd_config", "MaxStartups 20\n")],
            ConnSpec::default(),
        );
        assert_eq!(e.value("maxstartups"), "20:30:20");
    }

    #[test]
    fn algorithm_lists_resolve_against_defaults() {
        let e = eval(
            &[(
                "/etc/ssh/sshd_config",
                "Ciphers -chacha20-poly1305@openssh.com,aes128-ctr\nMACs -umac-64*,hmac-sha1*\n",
            )],
            ConnSpec::default(),
        );
        assert_eq!(
            e.value("ciphers"),
            "aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com"
        );
        assert_eq!(
            e.value("macs"),
            "umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512"
        );
        let e = eval(
            &[("/etc/ssh/sshd_config", "Ciphers +aes128-cbc\n")],
            ConnSpec::default(),
        );
        assert!(e.value("ciphers").ends_with(",aes128-cbc"));
        let e = eval(
            &[("/etc/ssh/sshd_config", "Ciphers ^aes256-ctr\n")],
            ConnSpec::default(),
        );
        assert!(e.value("ciphers").starts_with("aes256-ctr,chacha20"));
    }

    #[test]
    fn include_inside_match_is_conditional() {
        let files = [
            (
                "/etc/ssh/sshd_config",
                "Match User alice\nInclude inc2/*.conf\n",
            ),
            ("/etc/ssh/inc2/a.conf", "PermitEmptyPasswords yes\n"),
        ];
        assert_eq!(
            eval(&files, ConnSpec::default()).value("permitemptypasswords"),
            "no"
        );
        assert_eq!(
            eval(&files, user("alice")).value("permitemptypasswords"),
            "yes"
        );
    }

    #[test]
    fn include_depth_limit_is_sixteen_hops_as_in_sshd() {
        let chain = |hops: usize| -> Vec<(String, String)> {
            (0..=hops)
                .map(|i| {
                    let text = if i < hops {
                        format!("Include /c{}\n", i + 1)
                    } else {
                        "PermitRootLogin no\n".to_string()
                    };
                    (format!("/c{i}"), text)
                })
                .collect()
        };
        for (hops, refused) in [(16, false), (17, true)] {
            let files = chain(hops);
            let refs: Vec<(&str, &str)> = files
                .iter()
                .map(|(p, t)| (p.as_str(), t.as_str()))
                .collect();
            let config = load_mem(&refs);
            assert_eq!(
                config.is_refused(),
                refused,
                "{hops} hops: {:?}",
                config.fatal
            );
        }
    }

    /// Red-team findings: Subsystem inside Match is refused before 9.5; HostKeyAlgorithms took
    /// a key type's short name before 9.9 (valid, matching nothing).
    #[test]
    fn version_dependent_keywords_and_names() {
        use super::super::load;
        use super::super::testing::MemSource;
        let at = |version: &str, text: &str| {
            let source = MemSource::new(&[("/etc/ssh/sshd_config", text)]);
            load(
                &source,
                "/etc/ssh/sshd_config",
                &super::super::CommandLine::default(),
                OpenSshVersion::parse(version),
            )
            .expect("main file")
        };
        let subsystem = "Match User alice\n  Subsystem sftp internal-sftp\n";
        assert!(at("OpenSSH_9.2p1", subsystem).is_refused());
        assert!(!at("OpenSSH_9.5p1", subsystem).is_refused());
        let short = "HostKeyAlgorithms ssh-ed25519,RSA\n";
        let config = at("OpenSSH_9.2p1", short);
        assert!(!config.is_refused(), "{:?}", config.fatal);
        assert_eq!(
            config
                .evaluate(&ConnSpec::default(), &UserDb::default())
                .value("hostkeyalgorithms"),
            "ssh-ed25519"
        );
        assert!(at("OpenSSH_9.9p1", short).is_refused());
        assert!(at("OpenSSH_9.2p1", "HostKeyAlgorithms rsa\n").is_refused());
    }

    #[test]
    fn fatal_problems_are_collected() {
        let config = load_mem(&[(
            "/etc/ssh/sshd_config",
            "PermitRootLogin bogus\nUnknownThing yes\nMatch User x\nPort 22\nInclude /etc/ssh/sshd_config\n",
        )]);
        let messages: Vec<String> = config.fatal.iter().map(|p| p.to_string()).collect();
        assert!(
            messages[0].contains("unsupported option \"bogus\""),
            "{messages:?}"
        );
        assert!(
            messages[1].contains("Bad configuration option: UnknownThing"),
            "{messages:?}"
        );
        assert!(
            messages[2].contains("not allowed within a Match block"),
            "{messages:?}"
        );
        assert!(
            messages.iter().any(|m| m.contains("Too many recursive")),
            "{messages:?}"
        );
    }
}
