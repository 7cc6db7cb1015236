//! Placing control-plane flags (kube-apiserver, etcd, kube-controller-manager, kube-scheduler)
//! where the component is started from.
//!
//! - **A static pod manifest** (kubeadm, rke2): the item of the first container's `command` or
//!   `args` that sets the flag is rewritten on its line; a flag not there yet is added after the
//!   last item. A repeated list flag (pflag appends every occurrence) is folded into its last
//!   item. The result is read back with the scan's own manifest reader and must give exactly the
//!   flags intended, every other one unchanged; the same change is also given as an RFC 6902
//!   JSON patch of the pod. The kubelet restarts a static pod when its manifest changes.
//! - **A systemd unit** (the process's cgroup names a `.service` and no manifest runs it): a
//!   drop-in that replaces `ExecStart` with the command line the process runs now, with the
//!   flags changed, read after every other drop-in of the unit.
//! - Otherwise (inside k3s, a flag set by a variable or an etcd `--config-file`, a process whose
//!   command line differs from its manifest) the change is left to the operator, with why.
//!
//! The proof sees the component as it will run once restarted: its `/proc/<pid>/cmdline` with
//! the same flags changed.

use super::{Edits, ProcEdit, Tagged, Unplaced, note_fix, unplace_all};
use crate::checks::{FlagChange, Remedy};
use crate::facts::Facts;
use crate::facts::control_plane::{self, ComponentArgs};
use crate::facts::process::Process;
use crate::parse::flags::{self, FlagSyntax};
use crate::parse::yaml::{self, Node};
use std::collections::BTreeMap;

/// What a component's settings were read from, as far as changing them goes.
struct Started<'a> {
    name: &'static str,
    args: &'a ComponentArgs,
    syntax: &'a FlagSyntax,
    /// Flags whose every occurrence adds to the list (pflag string slices).
    slices: &'a [&'a str],
    manifest: Option<&'a str>,
    process: Option<&'a Process>,
    /// Why none of its flags can be changed here.
    refused: Option<String>,
}

fn started<'a>(facts: &'a Facts, name: &str) -> Option<Started<'a>> {
    let process_of = |args: &ComponentArgs| {
        args.pid
            .and_then(|pid| facts.processes.iter().find(|p| p.pid == pid))
    };
    let k3s = |key: &str| {
        format!(
            "{name} runs inside k3s: add it as `{key}` in /etc/rancher/k3s/config.yaml and restart k3s"
        )
    };
    match name {
        "kube-apiserver" => facts.apiserver.as_ref().map(|a| Started {
            name: "kube-apiserver",
            args: &a.args,
            syntax: &control_plane::APISERVER_SYNTAX,
            slices: control_plane::APISERVER_SLICE_FLAGS,
            manifest: a.manifest_file.as_ref().map(|f| f.path.as_str()),
            process: process_of(&a.args),
            refused: None,
        }),
        "etcd" => facts.etcd.as_ref().map(|e| Started {
            name: "etcd",
            args: &e.args,
            syntax: &control_plane::ETCD_SYNTAX,
            slices: &[],
            manifest: e.manifest_file.as_ref().map(|f| f.path.as_str()),
            process: process_of(&e.args),
            refused: e.config_file.as_ref().map(|path| {
                format!(
                    "etcd reads --config-file {path}, which replaces its flags and variables: set the key there"
                )
            }),
        }),
        "kube-controller-manager" | "kube-scheduler" => {
            let (facts_of, kind) = if name == "kube-scheduler" {
                (&facts.scheduler, &crate::facts::components::SCHEDULER)
            } else {
                (
                    &facts.controller_manager,
                    &crate::facts::components::CONTROLLER_MANAGER,
                )
            };
            facts_of.as_ref().map(|c| Started {
                name: kind.name,
                args: &c.args,
                syntax: &kind.syntax,
                slices: &[],
                manifest: c.manifest_file.as_ref().map(|f| f.path.as_str()),
                process: process_of(&c.args),
                refused: if c.embedded_in.is_some() {
                    Some(k3s(kind.k3s_arg_key))
                } else {
                    c.config.as_ref().map(|config| {
                        format!(
                            "{} reads the configuration file {}: set it there",
                            kind.name, config.path
                        )
                    })
                },
            })
        }
        _ => None,
    }
    .map(|mut s| {
        // A process that is not the component's own program (k3s-server) runs it in-process.
        if s.refused.is_none()
            && s.manifest.is_none()
            && s.process.is_some_and(|p| p.program() != s.name && p.comm != s.name)
        {
            s.refused = Some(k3s(match s.name {
                "kube-apiserver" => "kube-apiserver-arg",
                "etcd" => "etcd-arg",
                other => other,
            }));
        }
        s
    })
}

