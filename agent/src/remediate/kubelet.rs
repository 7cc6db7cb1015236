//! Placing kubelet settings where the kubelet reads them (`reference/kubelet.md` §1).
//!
//! A value goes into the configuration the kubelet was started with: a drop-in of
//! `--config-dir` (read after the `--config` file, later drop-ins winning) when it has one, else
//! the `--config` file itself, edited at the line that holds the field (or with the field added
//! under its parent). A command-line flag wins over both, so a flag that sets the field is
//! removed from the file that passes it (kubeadm's `kubeadm-flags.env`, `/etc/default/kubelet`,
//! the systemd unit), and the proof scans the kubelet as it will run after its restart: with that
//! flag gone from its command line and, when the read-only port closes, without its listener.
//! A kubelet without `--config` (flags only) or inside k3s is left to the operator.

use super::{Edits, ProcEdit, Unplaced, note_fix, unplace_all};
use crate::checks::Remedy;
use crate::facts::kubelet::{Flavour, KubeletFacts};
use crate::parse::kubelet::{Mode, Origin};
use crate::parse::yaml;

/// What makes a change of the kubelet's files take effect.
const RESTART: &str = "restart the kubelet (`systemctl restart kubelet`)";

/// Files that pass the kubelet its flags besides its systemd units.
const FLAG_FILES: &[&str] = &[
    "/var/lib/kubelet/kubeadm-flags.env",
    "/etc/default/kubelet",
    "/etc/sysconfig/kubelet",
];

/// The drop-in names tried, in order: the first that sorts after every drop-in there now.
const DROP_IN_NAMES: &[&str] = &["99-nodecheck.conf", "zz-nodecheck.conf"];

