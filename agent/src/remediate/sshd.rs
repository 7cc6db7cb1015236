//! Placing sshd values where they win (`reference/sshd.md`).
//!
//! sshd keeps the first value it reads for most keywords, so a global value is fixed by
//! putting it before every other line that sets it: in a drop-in that the first directive of
//! `sshd_config` includes and that sorts before the distribution's own (Debian and Ubuntu start
//! with `Include /etc/ssh/sshd_config.d/*.conf`, so `00-nodecheck.conf` is read before
//! `50-cloud-init.conf`), or else in a block at the top of `sshd_config`. A keyword whose last
//! line wins (`MaxStartups`) is fixed in the line that sets it. A value a `Match` block sets is
//! fixed in that block's line: a matching block overrides the global value per connection
//! whatever came first. A value that sshd's own command line sets (`-o`) cannot be fixed in a
//! file, and is left to the operator.

use super::{Edits, Unplaced, note_fix, unplace_all};
use crate::checks::{Remedy, fix::SshdScope};
use crate::facts::sshd::LoadedSshd;
use crate::host::{Host, fnmatch, has_glob_meta};
use crate::parse::sshd::{Place, keywords, lex};

/// The names tried for the drop-in, in order: the first that the `Include` pattern matches and
/// that sorts before every file it matches now is used.
const DROP_IN_NAMES: &[&str] = &["00-nodecheck.conf", "0-nodecheck.conf", "00-nodecheck"];

/// The lines that open and close nodecheck's block at the top of `sshd_config`.
const TOP_BEGIN: &str =
    "# nodecheck remediate: sshd keeps the first value it reads, so these come first.";
const TOP_END: &str = "# end of nodecheck remediate";

/// What makes a change of sshd's files take effect.
const RELOAD: &str =
    "reload sshd (`systemctl reload ssh` on Debian and Ubuntu, `systemctl reload sshd` elsewhere)";

/// Where the global values go.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Site {
    /// A drop-in file read before any other line that could set a value.
    DropIn(String),
    /// A block at the top of the main file.
    Top(String),
}

/// Places the sshd remedies on the files of `sshd`'s configuration.
pub(super) fn place(
    edits: &mut Edits<'_>,
    sshd: &LoadedSshd,
    remedies: &[&super::Tagged],
    unplaced: &mut Vec<Unplaced>,
) {
    let mut first_read: Vec<(&str, String, String)> = Vec::new();
    let mut first_read_for: Vec<(&str, String)> = Vec::new();
    for tagged in remedies {
        let Remedy::Sshd {
            keyword,
            value,
            scope,
        } = &tagged.remedy
        else {
            continue;
        };
        let Some(known) = keywords::lookup(keyword) else {
            unplaced.push(unplaced_for(tagged, "not an sshd keyword"));
            continue;
        };
        match scope {
            SshdScope::MatchLine { path, line } => {
                if let Err(why) = patch_line(edits, path, *line, known.option, value) {
                    unplaced.push(unplaced_for(tagged, &why));
                } else if let Ok(file) = edits.existing(path) {
                    note_fix(file, tagged.check, &tagged.remedy.setting());
                    file.takes_effect = RELOAD.into();
                }
            }
            SshdScope::Global => {
                let winner = sshd.global.get(known.option).map(|s| s.origin().clone());
                match winner {
                    Some(Place::CommandLine { option, .. }) => unplaced.push(unplaced_for(
                        tagged,
                        &format!(
                            "sshd's command line sets it ({option}), and a command-line option wins over every file: remove it from the service that starts sshd"
                        ),
                    )),
                    Some(Place::File { path, line })
                        if keywords::precedence(known.option)
                            == keywords::Precedence::LastWins =>
                    {
                        if let Err(why) = patch_line(edits, &path, line, known.option, value) {
                            unplaced.push(unplaced_for(tagged, &why));
                        } else if let Ok(file) = edits.existing(&path) {
                            note_fix(file, tagged.check, &tagged.remedy.setting());
                            file.takes_effect = RELOAD.into();
                        }
                    }
                    _ => {
                        // Two checks that want the same keyword (X11Forwarding) want the
                        // same value: the first one's line stands.
                        if !first_read.iter().any(|(_, k, _)| k == keyword) {
                            first_read.push((tagged.check, keyword.clone(), value.clone()));
                        }
                        first_read_for.push((tagged.check, format!("{keyword} {value}")));
                    }
                }
            }
        }
    }
    if first_read.is_empty() {
        return;
    }
    let site = match first_read_site(edits.host(), sshd) {
        Ok(site) => site,
        Err(why) => {
            unplace_all(unplaced, first_read_for, &why);
            return;
        }
    };
    let result = match &site {
        Site::DropIn(path) => write_drop_in(edits, path, &first_read),
        Site::Top(path) => write_top(edits, path, &first_read),
    };
    match result.and_then(|path| edits.existing(&path)) {
        Ok(file) => {
            for (check, keyword) in &first_read_for {
                note_fix(file, check, keyword);
            }
            file.takes_effect = RELOAD.into();
        }
        Err(why) => unplace_all(unplaced, first_read_for, &why),
    }
}