/// Places the control-plane remedies, one component at a time.
pub(super) fn place(
    edits: &mut Edits<'_>,
    facts: &Facts,
    remedies: &[&Tagged],
    unplaced: &mut Vec<Unplaced>,
    proc: &mut Vec<ProcEdit>,
) {
    let mut by_component: BTreeMap<&'static str, Vec<(&'static str, &str, &FlagChange)>> =
        BTreeMap::new();
    for tagged in remedies {
        if let Remedy::ComponentFlag {
            component,
            flag,
            change,
        } = &tagged.remedy
        {
            by_component
                .entry(component)
                .or_default()
                .push((tagged.check, flag.as_str(), change));
        }
    }
    // A unit that runs two components (a drop-in replaces the one ExecStart) is refused.
    let mut units: Vec<String> = Vec::new();
    for (name, changes) in by_component {
        let settings = || {
            changes
                .iter()
                .map(|(check, flag, change)| (*check, format!("{name} --{flag}{change}")))
                .collect::<Vec<_>>()
        };
        let Some(component) = started(facts, name) else {
            unplace_all(unplaced, settings(), &format!("no {name} runs here"));
            continue;
        };
        if let Err(why) = place_component(edits, &component, &changes, proc, &mut units) {
            unplace_all(unplaced, settings(), &why);
        }
    }
}

