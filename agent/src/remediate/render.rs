//! Writing a proposal out: a summary for people, unified diffs, JSON, and a directory in the
//! layout of the host.

use super::{Manual, ModeEdit, Proposal, SshdTest};
use nodecheck_report::Status;
use std::fmt::Write as _;
use std::path::Path;

/// The schema name of `--format json`.
pub const SCHEMA: &str = "nodecheck.remediation/v1";

/// The folder of `--output DIR` that holds the diffs, the mode script and the README.
pub const NOTES_DIR: &str = "nodecheck-remediation";

/// The shell script of the mode and owner changes, with the current values in comments;
/// `None` when there are none.
pub fn mode_script(modes: &[ModeEdit]) -> Option<String> {
    if modes.is_empty() {
        return None;
    }
    let mut out = String::from(
        "#!/bin/sh\n# Written by `nodecheck remediate`: mode and owner changes, each with the value it replaces.\nset -eu\n",
    );
    for m in modes {
        let _ = writeln!(out, "\n# {}", m.checks.join(", "));
        let _ = writeln!(
            out,
            "# now {:04o} {}:{}",
            m.from.mode, m.from_names.0, m.from_names.1
        );
        let path = shell_quote(&m.path);
        // A link put in its place since the scan is not followed.
        let _ = writeln!(
            out,
            "[ -L {path} ] && {{ echo \"nodecheck: {} is now a symlink; not changed\" >&2; exit 1; }}",
            m.path.replace(['"', '\\', '$', '`'], "?")
        );
        if (m.to.uid, m.to.gid) != (m.from.uid, m.from.gid) {
            let _ = writeln!(out, "chown {}:{} {path}", m.to.uid, m.to.gid);
        }
        if m.to.mode != m.from.mode {
            let _ = writeln!(out, "chmod {:04o} {path}", m.to.mode);
        }
    }
    Some(out)
}

/// `'text'` for sh, with any `'` closed, escaped and reopened.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Every file change as a unified diff, then the mode script as a new file.
pub fn diffs(proposal: &Proposal) -> String {
    let mut out = String::new();
    for file in &proposal.planned.files {
        out.push_str(&super::unified(
            &file.path,
            file.before.as_deref(),
            &file.after,
        ));
    }
    if let Some(script) = mode_script(&proposal.planned.modes) {
        out.push_str(&super::unified(
            &format!("/{NOTES_DIR}/modes.sh"),
            None,
            &script,
        ));
    }
    out
}

/// The proposal as JSON.
pub fn json(proposal: &Proposal) -> serde_json::Value {
    use serde_json::json;
    let score = |r: &nodecheck_report::Report| r.score;
    let areas: serde_json::Map<String, serde_json::Value> = proposal
        .before
        .summary
        .areas
        .iter()
        .map(|(area, before)| {
            let after = proposal.after.summary.areas.get(area).and_then(|a| a.score);
            (
                area.clone(),
                json!({"before": before.score, "after": after}),
            )
        })
        .collect();
    let files: Vec<serde_json::Value> = proposal
        .planned
        .files
        .iter()
        .map(|f| {
            json!({
                "kind": "file",
                "path": f.path,
                "action": if f.before.is_some() { "modify" } else { "create" },
                "mode": format!("{:04o}", f.mode),
                "fixes": f.fixes.iter().map(|(check, setting)| json!({"check": check, "setting": setting})).collect::<Vec<_>>(),
                "takes_effect": f.takes_effect,
                "diff": super::unified(&f.path, f.before.as_deref(), &f.after),
                "json_patch": (!f.json_patch.is_empty()).then_some(&f.json_patch),
                // A snapshot's files are stored without their secrets: its whole files are
                // not written out, only the diff.
                "content": (!proposal.from_snapshot).then(|| f.after.clone()),
            })
        })
        .collect();
    let modes: Vec<serde_json::Value> = proposal
        .planned
        .modes
        .iter()
        .map(|m| {
            json!({
                "kind": "mode",
                "path": m.path,
                "from": {"mode": format!("{:04o}", m.from.mode), "owner": m.from_names.0, "group": m.from_names.1},
                "to": {"mode": format!("{:04o}", m.to.mode), "owner": m.to_names.0, "group": m.to_names.1},
                "fixes": m.checks.iter().map(|check| json!({"check": check})).collect::<Vec<_>>(),
            })
        })
        .collect();
    let moved = |m: &super::Moved| json!({"id": m.id, "severity": m.severity, "before": m.before, "after": m.after, "message": m.message});
    let manual: Vec<serde_json::Value> = proposal
        .manual
        .iter()
        .map(|m| {
            json!({"id": m.id, "severity": m.severity, "message": m.message, "why": m.why, "step": m.step})
        })
        .collect();
    let sshd_test = match &proposal.sshd_test {
        SshdTest::Accepted { binary } => json!({"result": "accepted", "binary": binary}),
        SshdTest::Refused { binary, output } => {
            json!({"result": "refused", "binary": binary, "output": output})
        }
        SshdTest::NotRun(why) => json!({"result": "not_run", "why": why}),
    };
    let value = json!({
        "schema": SCHEMA,
        "node": {"name": proposal.before.node.name, "cluster": proposal.before.node.cluster},
        "profile": proposal.before.profile.name,
        "score": {"before": score(&proposal.before), "after": score(&proposal.after)},
        "areas": areas,
        "changes": files.into_iter().chain(modes).collect::<Vec<_>>(),
        "fixed": proposal.fixed.iter().map(moved).collect::<Vec<_>>(),
        "worsened": proposal.worsened.iter().map(moved).collect::<Vec<_>>(),
        "manual": manual,
        "withdrawn": proposal.withdrawn.iter().map(|w| json!({"check": w.check, "why": w.why})).collect::<Vec<_>>(),
        "sshd_test": sshd_test,
    });
    value
}

