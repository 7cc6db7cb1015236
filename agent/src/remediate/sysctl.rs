//! Placing kernel parameters: one `sysctl.d` file that systemd-sysctl reads last, so its
//! explicit assignments win at every boot (`facts::kernel` computes the next boot the same
//! way), and the running values as `sysctl --system` leaves them, laid over `/proc/sys` for
//! the proof.

use super::{Edits, ProcEdit, Unplaced, note_fix, unplace_all};
use crate::checks::Remedy;
use crate::facts::kernel::{SYSCTL_DIRS, key_path};
use crate::host::{Host, fnmatch};

/// The names tried for the file, in order: the first that sorts after every sysctl.d file.
const FILE_NAMES: &[&str] = &["99-zz-nodecheck.conf", "zz-nodecheck.conf"];

/// What makes the change take effect now (the file keeps it at the next boot).
/// (`systemctl restart systemd-sysctl` applies them in systemd's order, as the next boot does;
/// procps' `sysctl --system` would apply /etc/sysctl.conf after them.)
const APPLY: &str =
    "run `systemctl restart systemd-sysctl` (the file keeps the values at every boot)";

/// Places the sysctl remedies.
pub(super) fn place(
    edits: &mut Edits<'_>,
    remedies: &[&super::Tagged],
    unplaced: &mut Vec<Unplaced>,
    proc: &mut Vec<ProcEdit>,
) {
    let values: Vec<(&'static str, &str, &str)> = remedies
        .iter()
        .filter_map(|t| match &t.remedy {
            Remedy::Sysctl { key, value } => Some((t.check, key.as_str(), value.as_str())),
            _ => None,
        })
        .collect();
    if values.is_empty() {
        return;
    }
    let settings = || {
        values
            .iter()
            .map(|(check, key, value)| (*check, format!("{key} = {value}")))
            .collect::<Vec<_>>()
    };
    let host = edits.host();
    let last = SYSCTL_DIRS
        .iter()
        .filter_map(|dir| host.list_dir(dir).ok())
        .flatten()
        .filter(|n| n.ends_with(".conf"))
        .max();
    let Some(name) = FILE_NAMES
        .iter()
        .find(|n| last.as_deref().is_none_or(|l| n.as_bytes() >= l.as_bytes()))
    else {
        let why = format!(
            "a sysctl.d file ({}) sorts after every name nodecheck would give its own",
            last.clone().unwrap_or_default()
        );
        unplace_all(unplaced, settings(), &why);
        return;
    };
    let path = format!("/etc/sysctl.d/{name}");
    let mut lines: Vec<String> = Vec::new();
    let existing = match edits.has(&path) {
        Ok(existing) => existing,
        Err(why) => {
            unplace_all(unplaced, settings(), &why);
            return;
        }
    };
    if existing {
        match edits.existing(&path) {
            Ok(file) => lines = file.after.lines().map(str::to_string).collect(),
            Err(why) => {
                unplace_all(unplaced, settings(), &why);
                return;
            }
        }
    } else {
        lines.push(
            "# Written by `nodecheck remediate`: read after every other sysctl.d file, so these values win at every boot.".into(),
        );
    }
    let mut last_check = "";
    for (check, key, value) in &values {
        let assignment = format!("{key} = {value}");
        let at = lines.iter().position(|l| {
            l.split_once('=')
                .is_some_and(|(k, _)| k.trim().trim_start_matches('-') == *key)
        });
        match at {
            Some(i) => lines[i] = assignment,
            None => {
                if *check != last_check {
                    lines.push(format!("# {check}"));
                    last_check = check;
                }
                lines.push(assignment);
            }
        }
        running(host, key, value, proc);
    }
    if let Ok(file) = edits.added(&path, 0o644) {
        file.after = lines.join("\n") + "\n";
        for (check, key, value) in &values {
            note_fix(file, check, &format!("{key} = {value}"));
        }
        file.takes_effect = APPLY.into();
    }
}

/// The running value(s) `sysctl --system` gives `key` (a glob sets every interface there is).
fn running(host: &Host, key: &str, value: &str, proc: &mut Vec<ProcEdit>) {
    let path = key_path(key);
    let paths: Vec<String> = match path.split_once("/*/") {
        Some((dir, param)) => host
            .proc_list(&format!("sys/{dir}"))
            .unwrap_or_default()
            .into_iter()
            .filter(|name| fnmatch("*", name))
            .map(|name| format!("{dir}/{name}/{param}"))
            .collect(),
        None => vec![path],
    };
    for path in paths {
        let rel = format!("sys/{path}");
        if host.proc_read(&rel, crate::host::PROC_CAP).is_err() {
            continue;
        }
        proc.retain(|p| p.path != rel);
        proc.push(ProcEdit {
            path: rel,
            data: format!("{value}\n").into_bytes(),
            why: "the running value once `sysctl --system` ran".into(),
        });
    }
}