fn place_component(
    edits: &mut Edits<'_>,
    component: &Started<'_>,
    changes: &[(&'static str, &str, &FlagChange)],
    proc: &mut Vec<ProcEdit>,
    units: &mut Vec<String>,
) -> Result<(), String> {
    if let Some(why) = &component.refused {
        return Err(why.clone());
    }
    // Only a flag the component was given on its command line can be changed where its
    // command line is made; a variable or a config file is the operator's to change.
    for (_, flag, _) in changes {
        for (index, f) in component.args.flags.flags.iter().enumerate() {
            if f.name != *flag {
                continue;
            }
            let source = &component.args.sources[index];
            let from_command_line = match source {
                nodecheck_report::Source::Flag { pid, .. } => Some(*pid) == component.args.pid,
                nodecheck_report::Source::File { path, .. } => {
                    Some(path.as_str()) == component.manifest
                }
                _ => false,
            };
            if !from_command_line {
                return Err(format!("--{flag} is set by {source}: change it there"));
            }
        }
    }
    let wanted = new_values(component, changes);
    let (path, takes_effect) = match component.manifest {
        Some(manifest) => {
            patch_manifest(edits, component, manifest, &wanted)?;
            (
                edits.place_of(manifest),
                format!(
                    "the kubelet restarts the {} static pod when its manifest changes",
                    component.name
                ),
            )
        }
        None => {
            let process = component.process.ok_or_else(|| {
                format!("{} has neither a process nor a manifest", component.name)
            })?;
            systemd_drop_in(edits, component, process, &wanted, units)?
        }
    };
    let file = edits.existing(&path)?;
    for (check, flag, change) in changes {
        note_fix(file, check, &format!("{} --{flag}{change}", component.name));
    }
    file.takes_effect = takes_effect;
    if let Some(process) = component.process {
        let mut argv = process.argv.clone();
        rewrite_argv(&mut argv, component.syntax, &wanted);
        proc.push(ProcEdit {
            path: format!("{}/cmdline", process.pid),
            data: argv.iter().flat_map(|a| a.bytes().chain([0])).collect(),
            why: format!("{}'s command line once restarted", component.name),
        });
    }
    Ok(())
}

/// The value of every flag the changes touch once they are made (`None`: the flag goes), in
/// the order first named.
fn new_values(
    component: &Started<'_>,
    changes: &[(&'static str, &str, &FlagChange)],
) -> Vec<(String, Option<String>)> {
    let mut out: Vec<(String, Option<String>)> = Vec::new();
    for (_, flag, change) in changes {
        let at = match out.iter().position(|(f, _)| f == flag) {
            Some(at) => at,
            None => {
                out.push((
                    flag.to_string(),
                    effective(component.args, component.slices, flag),
                ));
                out.len() - 1
            }
        };
        let value = &mut out[at].1;
        let mut items: Vec<String> = value
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(str::to_string)
            .collect();
        match change {
            FlagChange::Set(v) => *value = Some(v.clone()),
            FlagChange::AddTo(item) => {
                if !items.contains(item) {
                    items.push(item.clone());
                }
                *value = Some(items.join(","));
            }
            FlagChange::RemoveFrom(item) => {
                items.retain(|x| x != item);
                *value = (!items.is_empty()).then(|| items.join(","));
            }
        }
    }
    out
}

/// A flag's effective value in `args`: the last occurrence, or every occurrence for a list
/// flag (folded as the scan folds them, [`control_plane::merge_slices`]).
fn effective(args: &ComponentArgs, slices: &[&str], flag: &str) -> Option<String> {
    control_plane::merge_slices(args.clone(), slices)
        .value(flag)
        .map(|(value, _)| value.to_string())
}

/// `argv` as the component runs with `wanted`: every occurrence of a changed flag removed and
/// the new value appended (the last occurrence wins, and a list holds one occurrence).
fn rewrite_argv(argv: &mut Vec<String>, syntax: &FlagSyntax, wanted: &[(String, Option<String>)]) {
    for (flag, value) in wanted {
        let parsed = flags::parse(&argv.iter().skip(1).cloned().collect::<Vec<_>>(), syntax);
        for occurrence in parsed.flags.iter().filter(|f| &f.name == flag) {
            super::kubelet::remove_tokens(argv, &occurrence.spelled);
        }
        if let Some(value) = value {
            argv.push(format!("--{flag}={value}"));
        }
    }
}

/// One item of the first container's `command` (after the program) or `args`.
struct Item {
    /// `command` or `args`.
    list: &'static str,
    index: usize,
    line: u32,
    word: String,
}

/// The items of a manifest's first container, with the line each is on.
fn items(text: &str, path: &str) -> Result<Vec<Item>, String> {
    let doc = yaml::parse(text).map_err(|e| format!("{path}: malformed YAML at {e}"))?;
    let container = doc
        .path("spec.containers")
        .and_then(Node::as_seq)
        .and_then(|c| c.first())
        .ok_or_else(|| format!("{path}: the Pod has no containers"))?;
    let mut out: Vec<Item> = Vec::new();
    for list in ["command", "args"] {
        let Some(seq) = container.get(list).and_then(Node::as_seq) else {
            continue;
        };
        for (index, node) in seq.iter().enumerate() {
            if list == "command" && index == 0 {
                continue;
            }
            // Each item on a line of its own, in order, inside the container: an alias of an
            // anchor elsewhere (an init container's command) would edit that other line.
            let after = out.last().map_or(container.line, |last| last.line);
            if node.line <= after {
                return Err(format!(
                    "{path}:{}: the command is not one item per line, in order: edit it by hand",
                    node.line
                ));
            }
            if let Some(word) = node.as_str() {
                out.push(Item {
                    list,
                    index,
                    line: node.line,
                    word: word.to_string(),
                });
            }
        }
    }
    Ok(out)
}

/// An item as a YAML scalar: plain when nothing in it means anything to YAML, else quoted.
fn yaml_scalar(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@+".contains(c))
        && !word.contains(": ")
        && !word.ends_with(':');
    if plain {
        word.to_string()
    } else {
        serde_json::Value::String(word.to_string()).to_string()
    }
}

/// Rewrites the manifest's items so that the command line holds `wanted`.
fn patch_manifest(
    edits: &mut Edits<'_>,
    component: &Started<'_>,
    manifest: &str,
    wanted: &[(String, Option<String>)],
) -> Result<(), String> {
    let file = edits.existing(manifest)?;
    let path = file.path.clone();
    let text = file.after.clone();
    let items = items(&text, &path)?;
    // kubeadm passes the manifest's items as they are: a process that runs anything else was
    // not started from this manifest (or not restarted since it changed).
    if let Some(process) = component.process {
        let words: Vec<&str> = items.iter().map(|i| i.word.as_str()).collect();
        let running: Vec<&str> = process.argv.iter().skip(1).map(String::as_str).collect();
        if words != running {
            return Err(format!(
                "{} (pid {}) does not run the command line of {path} (changed since it started?): restart it from the manifest first",
                component.name, process.pid
            ));
        }
    }
    // The scan and this edit read one flag per item; the component's flag library reads the
    // items together. A flag and its value in two items (`- --authorization-mode`,
    // `- AlwaysAllow`) reads differently, and is left to the operator.
    let words: Vec<String> = items.iter().map(|i| i.word.clone()).collect();
    let together: Vec<(String, String)> = flags::parse(&words, component.syntax)
        .flags
        .into_iter()
        .map(|f| (f.name, f.value))
        .collect();
    let one_by_one: Vec<(String, String)> = words
        .iter()
        .flat_map(|w| flags::parse(std::slice::from_ref(w), component.syntax).flags)
        .map(|f| (f.name, f.value))
        .collect();
    if together != one_by_one {
        return Err(format!(
            "{path}: the command passes a flag and its value as separate items: edit it by hand"
        ));
    }
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
    let line_of = |lines: &[String], item: &Item| -> Result<usize, String> {
        let at = item.line as usize - 1;
        let line = lines.get(at).map(String::as_str).unwrap_or_default();
        let unique = items.iter().filter(|i| i.line == item.line).count() == 1;
        if !unique || !line.trim_start().starts_with("- ") {
            return Err(format!(
                "{path}:{}: the command is not one item per line: edit it by hand",
                item.line
            ));
        }
        Ok(at)
    };
    let set_line = |lines: &mut Vec<String>, at: usize, word: &str| {
        let line = &lines[at];
        let dash = line.find("- ").unwrap_or(0);
        let ending = if line.ends_with('\n') { "\n" } else { "" };
        lines[at] = format!("{}{}{ending}", &line[..dash + 2], yaml_scalar(word));
    };
    let mut deleted: Vec<usize> = Vec::new();
    let mut appended: Vec<String> = Vec::new();
    let mut patch: Vec<serde_json::Value> = Vec::new();
    let mut removals: Vec<(&'static str, usize)> = Vec::new();
    let pointer = |list: &str, index: &str| format!("/spec/containers/0/{list}/{index}");
    for (flag, value) in wanted {
        let occurrences: Vec<&Item> = items
            .iter()
            .filter(|i| {
                flags::parse(std::slice::from_ref(&i.word), component.syntax)
                    .flags
                    .iter()
                    .any(|f| &f.name == flag)
            })
            .collect();
        let new_word = value.as_ref().map(|v| format!("--{flag}={v}"));
        let is_list = component.slices.contains(&flag.as_str());
        match (occurrences.split_last(), &new_word) {
            (Some((last, earlier)), Some(word)) => {
                let at = line_of(&lines, last)?;
                set_line(&mut lines, at, word);
                patch.push(serde_json::json!({
                    "op": "replace",
                    "path": pointer(last.list, &last.index.to_string()),
                    "value": word,
                }));
                if is_list {
                    for item in earlier {
                        deleted.push(line_of(&lines, item)?);
                        removals.push((item.list, item.index));
                    }
                }
            }
            (Some(_), None) => {
                for item in &occurrences {
                    deleted.push(line_of(&lines, item)?);
                    removals.push((item.list, item.index));
                }
            }
            (None, Some(word)) => appended.push(word.clone()),
            (None, None) => {}
        }
    }
    if !appended.is_empty() {
        let last = items
            .last()
            .ok_or_else(|| format!("{path}: the container's command is empty"))?;
        let at = line_of(&lines, last)?;
        let line = &lines[at];
        let prefix = line[..line.find("- ").unwrap_or(0) + 2].to_string();
        let mut block = String::new();
        if !line.ends_with('\n') {
            block.push('\n');
        }
        for word in &appended {
            block.push_str(&format!("{prefix}{}\n", yaml_scalar(word)));
            patch.push(serde_json::json!({
                "op": "add",
                "path": pointer(last.list, "-"),
                "value": word,
            }));
        }
        lines[at].push_str(&block);
    }
    // Removals last, highest index first, so that each pointer names the item it meant.
    removals.sort_by_key(|r| std::cmp::Reverse(r.1));
    for (list, index) in removals {
        patch.push(serde_json::json!({"op": "remove", "path": pointer(list, &index.to_string())}));
    }
    for at in deleted {
        lines[at].clear();
    }
    let after: String = lines.concat();
    check_manifest(component, &text, &after, &path, wanted)?;
    let file = edits.existing(manifest)?;
    file.after = after;
    file.json_patch.extend(patch);
    Ok(())
}

/// The patched manifest, read back as the scan reads it, must give the flags wanted and every
/// other flag as it was.
fn check_manifest(
    component: &Started<'_>,
    before: &str,
    after: &str,
    path: &str,
    wanted: &[(String, Option<String>)],
) -> Result<(), String> {
    let read = |text: &str| control_plane::manifest_text_args(text, path, component.syntax);
    let untouched = |args: &ComponentArgs| -> Vec<(String, String)> {
        args.flags
            .flags
            .iter()
            .filter(|f| !wanted.iter().any(|(w, _)| *w == f.name))
            .map(|f| (f.name.clone(), f.value.clone()))
            .collect()
    };
    let (old, new) = (read(before)?, read(after)?);
    let ok = untouched(&old) == untouched(&new)
        && wanted.iter().all(|(flag, value)| {
            effective(&new, component.slices, flag).as_deref() == value.as_deref()
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{path}: the edited manifest would not read back as intended: edit it by hand"
        ))
    }
}

/// systemd's drop-in directories, in the order it reads units (`systemd.unit(5)`).
const UNIT_DIRS: &[&str] = &[
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/local/lib/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
];

/// The system `.service` a process runs in, from its cgroup path: only a unit of the system
/// manager (`/system.slice/<name>.service`), never one of a user's manager, whose units any
/// user names as they like.
fn service_of(process: &Process) -> Option<String> {
    process.cgroups.iter().find_map(|line| {
        let path = line.splitn(3, ':').nth(2)?;
        let unit = path.strip_prefix("/system.slice/")?;
        (unit.ends_with(".service") && !unit.contains('/') && !unit.contains('@'))
            .then(|| unit.to_string())
    })
}

/// A word as systemd's `ExecStart=` reads it: quoted when needed, `$` and `%` doubled so
/// that nothing is expanded.
fn systemd_word(word: &str) -> String {
    let escaped = word.replace('%', "%%").replace('$', "$$");
    if !escaped.is_empty()
        && !escaped
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '"' | '\'' | '\\' | ';' | '#'))
    {
        return escaped;
    }
    format!("\"{}\"", escaped.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A drop-in of the unit that runs `process`, replacing its `ExecStart` with the command line
/// it runs with `wanted`; returns its path and what makes it take effect.
fn systemd_drop_in(
    edits: &mut Edits<'_>,
    component: &Started<'_>,
    process: &Process,
    wanted: &[(String, Option<String>)],
    units: &mut Vec<String>,
) -> Result<(String, String), String> {
    // The drop-in runs this command line as root: it must be root's own process already.
    if process.uids != [0; 4] {
        return Err(format!(
            "{} (pid {}) does not run as root: change its flags where it is started",
            component.name, process.pid
        ));
    }
    let unit = service_of(process).ok_or_else(|| {
        format!(
            "{} (pid {}) runs neither from a static pod manifest nor from a systemd service: change its flags where it is started",
            component.name, process.pid
        )
    })?;
    if units.contains(&unit) {
        return Err(format!(
            "{unit} runs more than one component: change their flags in the unit by hand"
        ));
    }
    // A process in a container of its own (a `podman run` in a unit's cgroup) sees another
    // filesystem: its command line means nothing on the host.
    for ns in ["mnt", "pid"] {
        let link = |pid: u32| edits.host().proc_readlink(&format!("{pid}/ns/{ns}")).ok();
        if link(process.pid).is_none() || link(process.pid) != link(1) {
            return Err(format!(
                "{} (pid {}) is not in the host's {ns} namespace (or it cannot be told): change its flags where it is started",
                component.name, process.pid
            ));
        }
    }
    if crate::facts::containers::placement(&process.cgroups).is_some() {
        return Err(format!(
            "{} runs in a container that no manifest here starts: change its flags where it is started",
            component.name
        ));
    }
    let mut argv = process.argv.clone();
    rewrite_argv(&mut argv, component.syntax, wanted);
    // The program is the file the kernel runs, not what argv[0] claims.
    let program = process
        .exe
        .clone()
        .filter(|exe| exe.starts_with('/') && !exe.ends_with(" (deleted)"))
        .ok_or_else(|| format!("{unit}: the program's file is not known (or was deleted)"))?;
    if argv.iter().any(|w| w.chars().any(char::is_control)) {
        return Err(format!("{unit}: the command line holds control characters"));
    }
    // systemd reads the drop-ins of every directory sorted by name together; ours must come
    // last, or a later `ExecStart=` would undo it.
    let mut names: Vec<String> = Vec::new();
    for dir in UNIT_DIRS {
        if let Ok(list) = edits.host().list_dir(&format!("{dir}/{unit}.d")) {
            names.extend(list.into_iter().filter(|n| n.ends_with(".conf")));
        }
    }
    let name = ["99-nodecheck.conf", "zz-nodecheck.conf"]
        .into_iter()
        .find(|candidate| names.iter().all(|n| n.as_str() <= *candidate))
        .ok_or_else(|| {
            format!("{unit} has drop-ins that sort after zz-nodecheck.conf: add the flags there")
        })?;
    let path = format!("/etc/systemd/system/{unit}.d/{name}");
    let words: Vec<String> = std::iter::once(program)
        .chain(argv.into_iter().skip(1))
        .map(|w| systemd_word(&w))
        .collect();
    units.push(unit.clone());
    let file = edits.added(&path, 0o644)?;
    file.after = format!(
        "# nodecheck remediate: {} as pid {} ran it, with its flags changed.\n# The command line is the one the process ran (variables already expanded).\n[Service]\nExecStart=\nExecStart={}\n",
        component.name,
        process.pid,
        words.join(" \\\n    ")
    );
    Ok((
        edits.place_of(&path),
        format!("systemctl daemon-reload && systemctl restart {unit}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::testing::TempRoot;

    fn remedy(
        check: &'static str,
        component: &'static str,
        flag: &str,
        change: FlagChange,
    ) -> Tagged {
        Tagged {
            check,
            remedy: Remedy::ComponentFlag {
                component,
                flag: flag.into(),
                change,
            },
        }
    }

    fn planned(root: &TempRoot, remedies: &[Tagged]) -> super::super::Planned {
        let host = root.host();
        let facts = crate::facts::gather(&host);
        super::super::plan(&host, &facts, remedies)
    }

    /// The items of `command` as a JSON patch leaves them (the ops this module writes).
    fn apply(command: &[String], patch: &[serde_json::Value]) -> Vec<String> {
        let mut items = command.to_vec();
        for op in patch {
            let path = op["path"].as_str().expect("path");
            let index = path.rsplit('/').next().expect("index");
            let value = op["value"].as_str().map(str::to_string);
            match (op["op"].as_str().expect("op"), index) {
                ("add", "-") => items.push(value.expect("value")),
                ("replace", i) => items[i.parse::<usize>().expect("i")] = value.expect("value"),
                ("remove", i) => {
                    items.remove(i.parse::<usize>().expect("i"));
                }
                other => panic!("unexpected op {other:?}"),
            }
        }
        items
    }

    fn command_of(text: &str) -> Vec<String> {
        let doc = yaml::parse(text).expect("yaml");
        doc.path("spec.containers")
            .and_then(Node::as_seq)
            .and_then(|c| c.first())
            .and_then(|c| c.get("command"))
            .and_then(Node::as_seq)
            .expect("command")
            .iter()
            .map(|n| n.as_str().expect("string").to_string())
            .collect()
    }

    const APISERVER: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: kube-apiserver\nspec:\n  containers:\n  - command:\n    - kube-apiserver\n    - --authorization-mode=AlwaysAllow\n    - --enable-admission-plugins=AlwaysAdmit\n    - \"--profiling=true\"   # on\n    - --enable-admission-plugins=NodeRestriction\n    - --secure-port=6443\n    image: registry.k8s.io/kube-apiserver:v1.31.4\n    name: kube-apiserver\n";

    /// Each flag is changed on its own line, a repeated list is folded into its last item, a
    /// new flag follows the last item, and the JSON patch says the same.
    #[test]
    fn a_manifest_is_patched_item_by_item_and_as_a_json_patch() {
        let root = TempRoot::new();
        root.file(
            "etc/kubernetes/manifests/kube-apiserver.yaml",
            APISERVER,
            0o600,
        );
        let planned = planned(
            &root,
            &[
                remedy(
                    "a",
                    "kube-apiserver",
                    "authorization-mode",
                    FlagChange::RemoveFrom("AlwaysAllow".into()),
                ),
                remedy(
                    "a",
                    "kube-apiserver",
                    "authorization-mode",
                    FlagChange::AddTo("Node".into()),
                ),
                remedy(
                    "a",
                    "kube-apiserver",
                    "authorization-mode",
                    FlagChange::AddTo("RBAC".into()),
                ),
                remedy(
                    "b",
                    "kube-apiserver",
                    "enable-admission-plugins",
                    FlagChange::RemoveFrom("AlwaysAdmit".into()),
                ),
                remedy(
                    "c",
                    "kube-apiserver",
                    "profiling",
                    FlagChange::Set("false".into()),
                ),
                remedy(
                    "d",
                    "kube-apiserver",
                    "service-account-lookup",
                    FlagChange::Set("true".into()),
                ),
            ],
        );
        assert!(planned.unplaced.is_empty(), "{:?}", planned.unplaced);
        let [file] = planned.files.as_slice() else {
            panic!("one file: {:?}", planned.files)
        };
        assert_eq!(
            file.after,
            APISERVER
                .replace(
                    "--authorization-mode=AlwaysAllow",
                    "--authorization-mode=Node,RBAC"
                )
                .replace("    - --enable-admission-plugins=AlwaysAdmit\n", "")
                .replace("\"--profiling=true\"   # on", "--profiling=false")
                .replace(
                    "--secure-port=6443\n",
                    "--secure-port=6443\n    - --service-account-lookup=true\n"
                )
        );
        assert_eq!(
            apply(&command_of(APISERVER), &file.json_patch),
            command_of(&file.after)
        );
        assert_eq!(file.fixes.len(), 6);
        assert!(file.takes_effect.contains("static pod"));
    }

    /// What cannot be changed where the component is started is left to the operator: a
    /// command written as a flow list, an etcd whose --config-file replaces its flags.
    #[test]
    fn commands_not_one_item_per_line_and_etcd_config_files_are_left_alone() {
        let root = TempRoot::new();
        root.file(
            "etc/kubernetes/manifests/kube-apiserver.yaml",
            "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - command: [kube-apiserver, --profiling=true, --secure-port=6443]\n    name: kube-apiserver\n",
            0o600,
        )
        .file(
            "etc/kubernetes/manifests/etcd.yaml",
            "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - command:\n    - etcd\n    - --config-file=/etc/etcd/etcd.yaml\n    name: etcd\n",
            0o600,
        )
        .file("etc/etcd/etcd.yaml", "auto-tls: true\n", 0o600);
        let planned = planned(
            &root,
            &[
                remedy(
                    "a",
                    "kube-apiserver",
                    "profiling",
                    FlagChange::Set("false".into()),
                ),
                remedy("b", "etcd", "auto-tls", FlagChange::Set("false".into())),
                remedy(
                    "c",
                    "kube-scheduler",
                    "profiling",
                    FlagChange::Set("false".into()),
                ),
            ],
        );
        assert!(planned.files.is_empty(), "{:?}", planned.files);
        let why = |check: &str| {
            planned
                .unplaced
                .iter()
                .find(|u| u.check == check)
                .map(|u| u.why.clone())
                .unwrap_or_default()
        };
        assert!(why("a").contains("one item per line"), "{}", why("a"));
        assert!(why("b").contains("--config-file"), "{}", why("b"));
        assert!(why("c").contains("no kube-scheduler"), "{}", why("c"));
    }

    /// A user's own process that calls itself kube-scheduler (any user can run a binary by
    /// that name, in a unit of their own manager) never has its command line written into a
    /// unit that root runs.
    #[test]
    fn a_users_process_never_becomes_a_system_units_command() {
        let status = |uid: u32| {
            format!(
                "Name:\tkube-scheduler\nPPid:\t1\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\nGid:\t{uid}\t{uid}\t{uid}\t{uid}\n"
            )
        };
        for (uid, cgroup) in [
            (1000, "0::/system.slice/kube-scheduler.service\n"),
            // root in a unit's cgroup, but in a container of its own (`podman run` from a unit)
            (0, "0::/system.slice/myapp.service\n"),
            (
                0,
                "0::/user.slice/user-1000.slice/user@1000.service/app.slice/kube-scheduler.service\n",
            ),
        ] {
            let root = TempRoot::new();
            root.file("proc/4242/status", &status(uid), 0o444)
                .file(
                    "proc/4242/cmdline",
                    "/usr/local/bin/kube-scheduler\0--profiling=true\0--kubeconfig=/home/mallory/evil.conf\0",
                    0o444,
                )
                .file("proc/4242/cgroup", cgroup, 0o444)
                .symlink("proc/4242/exe", "/usr/local/bin/kube-scheduler")
                .symlink("proc/4242/ns/mnt", "mnt:[4026532999]")
                .symlink("proc/4242/ns/pid", "pid:[4026531836]")
                .symlink("proc/1/ns/mnt", "mnt:[4026531841]")
                .symlink("proc/1/ns/pid", "pid:[4026531836]");
            let planned = planned(
                &root,
                &[remedy(
                    "a",
                    "kube-scheduler",
                    "profiling",
                    FlagChange::Set("false".into()),
                )],
            );
            assert!(planned.files.is_empty(), "{cgroup}: {:?}", planned.files);
            assert!(planned.proc.is_empty(), "{cgroup}: {:?}", planned.proc);
            assert_eq!(
                planned.unplaced.len(),
                1,
                "{cgroup}: {:?}",
                planned.unplaced
            );
        }
    }

    /// A flag and its value in two items read differently by the component (pflag reads them
    /// together) than one item at a time: such a command is left to the operator, or
    /// `--authorization-mode=Node,RBAC` appended would leave AlwaysAllow on.
    #[test]
    fn a_flag_and_its_value_in_two_items_are_left_alone() {
        let root = TempRoot::new();
        root.file(
            "etc/kubernetes/manifests/kube-apiserver.yaml",
            "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - command:\n    - kube-apiserver\n    - --authorization-mode\n    - AlwaysAllow\n    - --secure-port=6443\n    name: kube-apiserver\n",
            0o600,
        );
        let planned = planned(
            &root,
            &[remedy(
                "a",
                "kube-apiserver",
                "authorization-mode",
                FlagChange::AddTo("RBAC".into()),
            )],
        );
        assert!(planned.files.is_empty(), "{:?}", planned.files);
        assert!(
            planned.unplaced[0].why.contains("separate items"),
            "{:?}",
            planned.unplaced
        );
    }

    /// A component its systemd unit starts gets a drop-in read after the unit's others, with
    /// the command line it runs and the flag changed; the proof sees that command line.
    #[test]
    fn a_systemd_service_gets_a_drop_in_that_replaces_exec_start() {
        let root = TempRoot::new();
        root.file("proc/4242/status", "Name:\tkube-scheduler\nPPid:\t1\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n", 0o444)
            .file(
                "proc/4242/cmdline",
                "/usr/local/bin/kube-scheduler\0--kubeconfig=/etc/kubernetes/scheduler.conf\0--profiling=true\0--leader-elect=$keep\0",
                0o444,
            )
            .file("proc/4242/cgroup", "0::/system.slice/kube-scheduler.service\n", 0o444)
            .symlink("proc/4242/exe", "/usr/local/bin/kube-scheduler")
            .symlink("proc/4242/ns/mnt", "mnt:[4026531841]")
            .symlink("proc/4242/ns/pid", "pid:[4026531836]")
            .symlink("proc/1/ns/mnt", "mnt:[4026531841]")
            .symlink("proc/1/ns/pid", "pid:[4026531836]")
            .file("etc/systemd/system/kube-scheduler.service.d/50-local.conf", "[Service]\n", 0o644)
            .file("lib/systemd/system/kube-scheduler.service.d/99-zz-vendor.conf", "[Service]\n", 0o644);
        let planned = planned(
            &root,
            &[remedy(
                "a",
                "kube-scheduler",
                "profiling",
                FlagChange::Set("false".into()),
            )],
        );
        assert!(planned.unplaced.is_empty(), "{:?}", planned.unplaced);
        let [file] = planned.files.as_slice() else {
            panic!("one file: {:?}", planned.files)
        };
        assert_eq!(
            file.path,
            "/etc/systemd/system/kube-scheduler.service.d/zz-nodecheck.conf"
        );
        assert!(file.after.contains("[Service]\nExecStart=\nExecStart=/usr/local/bin/kube-scheduler \\\n    --kubeconfig=/etc/kubernetes/scheduler.conf \\\n    --leader-elect=$$keep \\\n    --profiling=false\n"), "{}", file.after);
        assert!(file.takes_effect.contains("systemctl daemon-reload"));
        let [proc] = planned.proc.as_slice() else {
            panic!("one proc edit: {:?}", planned.proc)
        };
        assert_eq!(proc.path, "4242/cmdline");
        assert_eq!(
            proc.data,
            b"/usr/local/bin/kube-scheduler\0--kubeconfig=/etc/kubernetes/scheduler.conf\0--leader-elect=$keep\0--profiling=false\0"
        );
    }

    #[test]
    fn words_are_quoted_for_yaml_and_systemd_only_when_needed() {
        assert_eq!(yaml_scalar("--profiling=false"), "--profiling=false");
        assert_eq!(yaml_scalar("--a=b c"), "\"--a=b c\"");
        assert_eq!(yaml_scalar("--a=#x"), "\"--a=#x\"");
        assert_eq!(systemd_word("--a=b"), "--a=b");
        assert_eq!(systemd_word("--a=$HOME"), "--a=$$HOME");
        assert_eq!(systemd_word("--a=b c"), "\"--a=b c\"");
        assert_eq!(systemd_word("--a=\"x\""), "\"--a=\\\"x\\\"\"");
        // systemd reads a continuation line starting with # as a comment.
        assert_eq!(systemd_word("#x"), "\"#x\"");
    }

    /// Only the system manager's units: a user's own manager runs units named as they like.
    #[test]
    fn the_service_comes_from_the_system_slice_of_the_cgroup() {
        let in_cgroup = |path: &str| Process {
            cgroups: vec![format!("0::{path}")],
            ..Process::default()
        };
        assert_eq!(
            service_of(&in_cgroup("/system.slice/kube-apiserver.service")).as_deref(),
            Some("kube-apiserver.service")
        );
        for path in [
            "/user.slice/user-1000.slice/user@1000.service/app.slice/kube-apiserver.service",
            "/system.slice/containerd.service/kube-apiserver.service",
            "/kubepods.slice/kube-apiserver.service",
        ] {
            assert_eq!(service_of(&in_cgroup(path)), None, "{path}");
        }
    }

    #[test]
    fn argv_keeps_one_occurrence_with_the_new_value() {
        let mut argv: Vec<String> = [
            "kube-apiserver",
            "--profiling=true",
            "--enable-admission-plugins=NodeRestriction",
            "--enable-admission-plugins",
            "AlwaysAdmit",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        rewrite_argv(
            &mut argv,
            &control_plane::APISERVER_SYNTAX,
            &[
                ("profiling".into(), Some("false".into())),
                (
                    "enable-admission-plugins".into(),
                    Some("NodeRestriction".into()),
                ),
            ],
        );
        assert_eq!(
            argv,
            [
                "kube-apiserver",
                "--profiling=false",
                "--enable-admission-plugins=NodeRestriction"
            ]
        );
    }
}