/// [`json`] serialized, every terminal-unsafe character in it written as a `\uXXXX` escape (the
/// same JSON, which a terminal shows without obeying).
pub fn json_text(proposal: &Proposal) -> String {
    let text = serde_json::to_string_pretty(&json(proposal)).unwrap_or_default() + "\n";
    crate::text::json_terminal_safe(text)
}

/// What the proposal does, for people: the score before and after, each change with what it
/// fixes, what is left to do by hand, and how to apply it.
pub fn summary(proposal: &Proposal, written_to: Option<&Path>) -> String {
    let safe = |s: &str| crate::text::terminal_safe(s).into_owned();
    let mut out = String::new();
    let score = |s: Option<u8>| s.map_or("—".to_string(), |s| s.to_string());
    let _ = writeln!(
        out,
        "nodecheck remediate · node {} · profile {}",
        safe(&proposal.before.node.name),
        safe(&proposal.before.profile.name)
    );
    let _ = writeln!(
        out,
        "score {} → {} on a copy of this host with the changes below ({} fixed, {} left to do by hand)",
        score(proposal.before.score),
        score(proposal.after.score),
        proposal.fixed.len(),
        proposal.manual.len()
    );
    if !proposal.worsened.is_empty() {
        let _ = writeln!(out, "\nWORSE on the copy (not expected: please report):");
        for m in &proposal.worsened {
            let _ = writeln!(
                out,
                "  {} {} → {}",
                m.id,
                m.before.as_str(),
                m.after.as_str()
            );
        }
    }
    if proposal.planned.is_empty() {
        let _ = writeln!(out, "\nNo change to propose.");
    } else {
        let _ = writeln!(out, "\nChanges:");
    }
    for file in &proposal.planned.files {
        let action = if file.before.is_some() {
            "edit"
        } else {
            "add "
        };
        let _ = writeln!(out, "  {action} {}", safe(&file.path));
        for (check, setting) in &file.fixes {
            let _ = writeln!(out, "         {} ({})", safe(setting), check);
        }
        if !file.takes_effect.is_empty() {
            let _ = writeln!(out, "         then {}", file.takes_effect);
        }
    }
    for m in &proposal.planned.modes {
        let _ = writeln!(
            out,
            "  mode {} {:04o} {}:{} → {:04o} {}:{} ({})",
            safe(&m.path),
            m.from.mode,
            safe(&m.from_names.0),
            safe(&m.from_names.1),
            m.to.mode,
            safe(&m.to_names.0),
            safe(&m.to_names.1),
            m.checks.join(", ")
        );
    }
    match &proposal.sshd_test {
        SshdTest::Accepted { binary } => {
            let _ = writeln!(out, "  {binary} -t accepts the proposed sshd configuration");
        }
        SshdTest::Refused { binary, output } => {
            let _ = writeln!(
                out,
                "  {binary} -t refused the proposed sshd configuration ({}); its changes were withdrawn",
                safe(output)
            );
        }
        SshdTest::NotRun(_) => {}
    }
    if !proposal.manual.is_empty() {
        let _ = writeln!(out, "\nLeft to do by hand:");
        for m in &proposal.manual {
            write_manual(&mut out, m);
        }
    }
    let _ = writeln!(out);
    match written_to {
        Some(dir) if !proposal.planned.is_empty() => {
            // `fix/` said as `fix`, so the paths below read `fix/etc/…`.
            let dir = dir.components().as_path().display();
            if proposal.from_snapshot {
                let _ = writeln!(
                    out,
                    "Written to {dir}/{NOTES_DIR}/ (a snapshot's files are stored without their secrets, so only the diffs and the mode script): apply changes.diff with `patch -p1 -d /` on the node."
                );
            } else {
                let _ = writeln!(
                    out,
                    "Written to {dir}/ in the layout of the host, with {dir}/{NOTES_DIR}/ (diffs, mode script, README). To apply: review, copy the files over / (`cp -a {dir}/etc/. /etc/` …), run {dir}/{NOTES_DIR}/modes.sh if present, then reload what each change names."
                );
            }
        }
        Some(_) => {}
        None if !proposal.planned.is_empty() => {
            let _ = writeln!(
                out,
                "Nothing was written. Review with `nodecheck remediate --format diff`; write the files with `nodecheck remediate --output DIR`."
            );
        }
        None => {}
    }
    out
}