fn unplaced_for(tagged: &super::Tagged, why: &str) -> Unplaced {
    Unplaced {
        check: tagged.check.to_string(),
        setting: tagged.remedy.setting(),
        why: why.to_string(),
    }
}

/// Where the global values are read first.
fn first_read_site(host: &Host, sshd: &LoadedSshd) -> Result<Site, String> {
    let main = sshd.config.main_file.clone();
    let text = host
        .read_text(&main, crate::host::CONFIG_CAP, crate::host::Content::Plain)
        .map_err(|e| e.to_string())?;
    let first = text
        .lines()
        .filter_map(|l| lex::lex_line(l).ok().flatten())
        .next();
    let Some(first) = first else {
        return Ok(Site::Top(main));
    };
    let is_top_block = text.lines().next() == Some(TOP_BEGIN);
    if is_top_block || !first.keyword.eq_ignore_ascii_case("include") {
        return Ok(Site::Top(main));
    }
    let Some(arg) = first.args.first() else {
        return Ok(Site::Top(main));
    };
    // As sshd resolves it: relative to /etc/ssh.
    let pattern = if arg.starts_with('/') {
        arg.clone()
    } else {
        format!("/etc/ssh/{arg}")
    };
    let Some((dir, name_pattern)) = pattern.rsplit_once('/') else {
        return Ok(Site::Top(main));
    };
    if has_glob_meta(dir) || dir.is_empty() {
        return Ok(Site::Top(main));
    }
    // (The edit puts the file where the directory really is: `Edits::place_of`.)
    let matched = host.glob(&pattern);
    let matched_names: Vec<String> = matched
        .iter()
        .filter_map(|m| m.rsplit_once('/').map(|(_, n)| n.to_string()))
        .collect();
    for name in DROP_IN_NAMES {
        if !fnmatch(name_pattern, name) {
            continue;
        }
        let first_now = matched_names.first().map(String::as_str);
        // glob(3) sorts with strcmp, as Rust compares bytes.
        if first_now.is_none_or(|f| f == *name || name.as_bytes() < f.as_bytes()) {
            return Ok(Site::DropIn(format!("{dir}/{name}")));
        }
    }
    Ok(Site::Top(main))
}

/// Lines `Keyword value`, each under a comment naming its check.
fn value_lines(values: &[(&str, String, String)]) -> Vec<String> {
    values
        .iter()
        .flat_map(|(check, keyword, value)| [format!("# {check}"), format!("{keyword} {value}")])
        .collect()
}

/// Writes (or updates) the drop-in; returns its path.
fn write_drop_in(
    edits: &mut Edits<'_>,
    path: &str,
    values: &[(&str, String, String)],
) -> Result<String, String> {
    if edits.has(path)? {
        let file = edits.existing(path)?;
        file.after = merged(&file.after, values);
        return Ok(file.path.clone());
    }
    let file = edits.added(path, 0o600)?;
    let mut text = String::from(
        "# Written by `nodecheck remediate`. sshd keeps the first value it reads for each of these\n# keywords, and this file is read before every other one.\n",
    );
    for line in value_lines(values) {
        text.push_str(&line);
        text.push('\n');
    }
    file.after = text;
    Ok(file.path.clone())
}

