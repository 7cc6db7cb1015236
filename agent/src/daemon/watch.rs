//! Watching the configuration a scan judges, so that a change shows up in the collector
//! within seconds instead of at the next interval.
//!
//! inotify watches directories, not files: editors and configuration tools replace a file by
//! writing a new one and renaming it over the old, which a watch on the old file never sees.
//! Where a directory holds much else (`/var/lib/kubelet`), only the named file counts.

use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify, WatchDescriptor};
use std::collections::HashMap;
use std::ffi::OsString;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};

/// A directory to watch on the host, and the one entry in it that matters (all when `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Host path, e.g. `/etc/ssh`.
    pub dir: String,
    pub only: Option<String>,
}

impl Target {
    fn new(dir: &str, only: Option<&str>) -> Target {
        Target {
            dir: dir.into(),
            only: only.map(str::to_string),
        }
    }
}

/// What to watch on a host: sshd's configuration, the kubelet's configuration file and
/// drop-ins, static pod manifests. `kubelet_files` are the host paths of the kubelet
/// configuration and drop-in files the last scan found.
pub fn targets(kubelet_config: Option<&str>, kubelet_drop_ins: &[String]) -> Vec<Target> {
    let mut targets = vec![
        Target::new("/etc/ssh", Some("sshd_config")),
        Target::new("/etc/ssh/sshd_config.d", None),
        Target::new("/etc/kubernetes/manifests", None),
        Target::new("/var/lib/kubelet", Some("config.yaml")),
    ];
    let mut add = |target: Target| {
        if !targets.contains(&target) {
            targets.push(target);
        }
    };
    if let Some((dir, name)) = kubelet_config.and_then(|p| p.rsplit_once('/')) {
        add(Target::new(
            if dir.is_empty() { "/" } else { dir },
            Some(name),
        ));
    }
    for drop_in in kubelet_drop_ins {
        if let Some((dir, _)) = drop_in.rsplit_once('/') {
            add(Target::new(dir, None));
        }
    }
    targets
}

/// The watches in place.
#[derive(Debug)]
pub struct Watcher {
    inotify: Inotify,
    watches: HashMap<WatchDescriptor, (PathBuf, Option<OsString>)>,
}

impl Watcher {
    /// Watches `targets` under `root` (the agent's view of the host's `/`). Directories that do
    /// not exist are skipped; the caller sets the watches again after each scan, so one that
    /// appears later is watched from then on.
    pub fn new(root: &Path, targets: &[Target]) -> nix::Result<(Watcher, Vec<PathBuf>)> {
        let inotify = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC)?;
        let mut watches = HashMap::new();
        let mut watched = Vec::new();
        let flags = AddWatchFlags::IN_CLOSE_WRITE
            | AddWatchFlags::IN_MOVED_TO
            | AddWatchFlags::IN_MOVED_FROM
            | AddWatchFlags::IN_CREATE
            | AddWatchFlags::IN_DELETE
            | AddWatchFlags::IN_ATTRIB;
        for target in targets {
            let dir = root.join(target.dir.trim_start_matches('/'));
            if !dir.is_dir() {
                continue;
            }
            if let Ok(descriptor) = inotify.add_watch(&dir, flags) {
                watches.insert(
                    descriptor,
                    (dir.clone(), target.only.clone().map(OsString::from)),
                );
                watched.push(dir);
            }
        }
        Ok((Watcher { inotify, watches }, watched))
    }

    /// The watched files that changed since the last call (without blocking).
    pub fn changed(&self) -> Vec<PathBuf> {
        let Ok(events) = self.inotify.read_events() else {
            return Vec::new();
        };
        let mut changed = Vec::new();
        for event in events {
            let Some((dir, only)) = self.watches.get(&event.wd) else {
                continue;
            };
            let relevant = match (&event.name, only) {
                (Some(name), Some(only)) => name == only,
                (_, None) => true,
                (None, Some(_)) => false,
            };
            if relevant {
                changed.push(match &event.name {
                    Some(name) => dir.join(name),
                    None => dir.clone(),
                });
            }
        }
        changed
    }
}

impl AsFd for Watcher {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inotify.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubelet_files_add_their_directories() {
        let targets = targets(
            Some("/etc/kubernetes/kubelet/config.json"),
            &["/etc/kubernetes/kubelet.conf.d/10-x.conf".into()],
        );
        assert!(targets.contains(&Target::new("/etc/kubernetes/kubelet", Some("config.json"))));
        assert!(targets.contains(&Target::new("/etc/kubernetes/kubelet.conf.d", None)));
        // The kubeadm default is there once.
        let again = super::targets(Some("/var/lib/kubelet/config.yaml"), &[]);
        assert_eq!(
            again.iter().filter(|t| t.dir == "/var/lib/kubelet").count(),
            1
        );
    }

    #[test]
    fn a_replaced_file_is_seen_and_unrelated_files_are_not() {
        let root = std::env::temp_dir().join(format!("nodecheck-watch-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("etc/ssh")).expect("dir");
        std::fs::create_dir_all(root.join("var/lib/kubelet")).expect("dir");
        let (watcher, watched) = Watcher::new(&root, &targets(None, &[])).expect("watch");
        assert_eq!(
            watched.len(),
            2,
            "only the directories that exist: {watched:?}"
        );
        assert!(watcher.changed().is_empty());
        // An editor's save: a new file renamed over the old one.
        std::fs::write(root.join("etc/ssh/.sshd_config.swp"), "x").expect("write");
        std::fs::rename(
            root.join("etc/ssh/.sshd_config.swp"),
            root.join("etc/ssh/sshd_config"),
        )
        .expect("rename");
        std::fs::write(root.join("var/lib/kubelet/cpu_manager_state"), "{}").expect("write");
        let changed = watcher.changed();
        assert_eq!(changed, vec![root.join("etc/ssh/sshd_config")]);
        let _ = std::fs::remove_dir_all(&root);
    }
}