/// Places the kubelet remedies.
pub(super) fn place(
    edits: &mut Edits<'_>,
    kubelet: &KubeletFacts,
    remedies: &[&super::Tagged],
    process: Option<&crate::facts::process::Process>,
    unplaced: &mut Vec<Unplaced>,
    proc: &mut Vec<ProcEdit>,
) {
    let fields: Vec<(&str, &str, &serde_json::Value)> = remedies
        .iter()
        .filter_map(|t| match &t.remedy {
            Remedy::Kubelet { field, value } => Some((t.check, field.as_str(), value)),
            _ => None,
        })
        .collect();
    let settings =
        |fields: &[(&'static str, &str, &serde_json::Value)]| -> Vec<(&'static str, String)> {
            fields
                .iter()
                .map(|(check, field, value)| (*check, format!("{field}: {value}")))
                .collect()
        };
    let refuse =
        |unplaced: &mut Vec<Unplaced>, why: &str| unplace_all(unplaced, settings(&fields), why);
    if let Flavour::K3s { .. } = kubelet.flavour {
        refuse(
            unplaced,
            "k3s passes its kubelet settings as `kubelet-arg` in /etc/rancher/k3s/config.yaml: add them there and restart k3s",
        );
        return;
    }
    if kubelet.config.mode == Mode::FlagsOnly {
        refuse(
            unplaced,
            "the kubelet runs without --config, so there is no configuration file to change: give it one (`--config`) or set the flag in its unit",
        );
        return;
    }
    let mut argv: Option<Vec<String>> = None;
    let mut placed: Vec<(&str, &str, &serde_json::Value)> = Vec::new();
    for (check, field, value) in &fields {
        // A flag that sets the field goes, so that the configuration's value applies.
        if let Some(crate::parse::kubelet::Field {
            origin: Origin::Flag { spelled, .. },
            ..
        }) = kubelet.config.get(field)
        {
            match remove_flag(edits, kubelet, spelled) {
                Ok(path) => {
                    if let Ok(file) = edits.existing(&path) {
                        note_fix(file, check, &format!("{spelled} removed"));
                        file.takes_effect = RESTART.into();
                    }
                    let args = argv
                        .get_or_insert_with(|| process.map(|p| p.argv.clone()).unwrap_or_default());
                    remove_tokens(args, spelled);
                }
                Err(why) => {
                    unplaced.push(Unplaced {
                        check: check.to_string(),
                        setting: format!("{field}: {value}"),
                        why,
                    });
                    continue;
                }
            }
        }
        placed.push((check, field, value));
    }
    if let Some(args) = argv {
        // The kubelet as it will run once restarted: its command line without the flags.
        let mut bytes: Vec<u8> = Vec::new();
        for arg in &args {
            bytes.extend_from_slice(arg.as_bytes());
            bytes.push(0);
        }
        proc.push(ProcEdit {
            path: format!("{}/cmdline", kubelet.pid),
            data: bytes,
            why: "the kubelet's command line once restarted without the removed flags".into(),
        });
    }
    if placed.is_empty() {
        return;
    }
    let result = match &kubelet.config.config_dir {
        Some(dir) => write_drop_in(edits, kubelet, dir, &placed),
        None => match &kubelet.config.config_file {
            Some(path) => patch_config(edits, path, &placed),
            None => Err("the kubelet names no configuration file".into()),
        },
    };
    match result {
        Ok(path) => {
            if let Ok(file) = edits.existing(&path) {
                for (check, field, value) in &placed {
                    note_fix(file, check, &format!("{field}: {value}"));
                }
                file.takes_effect = RESTART.into();
            }
        }
        Err(why) => {
            unplace_all(unplaced, settings(&placed), &why);
            return;
        }
    }
    // A kubelet restarted with readOnlyPort 0 no longer listens on the port it had.
    if placed
        .iter()
        .any(|(_, f, v)| *f == "readOnlyPort" && v.as_i64() == Some(0))
    {
        let port = kubelet
            .config
            .int("readOnlyPort")
            .filter(|p| *p > 0)
            .unwrap_or(10255);
        if let (Ok(port), Some(process)) = (u16::try_from(port), process) {
            close_listener(edits.host(), port, &process.socket_inodes, proc);
        }
    }
}

/// Removes `spelled` (`--read-only-port=10255`, or a flag and its value) from the one file that
/// passes it; returns that file.
fn remove_flag(
    edits: &mut Edits<'_>,
    kubelet: &KubeletFacts,
    spelled: &str,
) -> Result<String, String> {
    let candidates: Vec<String> = FLAG_FILES
        .iter()
        .map(|p| p.to_string())
        .chain(kubelet.unit_files.iter().map(|f| f.path.clone()))
        .collect();
    let mut found: Vec<String> = Vec::new();
    for path in &candidates {
        if !edits.has(path).unwrap_or(false) {
            continue;
        }
        let Ok(file) = edits.existing(path) else {
            continue;
        };
        if token_at(&file.after, spelled).is_some() {
            found.push(path.clone());
        }
    }
    match found.as_slice() {
        [path] => {
            let file = edits.existing(path)?;
            if let Some((start, end)) = token_at(&file.after, spelled) {
                // The flag and the blank before it.
                let start = if start > 0 && file.after.as_bytes()[start - 1] == b' ' {
                    start - 1
                } else {
                    start
                };
                file.after.replace_range(start..end, "");
            }
            Ok(path.clone())
        }
        [] => Err(format!(
            "the flag {spelled} is not in {}: remove it where the kubelet's command line is made",
            candidates.join(", ")
        )),
        _ => Err(format!(
            "the flag {spelled} is in several files ({}): remove it where it applies",
            found.join(", ")
        )),
    }
}

/// Where `token` stands in `text` as whole words (bounded by the start, the end, a blank or a
/// quote), on a line that is no comment.
fn token_at(text: &str, token: &str) -> Option<(usize, usize)> {
    let bounded = |c: Option<char>| c.is_none_or(|c| c.is_whitespace() || c == '"' || c == '\'');
    let mut line_start = 0;
    for line in text.split_inclusive('\n') {
        let offset = line_start;
        line_start += line.len();
        if line.trim_start().starts_with('#') || line.trim_start().starts_with(';') {
            continue;
        }
        let mut from = 0;
        while let Some(at) = line[from..].find(token) {
            let start = from + at;
            let end = start + token.len();
            if bounded(line[..start].chars().next_back()) && bounded(line[end..].chars().next()) {
                return Some((offset + start, offset + end));
            }
            from = end;
        }
    }
    None
}

/// `args` without the consecutive arguments that make up `spelled`.
pub(super) fn remove_tokens(args: &mut Vec<String>, spelled: &str) {
    let words: Vec<&str> = spelled.split_whitespace().collect();
    if words.is_empty() {
        return;
    }
    if let Some(at) = args
        .windows(words.len())
        .position(|w| w.iter().map(String::as_str).eq(words.iter().copied()))
    {
        args.drain(at..at + words.len());
    }
}

/// The drop-in of `--config-dir`, read after every one there now; returns its path.
fn write_drop_in(
    edits: &mut Edits<'_>,
    kubelet: &KubeletFacts,
    dir: &str,
    fields: &[(&str, &str, &serde_json::Value)],
) -> Result<String, String> {
    // The kubelet walks the directory depth first in name order (WalkDir): a drop-in in a
    // subdirectory is read when its directory's name comes, so paths relative to the
    // directory are compared.
    let prefix = format!("{}/", dir.trim_end_matches('/'));
    let last = kubelet
        .config
        .drop_ins
        .iter()
        .map(|p| p.strip_prefix(&prefix).unwrap_or(p).to_string())
        .max();
    let name = DROP_IN_NAMES
        .iter()
        .find(|n| last.as_deref().is_none_or(|l| n.as_bytes() >= l.as_bytes()))
        .ok_or_else(|| {
            format!(
                "a drop-in of {dir} sorts after every name nodecheck would give its own ({})",
                last.unwrap_or_default()
            )
        })?;
    let path = format!("{}/{name}", dir.trim_end_matches('/'));
    let mut tree = serde_json::Map::new();
    let exists = edits.has(&path)?;
    if exists {
        // A second run keeps what the first one wrote.
        let file = edits.existing(&path)?;
        if let Ok(node) = yaml::parse(&file.after) {
            tree = to_json(&node).as_object().cloned().unwrap_or_default();
        }
    }
    tree.insert(
        "apiVersion".into(),
        crate::parse::kubelet::API_VERSION.into(),
    );
    tree.insert("kind".into(), crate::parse::kubelet::KIND.into());
    for (_, field, value) in fields {
        set_path(&mut tree, field, (*value).clone());
    }
    let mut text = String::from(
        "# Written by `nodecheck remediate`: read after the --config file and the drop-ins before it,\n# so its values win over theirs (flags still win over every file).\n",
    );
    write_yaml(&mut text, &tree, 0);
    let file = edits.added(&path, 0o600)?;
    file.after = text;
    Ok(file.path.clone())
}

/// The `--config` file with each field set: in place where the file has it, else added under
/// its parent (a JSON file is rewritten whole); returns its path.
fn patch_config(
    edits: &mut Edits<'_>,
    path: &str,
    fields: &[(&str, &str, &serde_json::Value)],
) -> Result<String, String> {
    let file = edits.existing(path)?;
    let mut text = file.after.clone();
    if text.trim_start().starts_with('{') {
        let mut tree: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("{path}: {e}"))?;
        let object = tree
            .as_object_mut()
            .ok_or_else(|| format!("{path} is not a JSON object"))?;
        for (_, field, value) in fields {
            set_path(object, field, (*value).clone());
        }
        text = serde_json::to_string_pretty(&tree).map_err(|e| e.to_string())? + "\n";
    } else {
        for (_, field, value) in fields {
            text = set_yaml(&text, field, value).map_err(|why| format!("{path}: {why}"))?;
        }
    }
    file.after = text;
    Ok(path.to_string())
}

