//! The sshd configuration, modelled the way OpenSSH builds it (`reference/sshd.md`).
//!
//! Loading ([`load`]) reads the main file and every `Include` in order, lexes each line as
//! sshd does, validates the values sshd validates, and keeps every directive with its file,
//! line and the `Match` block it belongs to. Problems that make sshd refuse the whole
//! configuration (unknown keyword, bad value, global-only keyword inside `Match`, include depth)
//! are kept as [`Problem`]s in `fatal`; the rest of the file is still modelled, so the evidence
//! can show what would apply once the problem is fixed.
//!
//! Evaluation ([`SshdConfig::evaluate`]) reproduces sshd's two passes: the startup pass
//! (command-line `-o` options first, then global lines and `Match All` blocks, each option by
//! its precedence class), and the per-connection pass in which every matching `Match` block is
//! applied into fresh options that then override the global ones.

pub mod defaults;
mod eval;
pub mod keywords;
pub mod lex;
mod matching;
mod values;

pub use defaults::OpenSshVersion;
pub use eval::{ConnSpec, Effective, Setting};
pub use matching::Condition;

use crate::host::FileError;
use keywords::Keyword;
use std::fmt;

/// The options the sshd checks judge, as `sshd -T` names them. Their compiled defaults are
/// filled in when unset, and the differential test compares each with `sshd -T`.
pub const JUDGED_OPTIONS: &[&str] = &[
    "permitrootlogin",
    "passwordauthentication",
    "kbdinteractiveauthentication",
    "pubkeyauthentication",
    "usepam",
    "x11forwarding",
    "allowtcpforwarding",
    "allowagentforwarding",
    "disableforwarding",
    "gssapiauthentication",
    "hostbasedauthentication",
    "ignorerhosts",
    "permitemptypasswords",
    "permituserenvironment",
    "logingracetime",
    "loglevel",
    "maxauthtries",
    "maxsessions",
    "maxstartups",
    "clientaliveinterval",
    "clientalivecountmax",
    "banner",
    "ciphers",
    "macs",
    "kexalgorithms",
    "hostkeyalgorithms",
    "permittunnel",
    "gatewayports",
    "allowstreamlocalforwarding",
    "allowusers",
    "denyusers",
    "allowgroups",
    "denygroups",
    "hostkey",
];

/// The host key algorithms sshd puts in its KEXINIT (`list_hostkey_types`): for each loaded
/// key in `HostKey` order, the names its type is offered with (an RSA key as `rsa-sha2-512`,
/// `rsa-sha2-256` and `ssh-rsa`; a certificate likewise with `-cert-v01@openssh.com`), each
/// kept only when the effective `HostKeyAlgorithms` list matches it. A DSA key is not loaded
/// by an sshd built without DSA (9.8 on).
pub fn offered_host_key_algorithms(
    keys: &[crate::parse::ssh_key::PublicKeyInfo],
    host_key_algorithms: &str,
    version: &OpenSshVersion,
) -> Vec<String> {
    use crate::parse::ssh_key::KeyFamily;
    let mut offered: Vec<String> = Vec::new();
    for key in keys {
        let names: Vec<&str> = match key.family() {
            KeyFamily::Rsa => vec!["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"],
            KeyFamily::Dsa if !defaults::supports_dsa(version) => Vec::new(),
            _ => vec![key.algorithm.as_str()],
        };
        for name in names {
            let name = if key.certificate {
                format!("{name}-cert-v01@openssh.com")
            } else {
                name.to_string()
            };
            if matching::match_pattern_list(&name, host_key_algorithms, false) == 1
                && !offered.contains(&name)
            {
                offered.push(name);
            }
        }
    }
    offered
}

/// Whether an algorithm pattern list (`HostKeyAlgorithms` as resolved) lets `name` through, as
/// sshd's `match_pattern_list(name, list, 0) == 1` does.
pub fn list_allows(list: &str, name: &str) -> bool {
    matching::match_pattern_list(name, list, false) == 1
}

/// Maximum include depth (`SERVCONF_MAX_DEPTH`).
pub const MAX_INCLUDE_DEPTH: u32 = 16;
/// Files an sshd configuration may pull in before nodecheck stops reading (a guard against
/// glob fan-out; sshd itself has none).
pub const MAX_FILES: usize = 256;
/// Size cap of one configuration file.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;
/// Configuration text read through includes altogether (a file included twice counts twice,
/// as sshd parses it twice): beyond it nodecheck stops reading and says so.
pub const MAX_CONFIG_TEXT: u64 = 1024 * 1024;
/// Files read through includes altogether, counting a file each time it is included.
pub const MAX_INCLUSIONS: usize = 1024;
/// Problems listed (each once, with its place); the rest are counted.
pub const MAX_LISTED_PROBLEMS: usize = 20;