fn write_manual(out: &mut String, m: &Manual) {
    let safe = |s: &str| crate::text::terminal_safe(s).into_owned();
    let status = match m.status {
        Status::Error => " (error)",
        _ => "",
    };
    let _ = writeln!(out, "  {:<8} {}{status}", m.severity.to_string(), m.id);
    if let Some(why) = &m.why {
        let _ = writeln!(out, "           not proposed: {}", safe(why));
    }
    let _ = writeln!(out, "           {}", safe(&m.step));
}

/// Why `--output DIR` could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(
        "{0} exists and is not empty: give a new directory, so that it holds only this proposal"
    )]
    NotEmpty(String),
    #[error("{path}: {message}")]
    Io { path: String, message: String },
    #[error(
        "{0}: not a path nodecheck writes (it leads out of the output directory, or holds control characters)"
    )]
    BadPath(String),
    #[error("not writing the proposal: {0}")]
    Unsafe(String),
}

/// Writes the proposal under `dir`: each changed file's new content at its host path (not
/// from a snapshot), and `NOTES_DIR` with the diffs, the mode script and a README.
/// Directories are created with the mode and owner of the host's, so copying `dir` over `/`
/// leaves them as they are.
pub fn write_dir(
    proposal: &Proposal,
    host: &crate::host::Host,
    dir: &Path,
) -> Result<(), WriteError> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let io = |path: &Path, e: std::io::Error| WriteError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    // Every path is checked before anything is written, so a refusal leaves nothing behind.
    let files: Vec<(std::path::PathBuf, &super::FileEdit)> = if proposal.from_snapshot {
        Vec::new()
    } else {
        proposal
            .planned
            .files
            .iter()
            .map(|f| relative(&f.path).map(|rel| (rel, f)))
            .collect::<Result<_, _>>()?
    };
    private_dir(dir)?;
    // Files are created, never opened through a link (`create_new` refuses any existing
    // name, a symlink too), and their mode and owner set on the open file.
    let write = |path: &Path, data: &[u8], mode: u32, owner: Option<(u32, u32)>| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(nix::libc::O_NOFOLLOW)
            .open(path)
            .map_err(|e| io(path, e))?;
        std::io::Write::write_all(&mut file, data).map_err(|e| io(path, e))?;
        if let Some((uid, gid)) = owner {
            // Owners only matter (and can only be set) when nodecheck runs as root.
            let _ = std::os::unix::fs::fchown(&file, Some(uid), Some(gid));
        }
        // After the owner: chown clears setuid bits, and the umask took bits the host's file has.
        file.set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(|e| io(path, e))
    };
    for (rel, file) in &files {
        make_parents(host, dir, rel)?;
        write(
            &dir.join(rel),
            file.after.as_bytes(),
            file.mode,
            Some((file.uid, file.gid)),
        )?;
    }
    let notes = dir.join(NOTES_DIR);
    std::fs::create_dir(&notes).map_err(|e| io(&notes, e))?;
    write(
        &notes.join("changes.diff"),
        diffs(proposal).as_bytes(),
        0o600,
        None,
    )?;
    if let Some(script) = mode_script(&proposal.planned.modes) {
        write(&notes.join("modes.sh"), script.as_bytes(), 0o700, None)?;
    }
    if let Some(patches) = manifest_patches(proposal) {
        write(
            &notes.join("manifest-patches.json"),
            patches.as_bytes(),
            0o600,
            None,
        )?;
    }
    write(
        &notes.join("proposal.json"),
        json_text(proposal).as_bytes(),
        0o600,
        None,
    )?;
    write(
        &notes.join("README"),
        readme(proposal, dir).as_bytes(),
        0o600,
        None,
    )?;
    Ok(())
}