/// Sets `path` (dotted) in a JSON object, creating the objects on the way.
fn set_path(
    tree: &mut serde_json::Map<String, serde_json::Value>,
    path: &str,
    value: serde_json::Value,
) {
    let mut parts = path.split('.').peekable();
    let mut here = tree;
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            here.insert(part.to_string(), value);
            return;
        }
        let next = here
            .entry(part.to_string())
            .or_insert_with(|| serde_json::Value::Object(Default::default()));
        if !next.is_object() {
            *next = serde_json::Value::Object(Default::default());
        }
        let Some(object) = next.as_object_mut() else {
            return;
        };
        here = object;
    }
}

/// A YAML tree as JSON (what a drop-in held before).
fn to_json(node: &yaml::Node) -> serde_json::Value {
    match &node.value {
        yaml::Value::Null => serde_json::Value::Null,
        yaml::Value::Bool(b) => (*b).into(),
        yaml::Value::Int(i) => (*i).into(),
        yaml::Value::Float(f) => serde_json::Number::from_f64(*f)
            .map_or(serde_json::Value::Null, serde_json::Value::Number),
        yaml::Value::String(s) => s.clone().into(),
        yaml::Value::Seq(items) => items.iter().map(to_json).collect(),
        yaml::Value::Map(entries) => entries
            .iter()
            .map(|(k, v)| (k.clone(), to_json(v)))
            .collect::<serde_json::Map<_, _>>()
            .into(),
    }
}