/// `text` with each keyword of `values` set: its line rewritten where it has one, the rest
/// appended.
fn merged(text: &str, values: &[(&str, String, String)]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    // Only global lines are rewritten, and new ones go before the first `Match`: after it
    // they would belong to that block.
    let first_match = lines
        .iter()
        .position(|l| {
            lex::lex_line(l)
                .ok()
                .flatten()
                .is_some_and(|lexed| lexed.keyword.eq_ignore_ascii_case("match"))
        })
        .unwrap_or(lines.len());
    let mut missing: Vec<(&str, String, String)> = Vec::new();
    for (check, keyword, value) in values {
        let option = keywords::lookup(keyword).map(|k| k.option);
        let at = lines[..first_match].iter().position(|l| {
            lex::lex_line(l)
                .ok()
                .flatten()
                .and_then(|lexed| keywords::lookup(&lexed.keyword))
                .map(|k| k.option)
                == option
        });
        match at {
            Some(i) => lines[i] = format!("{keyword} {value}"),
            None => missing.push((check, keyword.clone(), value.clone())),
        }
    }
    lines.splice(first_match..first_match, value_lines(&missing));
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

/// Puts the values in nodecheck's block at the top of the main file; returns its path.
fn write_top(
    edits: &mut Edits<'_>,
    path: &str,
    values: &[(&str, String, String)],
) -> Result<String, String> {
    let file = edits.existing(path)?;
    let text = file.after.clone();
    if let Some(rest) = text.strip_prefix(TOP_BEGIN)
        && let Some(end) = rest.find(TOP_END)
    {
        // Updated in place on a second run.
        let block = &rest[..end];
        let after_block = &rest[end..];
        let updated = merged(block.trim_start_matches('\n'), values);
        file.after = format!("{TOP_BEGIN}\n{updated}{after_block}");
        return Ok(path.to_string());
    }
    let mut block = String::from(TOP_BEGIN);
    block.push('\n');
    for line in value_lines(values) {
        block.push_str(&line);
        block.push('\n');
    }
    block.push_str(TOP_END);
    block.push('\n');
    file.after = format!("{block}{text}");
    Ok(path.to_string())
}

/// Rewrites line `line` (1-based) of `path`, which sets `option`, to `value`, keeping its
/// indentation and the keyword as spelled.
fn patch_line(
    edits: &mut Edits<'_>,
    path: &str,
    line: u32,
    option: &str,
    value: &str,
) -> Result<(), String> {
    let file = edits.existing(path)?;
    let mut lines: Vec<String> = file.after.split('\n').map(str::to_string).collect();
    let index = usize::try_from(line)
        .ok()
        .and_then(|l| l.checked_sub(1))
        .filter(|i| *i < lines.len())
        .ok_or_else(|| format!("{path} has no line {line} (it changed since the scan?)"))?;
    let current = lines[index].trim_end_matches('\r').to_string();
    let lexed = lex::lex_line(&current)
        .ok()
        .flatten()
        .ok_or_else(|| format!("{path}:{line} sets nothing (it changed since the scan?)"))?;
    if keywords::lookup(&lexed.keyword).map(|k| k.option) != Some(option) {
        return Err(format!(
            "{path}:{line} no longer sets {option} (it changed since the scan?)"
        ));
    }
    let indent: String = current
        .chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .collect();
    lines[index] = format!("{indent}{} {value}", lexed.keyword);
    file.after = lines.join("\n");
    Ok(())
}

/// Runs `binary -t` on the configuration as `host` (the remediated copy) has it: every file
/// sshd reads is copied into a private temporary directory, its `Include` lines pointed there,
/// and the running daemon's command-line `options` given again. A refusal counts against the
/// proposal only when sshd accepts the configuration as it is now (`baseline`): a machine
/// whose sshd refuses even that (no host keys, no privilege separation directory) says nothing
/// about the change.
pub(super) fn run_sshd_test(
    host: &Host,
    sshd: &LoadedSshd,
    baseline: Option<(&Host, &LoadedSshd)>,
    options: &[String],
    binary: &str,
) -> super::SshdTest {
    use super::SshdTest;
    match sshd_t(host, sshd, options, binary) {
        Ok((true, _)) => SshdTest::Accepted {
            binary: binary.to_string(),
        },
        Ok((false, output)) => match baseline.map(|(h, s)| sshd_t(h, s, options, binary)) {
            Some(Ok((false, now))) => SshdTest::NotRun(format!(
                "{binary} -t refuses the configuration as it is now too ({now})"
            )),
            Some(Err(e)) => SshdTest::NotRun(e),
            _ => SshdTest::Refused {
                binary: binary.to_string(),
                output,
            },
        },
        Err(e) => SshdTest::NotRun(e),
    }
}

/// One `sshd -t` on a private copy of the configuration as `host` has it: whether sshd
/// accepted it, and what it said.
fn sshd_t(
    host: &Host,
    sshd: &LoadedSshd,
    options: &[String],
    binary: &str,
) -> Result<(bool, String), String> {
    let dir = private_temp_dir().map_err(|e| format!("no temporary directory: {e}"))?;
    let result = copy_config(host, sshd, &dir).and_then(|main| {
        let mut command = std::process::Command::new(binary);
        command.arg("-t").arg("-f").arg(&main);
        for option in options {
            command.arg("-o").arg(option);
        }
        run_bounded(command, std::time::Duration::from_secs(20))
    });
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// A directory only this user can enter, under the system's temporary directory.
fn private_temp_dir() -> std::io::Result<std::path::PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    let base = std::env::temp_dir();
    for attempt in 0..16u32 {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir = base.join(format!(
            "nodecheck-sshd-test-{}-{nanos}-{attempt}",
            std::process::id()
        ));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("could not create a unique directory"))
}

/// Copies the configuration's files below `dir`; returns the copy of the main file.
fn copy_config(host: &Host, sshd: &LoadedSshd, dir: &std::path::Path) -> Result<String, String> {
    use std::os::unix::fs::OpenOptionsExt;
    let prefix = dir.to_string_lossy().to_string();
    let mut seen = std::collections::BTreeSet::new();
    for path in &sshd.config.files {
        if !seen.insert(path.clone()) {
            continue;
        }
        let text = host
            .read_text(path, crate::host::CONFIG_CAP, crate::host::Content::Plain)
            .map_err(|e| e.to_string())?;
        let copy = dir.join(crate::host::normalise_lexically(path).trim_start_matches('/'));
        if let Some(parent) = copy.parent() {
            std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        let rewritten: Vec<String> = text
            .split('\n')
            .map(|line| redirect_include(line, &prefix))
            .collect();
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&copy)
            .map_err(|e| format!("{}: {e}", copy.display()))?;
        std::io::Write::write_all(&mut file, rewritten.join("\n").as_bytes())
            .map_err(|e| e.to_string())?;
    }
    Ok(format!(
        "{prefix}{}",
        crate::host::normalise_lexically(&sshd.config.main_file)
    ))
}

/// An `Include` line with each pattern moved below `prefix`; other lines as they are.
fn redirect_include(line: &str, prefix: &str) -> String {
    match lex::lex_line(line) {
        Ok(Some(lexed)) if lexed.keyword.eq_ignore_ascii_case("include") => {
            let indent: String = line
                .chars()
                .take_while(|c| *c == ' ' || *c == '\t')
                .collect();
            let args: Vec<String> = lexed
                .args
                .iter()
                .map(|arg| {
                    let absolute = if arg.starts_with('/') {
                        arg.clone()
                    } else {
                        format!("/etc/ssh/{arg}")
                    };
                    format!("\"{prefix}{absolute}\"")
                })
                .collect();
            format!("{indent}{} {}", lexed.keyword, args.join(" "))
        }
        _ => line.to_string(),
    }
}

/// Runs a command with a deadline; returns whether it succeeded and what it printed (the
/// first 16 KiB). Its output is drained while it runs, so a chatty program cannot block on a
/// full pipe.
fn run_bounded(
    mut command: std::process::Command,
    timeout: std::time::Duration,
) -> Result<(bool, String), String> {
    use std::io::Read;
    const KEPT: usize = 16 * 1024;
    let mut child = command
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run sshd -t: {e}"))?;
    let reader = child.stderr.take().map(|mut stderr| {
        std::thread::spawn(move || {
            let mut kept = Vec::new();
            let mut chunk = [0u8; 8192];
            loop {
                match stderr.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        let room = KEPT.saturating_sub(kept.len());
                        kept.extend_from_slice(&chunk[..n.min(room)]);
                    }
                }
            }
            kept
        })
    });
    let deadline = std::time::Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "sshd -t did not finish within {}",
                    crate::host::seconds(timeout)
                ));
            }
            Err(e) => return Err(format!("sshd -t: {e}")),
        }
    };
    let bytes = reader.and_then(|r| r.join().ok()).unwrap_or_default();
    let output = String::from_utf8_lossy(&bytes);
    let output = crate::text::terminal_safe(output.trim()).into_owned();
    Ok((status.success(), output))
}