/// Makes `dir` the proposal's own: created 0700 when new; when it exists, empty, a real
/// directory (not a link) owned by this user, then made 0700. Its parent must be writable by
/// nobody else (or sticky, as /tmp is), so no other user can swap the directory for a link
/// while it is written. With it private, nothing inside can be reached by anyone else, whatever
/// the modes and owners its subdirectories copy from the host.
fn private_dir(dir: &Path) -> Result<(), WriteError> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    let io = |path: &Path, e: std::io::Error| WriteError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    let me = nix::unistd::geteuid().as_raw();
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let parent_meta = std::fs::metadata(&parent).map_err(|e| io(&parent, e))?;
    let others_write = parent_meta.mode() & 0o022 != 0 && parent_meta.mode() & 0o1000 == 0;
    if (parent_meta.uid() != me && parent_meta.uid() != 0) || others_write {
        return Err(WriteError::Unsafe(format!(
            "{}: another user can write it, and so swap {} for a link while nodecheck writes",
            parent.display(),
            dir.display()
        )));
    }
    match std::fs::symlink_metadata(dir) {
        Ok(meta) => {
            if !meta.is_dir() {
                return Err(WriteError::Unsafe(format!(
                    "{} is not a directory (a link?)",
                    dir.display()
                )));
            }
            if meta.uid() != me {
                return Err(WriteError::Unsafe(format!(
                    "{} belongs to another user",
                    dir.display()
                )));
            }
            if std::fs::read_dir(dir)
                .map_err(|e| io(dir, e))?
                .next()
                .is_some()
            {
                return Err(WriteError::NotEmpty(dir.display().to_string()));
            }
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .map_err(|e| io(dir, e))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::DirBuilder::new()
            .mode(0o700)
            .create(dir)
            .map_err(|e| io(dir, e)),
        Err(e) => Err(io(dir, e)),
    }
}

/// `etc/ssh/x` for `/etc/ssh/x`, refusing anything that could lead out of the directory.
fn relative(path: &str) -> Result<std::path::PathBuf, WriteError> {
    let rel = path.trim_start_matches('/');
    let ok = path.starts_with('/')
        && !rel.is_empty()
        && rel.split('/').all(|c| {
            !c.is_empty()
                && c != "."
                && c != ".."
                && !c.chars().any(crate::text::is_terminal_unsafe)
        })
        && !rel.starts_with(NOTES_DIR);
    if !ok {
        return Err(WriteError::BadPath(path.to_string()));
    }
    Ok(std::path::PathBuf::from(rel))
}

/// Creates the directories above `rel` under `dir`, each with the host's mode and owner for
/// that directory (0755 root:root where the host has none).
fn make_parents(host: &crate::host::Host, dir: &Path, rel: &Path) -> Result<(), WriteError> {
    use std::os::unix::fs::PermissionsExt;
    let mut host_path = String::new();
    let mut here = dir.to_path_buf();
    let components: Vec<_> = rel.components().collect();
    for component in &components[..components.len().saturating_sub(1)] {
        let name = component.as_os_str().to_string_lossy();
        host_path.push('/');
        host_path.push_str(&name);
        here.push(name.as_ref());
        if std::fs::symlink_metadata(&here).is_ok_and(|m| m.is_dir()) {
            continue;
        }
        std::fs::create_dir(&here).map_err(|e| WriteError::Io {
            path: here.display().to_string(),
            message: e.to_string(),
        })?;
        // Inside the private directory no one else can reach it, so the host's owner can be
        // copied too: `cp -a` over / then leaves the host's directories as they are.
        let (mode, uid, gid) = match host.stat(&host_path) {
            Ok(m) if m.kind == crate::host::EntryKind::Dir => (m.mode, m.uid, m.gid),
            _ => (0o755, 0, 0),
        };
        let _ = std::os::unix::fs::lchown(&here, Some(uid), Some(gid));
        let _ = std::fs::set_permissions(&here, std::fs::Permissions::from_mode(mode));
    }
    Ok(())
}