/// Block YAML of a JSON object, indented by `indent` spaces.
fn write_yaml(out: &mut String, tree: &serde_json::Map<String, serde_json::Value>, indent: usize) {
    let pad = " ".repeat(indent);
    for (key, value) in tree {
        match value {
            serde_json::Value::Object(inner) => {
                out.push_str(&format!("{pad}{key}:\n"));
                write_yaml(out, inner, indent + 2);
            }
            serde_json::Value::Array(items) => {
                out.push_str(&format!("{pad}{key}:\n"));
                for item in items {
                    out.push_str(&format!("{pad}- {}\n", scalar(item)));
                }
            }
            other => out.push_str(&format!("{pad}{key}: {}\n", scalar(other))),
        }
    }
}

/// A JSON scalar as YAML: booleans and numbers bare, a string bare when YAML reads it back as
/// the same string, else quoted.
fn scalar(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => {
            let plain = !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
                && yaml::parse(s).is_ok_and(|n| n.value == yaml::Value::String(s.clone()));
            if plain {
                s.clone()
            } else {
                serde_json::to_string(s).unwrap_or_default()
            }
        }
        serde_json::Value::Array(items) => format!(
            "[{}]",
            items.iter().map(scalar).collect::<Vec<_>>().join(", ")
        ),
        other => other.to_string(),
    }
}

/// The YAML text with `path` set to `value`: the value replaced on the line that holds it, or
/// the missing keys added above the first key of the deepest parent the file has (at the end
/// when it has none). The result is parsed again and must hold the value.
fn set_yaml(text: &str, path: &str, value: &serde_json::Value) -> Result<String, String> {
    let root = yaml::parse(text).map_err(|e| e.to_string())?;
    let keys: Vec<&str> = path.split('.').collect();
    let mut lines: Vec<String> = text.split('\n').map(str::to_string).collect();
    if let Some(node) = root.path(path) {
        let key = keys[keys.len() - 1];
        let index = usize::try_from(node.line).unwrap_or(0).saturating_sub(1);
        let line = lines
            .get(index)
            .ok_or_else(|| format!("no line {}", node.line))?;
        let at = line
            .find(&format!("{key}:"))
            .ok_or_else(|| format!("line {} does not hold {key} in block style", node.line))?;
        if matches!(node.value, yaml::Value::Seq(_) | yaml::Value::Map(_))
            && !line[at..].contains('[')
        {
            return Err(format!(
                "{path} is a block list or map at line {}: edit it by hand",
                node.line
            ));
        }
        let comment = line[at..].find(" #").map(|c| line[at + c..].to_string());
        lines[index] = format!(
            "{}{key}: {}{}",
            &line[..at],
            scalar(value),
            comment.unwrap_or_default()
        );
    } else {
        // The deepest parent the file has.
        let mut depth = keys.len() - 1;
        let parent = loop {
            if depth == 0 {
                break None;
            }
            if let Some(node) = root.path(&keys[..depth].join(".")) {
                break Some(node);
            }
            depth -= 1;
        };
        let mut block = String::new();
        let (insert_at, indent) = match parent {
            Some(node) => {
                let yaml::Value::Map(entries) = &node.value else {
                    return Err(format!("{} is not a map", keys[..depth].join(".")));
                };
                // A block map starts at its first key's line.
                if entries.is_empty() {
                    return Err(format!("{} is an empty map", keys[..depth].join(".")));
                }
                let first_line = node.line;
                let index = usize::try_from(first_line).unwrap_or(0).saturating_sub(1);
                let line = lines.get(index).ok_or("line out of range")?;
                if line.contains('{') {
                    return Err(format!(
                        "{} is a flow map: edit it by hand",
                        keys[..depth].join(".")
                    ));
                }
                let indent = line.len() - line.trim_start_matches(' ').len();
                (index, indent)
            }
            None => {
                while lines.last().is_some_and(|l| l.trim().is_empty()) {
                    lines.pop();
                }
                (lines.len(), 0)
            }
        };
        let mut tree = serde_json::Map::new();
        set_path(&mut tree, &keys[depth..].join("."), value.clone());
        write_yaml(&mut block, &tree, indent);
        let new_lines: Vec<String> = block
            .trim_end_matches('\n')
            .split('\n')
            .map(str::to_string)
            .collect();
        lines.splice(insert_at..insert_at, new_lines);
        if parent.is_none() {
            lines.push(String::new());
        }
    }
    let out = lines.join("\n");
    let check = yaml::parse(&out).map_err(|e| format!("the edited file does not parse: {e}"))?;
    let got = check.path(path).map(to_json);
    if got.as_ref() != Some(value) {
        return Err(format!(
            "the edited file reads {path} as {got:?}, not {value}: edit it by hand"
        ));
    }
    Ok(out)
}

