//! What the controller manager, scheduler and kube-proxy checks share: finding the component,
//! judging one of its settings (a flag, or a key of the config file that replaces the flag),
//! its bind address against the sockets it really owns, and its files.

use super::{Ctx, Verdict, evidence, judge_files, strict_file_rule};
use crate::facts::components::ComponentFacts;
use nodecheck_report::{Evidence, Source, Status};
use std::net::IpAddr;

/// The component's facts, or why there is nothing (or nothing readable) to judge.
pub fn found<'a>(
    facts: Option<&'a ComponentFacts>,
    name: &str,
) -> Result<&'a ComponentFacts, Verdict> {
    let absent =
        format!("no {name} on this node (no process, static pod manifest or k3s server runs it)");
    let component = super::component_found(facts, |c| &c.args, name, &absent)?;
    if let Some(config) = &component.config
        && let Err(problem) = &config.doc
    {
        return Err(Verdict::error(
            format!("cannot read the {name} configuration: {problem}"),
            Vec::new(),
        ));
    }
    Ok(component)
}

/// Evidence for one setting: from the config file when the component has one and `key` names
/// the setting there, else the flag; the component's default when neither sets it.
pub fn setting_evidence(
    component: &ComponentFacts,
    name: &str,
    flag: &str,
    key: Option<&str>,
    default: Option<&str>,
    expected: &str,
    pass: bool,
) -> Evidence {
    let (subject, found) = match (&component.config, key) {
        (Some(config), Some(key)) => (format!("{key} ({})", config.shown), config.value(key)),
        _ => (
            format!("--{flag}"),
            component
                .args
                .value(flag)
                .map(|(v, s)| (v.to_string(), s.clone())),
        ),
    };
    match found {
        Some((value, source)) => evidence(subject, Some(value), expected, pass, source),
        None => evidence(
            subject,
            default.map(str::to_string),
            expected,
            pass,
            Source::default_value(match default {
                Some(d) => format!("not set: {name} default {d}"),
                None => "not set".into(),
            }),
        ),
    }
}

/// The effective value of a setting (the default when unset).
pub fn effective(
    component: &ComponentFacts,
    flag: &str,
    key: Option<&str>,
    default: Option<&str>,
) -> Option<String> {
    component
        .setting(flag, key)
        .map(|(v, _)| v)
        .or(default.map(str::to_string))
}

/// `--name is value (source); expected …` for the failing items.
pub fn failing_message(failing: &[&Evidence], expected: &str) -> String {
    let parts: Vec<String> = failing
        .iter()
        .map(|e| match &e.observed {
            Some(v) => format!("{} is {v} ({})", e.subject, e.source),
            None => format!("{} is not set", e.subject),
        })
        .collect();
    format!("{}; expected {expected}", parts.join("; "))
}

/// Judges one setting against a predicate on its effective value.
#[allow(clippy::too_many_arguments)]
pub fn judge_setting(
    component: Result<&ComponentFacts, Verdict>,
    name: &str,
    flag: &str,
    key: Option<&str>,
    default: Option<&str>,
    expected: &str,
    pass: &dyn Fn(Option<&str>) -> bool,
) -> Verdict {
    let component = match component {
        Ok(c) => c,
        Err(v) => return v,
    };
    let value = effective(component, flag, key, default);
    let ok = pass(value.as_deref());
    let item = setting_evidence(component, name, flag, key, default, expected, ok);
    let subject = item.subject.clone();
    Verdict::from_evidence(
        vec![item],
        format!("{subject} is {}", value.as_deref().unwrap_or("not set")),
        |failing| failing_message(failing, expected),
    )
}

/// Judges that a flag is set to a non-empty value.
pub fn judge_set(component: Result<&ComponentFacts, Verdict>, name: &str, flag: &str) -> Verdict {
    judge_setting(component, name, flag, None, None, "set", &|v| {
        v.is_some_and(|v| !v.is_empty())
    })
}