/// Where a directive or value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    File {
        path: String,
        line: u32,
    },
    /// An `-o` option (or `-p`) on the running sshd's command line.
    CommandLine {
        option: String,
        pid: Option<u32>,
    },
    /// The compiled default of the OpenSSH version in use.
    Default {
        version: String,
        known: bool,
    },
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::File { path, line } => write!(f, "{path}:{line}"),
            Place::CommandLine { option, .. } => write!(f, "sshd command line {option}"),
            Place::Default { version, known } => {
                write!(f, "compiled default of {version}")?;
                if !known {
                    f.write_str(" (installed version unknown)")?;
                }
                Ok(())
            }
        }
    }
}

/// One configuration line that sets an option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    pub keyword: &'static Keyword,
    /// The keyword as written.
    pub spelled: String,
    /// Validated and normalised arguments (`yes`/`no` lowercased, times in seconds, …).
    pub args: Vec<String>,
    pub place: Place,
    /// Index into [`SshdConfig::blocks`] when inside a `Match` block.
    pub block: Option<usize>,
}

/// A `Match` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchBlock {
    /// The criteria as written after `Match`.
    pub criteria: String,
    pub conditions: Vec<Condition>,
    /// The block an `Include` that pulled this block in sat in.
    pub parent: Option<usize>,
    pub path: String,
    pub line: u32,
}

impl MatchBlock {
    pub fn label(&self) -> String {
        format!("Match {} ({}:{})", self.criteria, self.path, self.line)
    }
}

/// Something sshd would complain about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub place: Place,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.place, self.message)
    }
}

/// Where configuration text comes from: the host, or a map in tests.
pub trait ConfigSource {
    fn read_config(&self, path: &str) -> Result<String, FileError>;
    /// Expands a glob as `glob(3)` does: sorted, no match gives nothing.
    fn glob(&self, pattern: &str) -> Vec<String>;
}

impl ConfigSource for crate::host::Host {
    fn read_config(&self, path: &str) -> Result<String, FileError> {
        self.read_text(path, MAX_FILE_BYTES, crate::host::Content::Plain)
    }

    fn glob(&self, pattern: &str) -> Vec<String> {
        crate::host::Host::glob(self, pattern)
    }
}

/// How sshd was started, as far as the configuration is concerned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandLine {
    pub pid: Option<u32>,
    /// `-o Keyword=value` options, in order.
    pub options: Vec<String>,
    /// `-p` given: every `Port` line is ignored.
    pub ports: Vec<String>,
}

/// The whole configuration as sshd would load it.
#[derive(Debug, Clone)]
pub struct SshdConfig {
    pub main_file: String,
    /// Every file read, main file first, in the order sshd reads them.
    pub files: Vec<String>,
    pub directives: Vec<Directive>,
    pub blocks: Vec<MatchBlock>,
    /// Problems that make sshd refuse to start (the first [`MAX_LISTED_PROBLEMS`]).
    pub fatal: Vec<Problem>,
    /// Further problems, counted and not listed.
    pub fatal_unlisted: usize,
    /// Deprecated or unsupported keywords, and other things sshd only logs.
    pub notes: Vec<Problem>,
    pub version: OpenSshVersion,
    /// Whether `version` was found on the host (else it is assumed: see [`load`]).
    pub version_known: bool,
    pub ports_from_cmdline: bool,
}

struct Loader<'a> {
    source: &'a dyn ConfigSource,
    config: SshdConfig,
    aborted: bool,
    /// Each file read once, however often it is included.
    texts: std::collections::HashMap<String, std::rc::Rc<str>>,
    /// Configuration text parsed so far, inclusions counted each time.
    parsed_bytes: u64,
    /// Each Include pattern expanded once.
    globs: std::collections::HashMap<String, std::rc::Rc<[String]>>,
}

/// Loads the configuration starting at `main_file`, with the running daemon's command line.
/// `version` is the installed OpenSSH when it is known; an unknown one is loaded as the oldest
/// the defaults table knows.
pub fn load(
    source: &dyn ConfigSource,
    main_file: &str,
    cmdline: &CommandLine,
    version: Option<OpenSshVersion>,
) -> Result<SshdConfig, FileError> {
    match version {
        Some(version) => load_as(source, main_file, cmdline, version, true),
        None => load_as(
            source,
            main_file,
            cmdline,
            OpenSshVersion::oldest_known(),
            false,
        ),
    }
}