/// The host's socket tables without the kubelet's own listeners on `port` (what a kubelet
/// restarted with the read-only port closed leaves); another process's listener there stays.
fn close_listener(
    host: &crate::host::Host,
    port: u16,
    kubelet_sockets: &[u64],
    proc: &mut Vec<ProcEdit>,
) {
    let hex = format!(":{port:04X}");
    for table in ["1/net/tcp", "1/net/tcp6"] {
        let Ok(bytes) = host.proc_read(table, crate::host::PROC_CAP) else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes);
        let mut kept = String::new();
        let mut removed = false;
        for (i, line) in text.lines().enumerate() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let listening = i > 0
                && fields.len() > 9
                && fields[1].ends_with(&hex)
                && fields[3] == "0A"
                && fields[9]
                    .parse::<u64>()
                    .is_ok_and(|inode| kubelet_sockets.contains(&inode));
            if listening {
                removed = true;
                continue;
            }
            kept.push_str(line);
            kept.push('\n');
        }
        if removed {
            proc.push(ProcEdit {
                path: table.to_string(),
                data: kept.into_bytes(),
                why: format!("the kubelet no longer listens on {port} once restarted"),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_is_set_in_place_or_added_under_its_parent() {
        let text = "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nauthentication:\n  anonymous:\n    enabled: true # was on\n  webhook:\n    enabled: true\nreadOnlyPort: 10255\n";
        let out = set_yaml(
            text,
            "authentication.anonymous.enabled",
            &serde_json::json!(false),
        )
        .expect("in place");
        assert!(out.contains("    enabled: false # was on\n"), "{out}");
        let out = set_yaml(
            &out,
            "authentication.x509.clientCAFile",
            &serde_json::json!("/etc/kubernetes/pki/ca.crt"),
        )
        .expect("under its parent");
        assert!(out.contains("authentication:\n  x509:\n    clientCAFile: /etc/kubernetes/pki/ca.crt\n  anonymous:"), "{out}");
        let out = set_yaml(&out, "seccompDefault", &serde_json::json!(true)).expect("at the end");
        assert!(
            out.ends_with("readOnlyPort: 10255\nseccompDefault: true\n"),
            "{out}"
        );
        let out = set_yaml(&out, "readOnlyPort", &serde_json::json!(0)).expect("number");
        assert!(out.contains("\nreadOnlyPort: 0\n"), "{out}");
    }

    #[test]
    fn a_flow_map_or_a_block_list_is_left_to_the_operator() {
        assert!(
            set_yaml(
                "authentication: {anonymous: {enabled: true}}\n",
                "authentication.webhook.enabled",
                &serde_json::json!(true)
            )
            .is_err()
        );
        assert!(
            set_yaml(
                "tlsCipherSuites:\n- A\n- B\n",
                "tlsCipherSuites",
                &serde_json::json!(["A"])
            )
            .is_err()
        );
    }

    #[test]
    fn strings_are_quoted_when_yaml_would_read_them_otherwise() {
        assert_eq!(scalar(&serde_json::json!("Webhook")), "Webhook");
        assert_eq!(scalar(&serde_json::json!("true")), "\"true\"");
        assert_eq!(scalar(&serde_json::json!("10")), "\"10\"");
        assert_eq!(scalar(&serde_json::json!("a: b")), "\"a: b\"");
    }

    #[test]
    fn a_flag_is_found_as_a_whole_word() {
        let env = "KUBELET_KUBEADM_ARGS=\"--event-qps=0 --event-qps=01 --x\"";
        let (start, end) = token_at(env, "--event-qps=0").expect("found");
        assert_eq!(&env[start..end], "--event-qps=0");
        assert_eq!(start, "KUBELET_KUBEADM_ARGS=\"".len());
        assert!(token_at(env, "--event-qps=1").is_none());
        // A commented-out copy above the real line is no place to remove it from.
        let commented = "# KUBELET_KUBEADM_ARGS=\"--read-only-port=10255\"\nKUBELET_KUBEADM_ARGS=\"--read-only-port=10255\"\n";
        let (start, _) = token_at(commented, "--read-only-port=10255").expect("found");
        assert!(
            start > commented.find('\n').expect("two lines"),
            "the real line's"
        );
        let mut args: Vec<String> = ["--a", "--hostname-override", "n1", "--b"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        remove_tokens(&mut args, "--hostname-override n1");
        assert_eq!(args, ["--a", "--b"]);
    }
}