/// An address and its port, when it has one: `127.0.0.1:10249`, `[::1]:10249`, `::1`.
pub fn split_port(address: &str) -> (&str, Option<u16>) {
    if let Some(rest) = address.strip_prefix('[')
        && let Some((host, port)) = rest.split_once("]:")
    {
        return (host, port.parse().ok());
    }
    match address.rsplit_once(':') {
        // One colon: host:port. More: a bare IPv6 address.
        Some((host, port)) if !host.contains(':') => (host, port.parse().ok()),
        _ => (address.trim_start_matches('[').trim_end_matches(']'), None),
    }
}

/// Whether an address binds to loopback only (`127.0.0.1`, `::1`, `localhost`; with or
/// without a port).
pub fn is_loopback(address: &str) -> bool {
    let (host, _) = split_port(address);
    host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Judges a bind address setting and the listeners the component really owns on `port`: the
/// setting must be loopback, and no socket of the component's on that port may listen
/// elsewhere.
#[allow(clippy::too_many_arguments)]
pub fn judge_bind_address(
    ctx: &Ctx<'_>,
    component: Result<&ComponentFacts, Verdict>,
    name: &str,
    flag: &str,
    key: Option<&str>,
    default: &str,
    empty_means: &str,
    default_port: u16,
) -> Verdict {
    let component = match component {
        Ok(c) => c,
        Err(v) => return v,
    };
    let set = effective(component, flag, key, Some(default)).unwrap_or_default();
    // An empty value is not "nowhere": the controller manager and scheduler then listen on
    // every interface; kube-proxy defaults an empty metricsBindAddress to 127.0.0.1:10249.
    let value = if set.trim().is_empty() {
        empty_means.to_string()
    } else {
        set.clone()
    };
    let expected = "a loopback address (127.0.0.1 or ::1)";
    let mut item = setting_evidence(
        component,
        name,
        flag,
        key,
        Some(default),
        expected,
        is_loopback(&value),
    );
    if set.trim().is_empty() {
        item.note = Some(format!("empty: {name} uses {empty_means}"));
    }
    let mut items = vec![item];
    let port = split_port(&value).1.unwrap_or(default_port);
    let pid = component
        .args
        .pid
        .filter(|_| component.embedded_in.is_none());
    if let Some(pid) = pid {
        for listener in ctx.facts.listeners.iter().filter(|l| {
            l.port == port && l.is_host() && l.owners.iter().any(|(owner, _)| *owner == pid)
        }) {
            items.push(Evidence {
                subject: format!("{name} listener on port {port}"),
                observed: Some(listener.endpoint()),
                expected: "loopback only".into(),
                status: if listener.address.is_loopback() {
                    Status::Pass
                } else {
                    Status::Fail
                },
                source: Source::Listener {
                    address: listener.endpoint(),
                    pid: Some(pid),
                },
                note: None,
            });
        }
    }
    Verdict::from_evidence(
        items,
        format!("{name} serves on loopback only"),
        |failing| failing_message(failing, expected),
    )
}

/// Judges a control-plane component's `--bind-address` against its `--secure-port` (or
/// `default_port`): empty or unset means every interface.
pub fn judge_secure_bind_address(
    ctx: &Ctx<'_>,
    component: Result<&ComponentFacts, Verdict>,
    name: &str,
    default_port: u16,
) -> Verdict {
    let port = component
        .as_ref()
        .ok()
        .and_then(|c| c.args.value("secure-port"))
        .and_then(|(p, _)| p.parse().ok())
        .unwrap_or(default_port);
    judge_bind_address(
        ctx,
        component,
        name,
        "bind-address",
        None,
        "0.0.0.0",
        "0.0.0.0",
        port,
    )
}

/// Judges the component's static pod manifest: 0600 root:root.
pub fn judge_manifest(component: Result<&ComponentFacts, Verdict>, name: &str) -> Verdict {
    let component = match component {
        Ok(c) => c,
        Err(v) => return v,
    };
    match &component.manifest_file {
        None => Verdict::not_applicable(format!(
            "{name} does not run from a static pod manifest here ({})",
            component.args.origin
        )),
        Some(file) => judge_file(component, file, &format!("{name} manifest")),
    }
}

/// One file, 0600 root:root, in a directory only root may write (after symlinks: a link to a
/// root-owned file in a user's directory is that user's file); the passing message names it
/// and what it is.
fn judge_file(component: &ComponentFacts, file: &crate::facts::FileFact, what: &str) -> Verdict {
    let mut verdict = judge_files(std::slice::from_ref(file), what, &strict_file_rule(0o600));
    let parent = file.meta.as_ref().ok().and_then(|m| {
        let dir = m
            .resolved
            .rsplit_once('/')
            .map(|(d, _)| if d.is_empty() { "/" } else { d })?;
        component.parent_dirs.iter().find(|d| d.path == dir)
    });
    if let Some(dir) = parent
        && verdict.status == Status::Pass
    {
        let item = match &dir.meta {
            Ok(m) => evidence(
                format!("{} (holds {})", dir.path, file.path),
                Some(dir.describe()),
                "a directory owned by root, writable by root only",
                m.uid == 0 && m.mode & 0o022 == 0,
                Source::FileMetadata {
                    path: dir.path.clone(),
                },
            ),
            Err(e) => Evidence {
                subject: dir.path.clone(),
                observed: Some(e.to_string()),
                expected: "readable metadata".into(),
                status: Status::Error,
                source: Source::FileMetadata {
                    path: dir.path.clone(),
                },
                note: None,
            },
        };
        let mut items = verdict.evidence.clone();
        items.push(item);
        verdict = Verdict::from_evidence(items, String::new(), |failing| {
            failing_message(failing, "the file in a directory only root may write")
        });
    }
    if verdict.status == Status::Pass {
        verdict.message = format!("the {what} {} is {}", file.path, file.describe());
    }
    verdict
}

/// Judges the kubeconfig the component uses: 0600 root:root.
pub fn judge_kubeconfig(component: Result<&ComponentFacts, Verdict>, name: &str) -> Verdict {
    let component = match component {
        Ok(c) => c,
        Err(v) => return v,
    };
    match &component.kubeconfig {
        None => Verdict::not_applicable(format!(
            "{name} names no kubeconfig (in-cluster credentials)"
        )),
        Some((file, source)) if file.meta.as_ref().is_err_and(|e| e.is_not_found()) => {
            Verdict::error(
                format!(
                    "{name} uses the kubeconfig {} ({source}), which does not exist here",
                    file.path
                ),
                Vec::new(),
            )
        }
        Some((file, source)) => {
            let mut verdict = judge_file(component, file, &format!("{name} kubeconfig"));
            for item in &mut verdict.evidence {
                item.note = Some(format!("named by {source}"));
            }
            verdict
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_addresses() {
        for yes in [
            "127.0.0.1",
            "127.0.0.1:10249",
            "::1",
            "[::1]:10249",
            "localhost",
            "127.1.2.3",
        ] {
            assert!(is_loopback(yes), "{yes}");
        }
        for no in [
            "0.0.0.0",
            "0.0.0.0:10249",
            "::",
            "[::]:10249",
            "10.0.0.1",
            "",
            "192.168.1.1:80",
        ] {
            assert!(!is_loopback(no), "{no}");
        }
    }

    #[test]
    fn a_file_in_a_directory_others_may_write_is_not_safe() {
        use crate::facts::components::{SCHEDULER, gather, manifest_dirs};
        use std::os::unix::fs::PermissionsExt;
        let root = crate::host::testing::TempRoot::new();
        root.file(
            "etc/kubernetes/manifests/kube-scheduler.yaml",
            "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - command: [kube-scheduler]\n",
            0o600,
        );
        let judge = |root: &crate::host::testing::TempRoot| {
            let facts = gather(&root.host(), &[], &SCHEDULER, &manifest_dirs(None), None);
            judge_manifest(found(facts.as_ref(), "kube-scheduler"), "kube-scheduler")
        };
        let uid = std::fs::metadata(root.path()).map(|m| std::os::unix::fs::MetadataExt::uid(&m));
        let before = judge(&root);
        if uid.is_ok_and(|u| u == 0) {
            assert_eq!(before.status, Status::Pass, "{before:?}");
        }
        std::fs::set_permissions(
            root.join("etc/kubernetes/manifests"),
            std::fs::Permissions::from_mode(0o777),
        )
        .expect("chmod");
        let after = judge(&root);
        assert_eq!(after.status, Status::Fail, "{after:?}");
        assert!(
            after.message.contains("/etc/kubernetes/manifests"),
            "{}",
            after.message
        );
    }
}