/// Loads the configuration as `version` would; `version_known` says whether that version was
/// found on the host or is assumed.
pub fn load_as(
    source: &dyn ConfigSource,
    main_file: &str,
    cmdline: &CommandLine,
    version: OpenSshVersion,
    version_known: bool,
) -> Result<SshdConfig, FileError> {
    let text = source.read_config(main_file)?;
    let mut loader = Loader {
        source,
        config: SshdConfig {
            main_file: main_file.to_string(),
            files: Vec::new(),
            directives: Vec::new(),
            blocks: Vec::new(),
            fatal: Vec::new(),
            fatal_unlisted: 0,
            notes: Vec::new(),
            version,
            version_known,
            ports_from_cmdline: !cmdline.ports.is_empty(),
        },
        aborted: false,
        texts: std::collections::HashMap::new(),
        parsed_bytes: text.len() as u64,
        globs: std::collections::HashMap::new(),
    };
    for option in &cmdline.options {
        loader.command_line_option(option, cmdline.pid);
    }
    for port in &cmdline.ports {
        loader.push_value(
            "port",
            vec![port.clone()],
            Place::CommandLine {
                option: format!("-p {port}"),
                pid: cmdline.pid,
            },
        );
    }
    loader.config.files.push(main_file.to_string());
    loader.parse_text(main_file, &text, 0, None);
    if !loader.aborted {
        loader.assemble_algorithms();
    }
    Ok(loader.config)
}