/// The static pod manifests' changes as RFC 6902 JSON patches, by manifest path.
fn manifest_patches(proposal: &Proposal) -> Option<String> {
    let patches: serde_json::Map<String, serde_json::Value> = proposal
        .planned
        .files
        .iter()
        .filter(|f| !f.json_patch.is_empty())
        .map(|f| {
            (
                f.path.clone(),
                serde_json::Value::from(f.json_patch.clone()),
            )
        })
        .collect();
    if patches.is_empty() {
        return None;
    }
    let mut text = serde_json::to_string_pretty(&patches).ok()?;
    text.push('\n');
    Some(text)
}

/// The README of `NOTES_DIR`: what each change fixes and how to apply it.
fn readme(proposal: &Proposal, dir: &Path) -> String {
    let mut out = String::from("nodecheck remediate: a proposal, not applied\n\n");
    out.push_str(&summary(proposal, Some(dir)));
    out.push_str("\nFiles here:\n  changes.diff   every change as a unified diff (`patch -p1 -d /` applies it)\n");
    if !proposal.planned.modes.is_empty() {
        out.push_str(
            "  modes.sh       the chmod and chown lines, each with the value it replaces\n",
        );
    }
    if manifest_patches(proposal).is_some() {
        out.push_str("  manifest-patches.json  the static pod manifests' changes as JSON patches (RFC 6902) of each pod\n");
    }
    out.push_str(
        "  proposal.json  the proposal as `nodecheck remediate --format json` prints it\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("nodecheck-render-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch");
        dir
    }

    /// Another user who can write the output directory's parent could swap the directory for
    /// a link while root writes into it: refused before anything is written.
    #[test]
    fn an_output_directory_another_user_could_swap_is_refused() {
        let base = scratch("swap");
        let shared = base.join("shared");
        std::fs::create_dir(&shared).expect("mkdir");
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        let refused = private_dir(&shared.join("fix")).expect_err("parent writable by all");
        assert!(refused.to_string().contains("another user"), "{refused}");
        assert!(!shared.join("fix").exists(), "nothing is created");

        // Sticky, as /tmp: others cannot rename what they do not own.
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).expect("chmod");
        private_dir(&shared.join("fix")).expect("a sticky parent is fine");
        let mode = std::fs::metadata(shared.join("fix"))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700, "the directory is private");

        // An existing directory of another user, or a link, is not written into.
        let theirs = base.join("theirs");
        std::fs::create_dir(&theirs).expect("mkdir");
        std::os::unix::fs::chown(&theirs, Some(1000), Some(1000)).expect("chown");
        assert!(private_dir(&theirs).is_err());
        std::os::unix::fs::symlink("/etc", base.join("link")).expect("symlink");
        assert!(private_dir(&base.join("link")).is_err());
        let _ = std::fs::remove_dir_all(&base);
    }

    #[test]
    fn paths_that_lead_out_or_hold_control_characters_are_refused() {
        for bad in [
            "etc/x",
            "/",
            "/etc/../x",
            "/etc/./x",
            "/etc//x",
            "/etc/\u{1b}[2J",
            "/nodecheck-remediation/x",
        ] {
            assert!(relative(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            relative("/etc/ssh/sshd_config.d/00-nodecheck.conf").expect("fine"),
            std::path::PathBuf::from("etc/ssh/sshd_config.d/00-nodecheck.conf")
        );
    }

    #[test]
    fn the_mode_script_does_not_follow_a_link_planted_since() {
        let script = mode_script(&[crate::remediate::ModeEdit {
            path: "/etc/it's".into(),
            from: crate::remediate::Ownership {
                mode: 0o644,
                uid: 0,
                gid: 0,
            },
            to: crate::remediate::Ownership {
                mode: 0o600,
                uid: 0,
                gid: 0,
            },
            from_names: ("root".into(), "root".into()),
            to_names: ("root".into(), "root".into()),
            checks: vec!["sshd.config-permissions".into()],
        }])
        .expect("script");
        assert!(script.contains("[ -L '/etc/it'\\''s' ] && {"), "{script}");
        assert!(script.contains("chmod 0600 '/etc/it'\\''s'"), "{script}");
    }
}