impl Loader<'_> {
    fn fatal(&mut self, place: Place, message: String) {
        // A file included again repeats its problems at the same places: said once.
        if self
            .config
            .fatal
            .iter()
            .any(|p| p.place == place && p.message == message)
        {
            return;
        }
        if self.config.fatal.len() < MAX_LISTED_PROBLEMS {
            self.config.fatal.push(Problem { place, message });
        } else {
            self.config.fatal_unlisted += 1;
        }
    }

    /// sshd's `assemble_algorithms` after parsing: the startup value of each algorithm list
    /// (the first line, globally or in `Match All`) must resolve, or sshd exits.
    fn assemble_algorithms(&mut self) {
        let users = crate::host::UserDb::default();
        for (option, class) in defaults::AlgorithmClass::ALL {
            let winner = self.config.directives.iter().find(|d| {
                d.keyword.option == option
                    && (d.block.is_none()
                        || matching::chain_matches(&self.config, d.block, None, &users))
            });
            let Some(d) = winner else { continue };
            let (place, configured) = (d.place.clone(), d.args.first().cloned());
            if let Err(why) = eval::resolve_algorithms(
                &configured.unwrap_or_default(),
                class,
                &self.config.version,
            ) {
                self.fatal(
                    place,
                    format!("assemble_algorithms: {option}: invalid argument ({why})"),
                );
            }
        }
    }

    /// Whether another problem would still be listed (so worth a suggestion).
    fn listing(&self) -> bool {
        self.config.fatal.len() < MAX_LISTED_PROBLEMS
    }

    fn push_value(&mut self, option: &str, args: Vec<String>, place: Place) {
        if let Some(keyword) = keywords::lookup(option) {
            self.config.directives.push(Directive {
                keyword,
                spelled: option.to_string(),
                args,
                place,
                block: None,
            });
        }
    }

    fn command_line_option(&mut self, option: &str, pid: Option<u32>) {
        let place = Place::CommandLine {
            option: format!("-o {option}"),
            pid,
        };
        match lex::lex_line(option) {
            Ok(Some(line)) => {
                let Some(keyword) = keywords::lookup(&line.keyword) else {
                    self.fatal(
                        place,
                        format!(
                            "command-line line 0: Bad configuration option: {}",
                            line.keyword
                        ),
                    );
                    return;
                };
                if keyword.option == "include" || keyword.option == "match" {
                    self.fatal(
                        place,
                        format!(
                            "{} directive not supported as a command-line option",
                            line.keyword
                        ),
                    );
                    return;
                }
                self.directive(keyword, &line.keyword, line.args, place, None);
            }
            Ok(None) => {}
            Err(e) => self.fatal(place, lex_message(&e)),
        }
    }

    fn directive(
        &mut self,
        keyword: &'static Keyword,
        spelled: &str,
        args: Vec<String>,
        place: Place,
        block: Option<usize>,
    ) {
        match values::validate(keyword, spelled, &args, &self.config.version) {
            Ok(args) => self.config.directives.push(Directive {
                keyword,
                spelled: spelled.to_string(),
                args,
                place,
                block,
            }),
            Err(message) => self.fatal(place, message),
        }
    }

    fn parse_text(&mut self, path: &str, text: &str, depth: u32, base_block: Option<usize>) {
        let mut block = base_block;
        for (index, raw) in text.lines().enumerate() {
            if self.aborted {
                return;
            }
            let line_no = u32::try_from(index + 1).unwrap_or(u32::MAX);
            let place = Place::File {
                path: path.to_string(),
                line: line_no,
            };
            let line = match lex::lex_line(raw) {
                Ok(Some(line)) => line,
                Ok(None) => continue,
                Err(e) => {
                    self.fatal(place, lex_message(&e));
                    continue;
                }
            };
            let Some(keyword) = keywords::lookup(&line.keyword) else {
                // A suggestion costs a comparison with every keyword: only for the listed.
                let hint = self
                    .listing()
                    .then(|| keywords::suggest(&line.keyword))
                    .flatten()
                    .map(|s| format!(" (did you mean {s}?)"))
                    .unwrap_or_default();
                self.fatal(
                    place,
                    format!("Bad configuration option: {}{hint}", line.keyword),
                );
                continue;
            };
            if let Some((major, minor)) = keyword.since
                && !self.config.version.at_least(major, minor)
            {
                self.fatal(
                    place,
                    format!(
                        "Bad configuration option: {} (not known to {})",
                        line.keyword, self.config.version
                    ),
                );
                continue;
            }
            // sshd refuses a global-only keyword (deprecated ones too) where it is inactive at
            // startup: inside `Match All` it applies like a global line.
            if !keyword.allowed_in_match(&self.config.version)
                && block.is_some()
                && !matching::chain_matches(
                    &self.config,
                    block,
                    None,
                    &crate::host::UserDb::default(),
                )
            {
                self.fatal(
                    place,
                    format!(
                        "Directive '{}' is not allowed within a Match block",
                        line.keyword
                    ),
                );
                continue;
            }
            match keyword.kind {
                keywords::Kind::Normal => {}
                keywords::Kind::Deprecated => {
                    self.config.notes.push(Problem {
                        place,
                        message: format!("Deprecated option {}", line.keyword),
                    });
                    continue;
                }
                keywords::Kind::Unsupported => {
                    self.config.notes.push(Problem {
                        place,
                        message: format!("Unsupported option {}", line.keyword),
                    });
                    continue;
                }
                keywords::Kind::Ignored => continue,
            }
            match keyword.option {
                "match" => match matching::parse_criteria(&line.rest) {
                    Ok(conditions) => {
                        self.config.blocks.push(MatchBlock {
                            criteria: line.args.join(" "),
                            conditions,
                            parent: base_block,
                            path: path.to_string(),
                            line: line_no,
                        });
                        block = Some(self.config.blocks.len() - 1);
                    }
                    Err(message) => {
                        self.fatal(place, format!("Bad Match condition: {message}"));
                    }
                },
                "include" => self.include(&line.args, place, depth, block),
                _ => self.directive(keyword, &line.keyword, line.args, place, block),
            }
        }
    }

    fn include(&mut self, args: &[String], place: Place, depth: u32, block: Option<usize>) {
        if args.is_empty() {
            self.fatal(place, "Include missing filename argument".into());
            return;
        }
        for arg in args {
            if depth + 1 > MAX_INCLUDE_DEPTH {
                self.fatal(
                    place.clone(),
                    "Too many recursive configuration includes".into(),
                );
                self.aborted = true;
                return;
            }
            let pattern = if arg.starts_with('/') || arg.starts_with('~') {
                arg.clone()
            } else {
                format!("/etc/ssh/{arg}")
            };
            let paths = match self.globs.get(&pattern) {
                Some(paths) => paths.clone(),
                None => {
                    let paths: std::rc::Rc<[String]> = self.source.glob(&pattern).into();
                    self.globs.insert(pattern.clone(), paths.clone());
                    paths
                }
            };
            for path in paths.iter() {
                if self.config.files.len() >= MAX_INCLUSIONS {
                    self.fatal(
                        place.clone(),
                        format!("more than {MAX_INCLUSIONS} inclusions; stopped reading"),
                    );
                    self.aborted = true;
                    return;
                }
                let text = match self.texts.get(path) {
                    Some(text) => Ok(text.clone()),
                    None if self.texts.len() >= MAX_FILES => {
                        self.fatal(
                            place.clone(),
                            format!("more than {MAX_FILES} included files; stopped reading"),
                        );
                        self.aborted = true;
                        return;
                    }
                    None => self.source.read_config(path).map(|text| {
                        let text: std::rc::Rc<str> = text.into();
                        self.texts.insert(path.clone(), text.clone());
                        text
                    }),
                };
                self.config.files.push(path.clone());
                match text {
                    Ok(text) => {
                        self.parsed_bytes += text.len() as u64;
                        if self.parsed_bytes > MAX_CONFIG_TEXT {
                            self.fatal(
                                place.clone(),
                                format!(
                                    "more than {} MiB of configuration text through Include (at {path}); stopped reading",
                                    MAX_CONFIG_TEXT / (1024 * 1024)
                                ),
                            );
                            self.aborted = true;
                            return;
                        }
                        self.parse_text(path, &text, depth + 1, block);
                    }
                    Err(e) => {
                        self.fatal(place.clone(), format!("cannot read included file: {e}"));
                    }
                }
                if self.aborted {
                    return;
                }
            }
        }
    }
}

fn lex_message(e: &lex::LexError) -> String {
    match e {
        lex::LexError::NoArgument(k) => format!("no argument after keyword \"{k}\""),
        lex::LexError::InvalidQuotes(k) => format!("{k}: invalid quotes"),
    }
}

impl SshdConfig {
    /// Whether sshd would refuse this configuration.
    pub fn is_refused(&self) -> bool {
        !self.fatal.is_empty()
    }

    /// The effective options for a connection (`sshd -T -C …`), or with no connection
    /// (`sshd -T`: only `Match All` blocks apply).
    pub fn evaluate(&self, conn: &ConnSpec, users: &crate::host::UserDb) -> Effective {
        eval::evaluate(self, conn, users)
    }

    /// For each `Match` block that sets `option`: the block and its setting.
    pub fn block_settings(&self, option: &str) -> Vec<(usize, Setting)> {
        eval::block_settings(self, option)
    }

    /// Whether a block, and every block it was included from, matches the connection
    /// (`None`: sshd's startup pass, where only `Match All` matches).
    pub fn chain_matches(
        &self,
        block: usize,
        conn: Option<&ConnSpec>,
        users: &crate::host::UserDb,
    ) -> bool {
        matching::chain_matches(self, Some(block), conn, users)
    }
}

/// An in-memory configuration tree (path → text), for tests, fuzzing and benchmarks.
#[derive(Debug, Default, Clone)]
pub struct MemorySource(pub std::collections::BTreeMap<String, String>);

impl MemorySource {
    pub fn new(files: &[(&str, &str)]) -> MemorySource {
        MemorySource(
            files
                .iter()
                .map(|(p, t)| (p.to_string(), t.to_string()))
                .collect(),
        )
    }
}

impl ConfigSource for MemorySource {
    fn read_config(&self, path: &str) -> Result<String, FileError> {
        self.0
            .get(path)
            .cloned()
            .ok_or_else(|| FileError::NotFound(path.to_string()))
    }

    fn glob(&self, pattern: &str) -> Vec<String> {
        self.0
            .keys()
            .filter(|p| crate::host::fnmatch(pattern, p))
            .cloned()
            .collect()
    }
}

#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    pub use super::MemorySource as MemSource;

    pub fn debian_9_2() -> OpenSshVersion {
        OpenSshVersion::parse("OpenSSH_9.2p1 Debian-2+deb12u6").expect("version")
    }

    pub fn load_mem(files: &[(&str, &str)]) -> SshdConfig {
        load(
            &MemSource::new(files),
            files[0].0,
            &CommandLine::default(),
            Some(debian_9_2()),
        )
        .expect("main file exists")
    }

    /// Arbitrary bytes never make the parser panic or hang (a stable-toolchain companion of
    /// the cargo-fuzz target in fuzz/).
    #[test]
    fn random_input_never_panics() {
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let alphabet: &[u8] = b"PermitRootLogin Match User All Include = \"'#\n\t\\*?,!/:0123456789yesnoCiphers+-^aes128-ctr";
        let users = crate::host::UserDb::default();
        for _ in 0..2000 {
            let len = (next() % 200) as usize;
            let text: String = (0..len)
                .map(|_| {
                    let r = next();
                    if r % 10 == 0 {
                        char::from((r >> 8) as u8)
                    } else {
                        char::from(alphabet[(r >> 8) as usize % alphabet.len()])
                    }
                })
                .collect();
            let config = load(
                &MemSource::new(&[("/etc/ssh/sshd_config", &text)]),
                "/etc/ssh/sshd_config",
                &CommandLine::default(),
                Some(debian_9_2()),
            )
            .expect("main file exists");
            let conn = ConnSpec {
                user: Some("alice".into()),
                addr: Some("10.1.2.3".into()),
                ..ConnSpec::default()
            };
            let _ = config.evaluate(&conn, &users);
            let _ = config.block_settings("permitrootlogin");
        }
    }
}
