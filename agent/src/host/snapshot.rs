//! `nodecheck snapshot`: a `.tar.gz` of exactly what a scan read, so that
//! `nodecheck scan --root FILE.tar.gz` on another machine gives the same verdicts, and none
//! of the node's secrets.
//!
//! Content goes in only for files the scan read, and only what their kind allows
//! ([`super::content`]): whole for files that hold no secret, reduced to the judged values for
//! structured files that do, nothing at all when a file cannot be reduced cleanly. Files whose
//! metadata alone was judged (private keys, token files, kubeconfigs) go in with their mode and
//! owners and no content. As a second guard, content holding a private key block is dropped
//! whatever its kind. Proc entries go under `proc/`: command lines without the values of
//! secret-bearing flags, environments with only the etcd settings checks read. The snapshot is
//! written mode 0600.

use super::backend::{Backend, EntryKind, RawMeta, WITHHELD_LIST};
use super::content::{self, Content};
use super::{Host, Touched};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};
use std::path::Path;

/// Why a snapshot could not be written.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("cannot write snapshot {path}: {source}")]
    Write { path: String, source: io::Error },
}

/// What a snapshot holds, for the command's summary line.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SnapshotStats {
    pub files: usize,
    pub files_without_content: usize,
    pub dirs: usize,
    pub symlinks: usize,
    /// Files read by the scan whose content was left out because their secrets could not be
    /// removed cleanly (the snapshot's verdicts on them will differ).
    pub withheld: Vec<String>,
}

enum Planned {
    Dir(RawMeta),
    File(RawMeta, Vec<u8>),
    Symlink(RawMeta, String),
    /// A FIFO, socket or device, stored as a FIFO.
    Special(RawMeta),
}

/// Text holding a private key block, whatever else is around it: PEM (`-----BEGIN … PRIVATE
/// KEY-----`, also with trailing bytes or NULs), OpenSSH's own format, PuTTY's. Binaries that
/// merely mention the marker (sshd parses keys) are ELF files and not keys.
fn holds_private_key(data: &[u8]) -> bool {
    if data.starts_with(b"\x7fELF") {
        return false;
    }
    const MARKERS: &[&[u8]] = &[b"PRIVATE KEY-----", b"PuTTY-User-Key-File"];
    MARKERS
        .iter()
        .any(|m| data.windows(m.len()).any(|w| w == *m))
}

/// What a snapshot keeps of the content of a proc file, by its name.
fn keep_proc(path: &str, data: Vec<u8>) -> Vec<u8> {
    if path.ends_with("/environ") {
        content::redact_environ(&data)
    } else if path.ends_with("/cmdline") {
        content::redact_cmdline(&data)
    } else {
        data
    }
}

/// Plans the entries for one tree (root or proc) from what was touched in it.
#[allow(clippy::too_many_arguments)]
fn plan(
    backend: &Backend,
    prefix: &str,
    read: &BTreeMap<String, Option<Content>>,
    excerpts: &BTreeMap<String, Vec<u8>>,
    others: impl Iterator<Item = String>,
    plan: &mut BTreeMap<String, Planned>,
    withheld: &mut Vec<String>,
    unreadable: &BTreeSet<String>,
) {
    let all: BTreeSet<String> = read
        .keys()
        .chain(excerpts.keys())
        .cloned()
        .chain(others)
        .collect();
    for path in &all {
        // Ancestors first, with their real modes and owners.
        let mut ancestor = String::new();
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        for part in parts.iter().take(parts.len().saturating_sub(1)) {
            ancestor.push('/');
            ancestor.push_str(part);
            let key = tar_name(prefix, &ancestor);
            if plan.contains_key(&key) {
                continue;
            }
            if let Ok(meta) = backend.lstat(&ancestor)
                && meta.kind == EntryKind::Dir
            {
                plan.insert(key, Planned::Dir(meta));
            }
        }
        let Ok(meta) = backend.lstat(path) else {
            continue;
        };
        let key = tar_name(prefix, path);
        if key.is_empty() {
            continue;
        }
        let entry = match meta.kind {
            EntryKind::Dir => Planned::Dir(meta),
            EntryKind::Symlink => match backend.readlink(path) {
                Ok(target) => Planned::Symlink(meta, target),
                Err(_) => continue,
            },
            // A FIFO, socket or device: recorded as what it is (never as a file), so that
            // reading it from the snapshot fails as it did on the node.
            EntryKind::Other => Planned::Special(meta),
            EntryKind::File => {
                let kept = if unreadable.contains(path) {
                    withheld.push(key.clone());
                    None
                } else if let Some(excerpt) = excerpts.get(path) {
                    // A binary searched for its version: the excerpts, not the binary.
                    Some(excerpt.clone())
                } else if let Some(kind) = read.get(path) {
                    // Only what the scan read is read again; files judged on metadata are
                    // never opened. A file that cannot be read again (grown past the cap,
                    // gone) is withheld: an error when read from the snapshot, never empty.
                    backend
                        .read(path, super::CONFIG_CAP * 4)
                        .ok()
                        .and_then(|data| {
                            if prefix == "proc" {
                                // A file of a process's root kept reduced like its host
                                // counterpart (a component's config in its container).
                                match kind {
                                    Some(kind) if *kind != Content::Plain => {
                                        content::keep(*kind, &data)
                                    }
                                    _ => Some(keep_proc(path, data)),
                                }
                            } else if path.starts_with("/proc/") {
                                // A proc file reached through the root (a config naming
                                // `/proc/1/environ`): whole if it holds nothing to cut,
                                // else withheld (cut, it would read differently).
                                let reduced = keep_proc(path, data.clone());
                                (reduced == data).then_some(data)
                            } else {
                                kind.and_then(|kind| content::keep(kind, &data))
                            }
                        })
                        .filter(|d| !holds_private_key(d))
                        .or_else(|| {
                            withheld.push(key.clone());
                            None
                        })
                } else {
                    None
                };
                Planned::File(meta, kept.unwrap_or_default())
            }
        };
        plan.insert(key, entry);
    }
}

fn tar_name(prefix: &str, path: &str) -> String {
    let rel = path.trim_start_matches('/');
    if prefix.is_empty() {
        rel.to_string()
    } else if rel.is_empty() {
        prefix.to_string()
    } else {
        format!("{prefix}/{rel}")
    }
}

fn proc_path(rel: &str) -> String {
    format!("/{rel}")
}

/// Writes what `host` recorded (see [`Host::record_touched`]) as a `.tar.gz` at `out`.
pub fn write(host: &Host, out: &Path) -> Result<SnapshotStats, SnapshotError> {
    let touched: Touched = host.take_touched();
    let mut entries = BTreeMap::new();
    let mut withheld = Vec::new();
    plan(
        host.root_backend(),
        "",
        &touched.read,
        &touched.excerpts,
        touched
            .stat
            .iter()
            .chain(touched.listed.iter())
            .chain(touched.unreadable.iter())
            .filter(|p| !p.starts_with("/proc/") && *p != "/proc")
            .cloned(),
        &mut entries,
        &mut withheld,
        &touched.unreadable,
    );
    let proc_read: BTreeMap<String, Option<Content>> = touched
        .proc_read
        .iter()
        .map(|r| {
            let kind = touched
                .proc_content
                .get(r)
                .copied()
                .unwrap_or(Content::Plain);
            (proc_path(r), Some(kind))
        })
        .collect();
    plan(
        host.proc_backend(),
        "proc",
        &proc_read,
        &BTreeMap::new(),
        touched
            .proc_links
            .iter()
            .chain(touched.proc_listed.iter())
            .map(|r| proc_path(r)),
        &mut entries,
        &mut withheld,
        &BTreeSet::new(),
    );

    let display = out.display().to_string();
    let fail = |source| SnapshotError::Write {
        path: display.clone(),
        source,
    };
    // Mode 0600 from the start: what a snapshot holds is the node's configuration. It is
    // written to a new file beside the target and renamed over it at the end, so a symlink
    // or an existing file at the target is replaced, never written through.
    let temporary = {
        let name = out
            .file_name()
            .map_or_else(|| "snapshot".into(), |n| n.to_string_lossy().into_owned());
        out.with_file_name(format!(".{name}.{}.partial", std::process::id()))
    };
    let file = {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(nix::fcntl::OFlag::O_NOFOLLOW.bits())
            .open(&temporary)
            .map_err(fail)?
    };
    let result = write_archive(file, &entries, withheld);
    let finished = result.and_then(|stats| {
        std::fs::rename(&temporary, out)?;
        Ok(stats)
    });
    if finished.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    finished.map_err(fail)
}

/// Writes the planned entries as a `.tar.gz` to `file`.
fn write_archive(
    file: std::fs::File,
    entries: &BTreeMap<String, Planned>,
    withheld: Vec<String>,
) -> io::Result<SnapshotStats> {
    let gz =
        flate2::write::GzEncoder::new(io::BufWriter::new(file), flate2::Compression::default());
    let mut builder = tar::Builder::new(gz);
    let mut stats = SnapshotStats {
        withheld,
        ..SnapshotStats::default()
    };
    for (name, entry) in entries {
        let mut header = tar::Header::new_gnu();
        let meta = match entry {
            Planned::Dir(m)
            | Planned::File(m, _)
            | Planned::Symlink(m, _)
            | Planned::Special(m) => m,
        };
        header.set_mode(meta.mode);
        header.set_uid(u64::from(meta.uid));
        header.set_gid(u64::from(meta.gid));
        header.set_mtime(0);
        match entry {
            Planned::Dir(_) => {
                stats.dirs += 1;
                header.set_entry_type(tar::EntryType::Directory);
                header.set_size(0);
                builder.append_data(&mut header, format!("{name}/"), io::empty())?;
            }
            Planned::File(_, data) => {
                stats.files += 1;
                if data.is_empty() {
                    stats.files_without_content += 1;
                }
                header.set_entry_type(tar::EntryType::Regular);
                header.set_size(data.len() as u64);
                builder.append_data(&mut header, name, data.as_slice())?;
            }
            Planned::Special(_) => {
                stats.files += 1;
                stats.files_without_content += 1;
                header.set_entry_type(tar::EntryType::Fifo);
                header.set_size(0);
                builder.append_data(&mut header, name, io::empty())?;
            }
            Planned::Symlink(_, target) => {
                stats.symlinks += 1;
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_size(0);
                builder.append_link(&mut header, name, target)?;
            }
        }
    }
    if !stats.withheld.is_empty() {
        // A reader of the snapshot must see these files as unreadable, not as empty.
        let list = stats.withheld.join("\n") + "\n";
        let mut header = tar::Header::new_gnu();
        header.set_mode(0o600);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(list.len() as u64);
        builder.append_data(&mut header, WITHHELD_LIST, list.as_bytes())?;
    }
    let gz = builder.into_inner()?;
    let mut writer = gz.finish()?;
    writer.flush()?;
    writer.get_ref().sync_all()?;
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::super::testing::TempRoot;
    use super::*;

    #[test]
    fn snapshot_round_trips_modes_links_and_drops_key_content() {
        let root = TempRoot::new();
        root.file("etc/ssh/sshd_config", "PermitRootLogin no\n", 0o600)
            .file(
                "etc/ssh/ssh_host_ed25519_key",
                "-----BEGIN OPENSSH PRIVATE KEY-----\nsecret\n",
                0o600,
            )
            .file("etc/ssh/leaked", "-----BEGIN RSA PRIVATE KEY-----\n", 0o644)
            .symlink("etc/ssh/link.conf", "sshd_config")
            .file("proc/1/status", "Name:\tinit\n", 0o444)
            .file(
                "proc/1/environ",
                "AWS_SECRET_ACCESS_KEY=x\0ETCD_DATA_DIR=/d\0",
                0o400,
            );
        let host = Host::open(root.path(), None)
            .expect("open")
            .record_touched();
        assert!(
            host.read_text("/etc/ssh/link.conf", 1000, Content::Plain)
                .is_ok()
        );
        assert!(host.stat("/etc/ssh/ssh_host_ed25519_key").is_ok());
        assert!(host.read("/etc/ssh/leaked", 1000, Content::Plain).is_ok());
        assert!(host.proc_read("1/status", 1000).is_ok());
        assert!(host.proc_read("1/environ", 1000).is_ok());
        let out = root.join("snap.tar.gz");
        let stats = write(&host, &out).expect("write");
        assert_eq!(stats.symlinks, 1);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out)
            .expect("written")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);

        let snap = Host::open(&out, None).expect("open snapshot");
        assert_eq!(
            snap.read_text("/etc/ssh/link.conf", 1000, Content::Plain)
                .as_deref(),
            Ok("PermitRootLogin no\n")
        );
        let key = snap
            .stat("/etc/ssh/ssh_host_ed25519_key")
            .expect("key stat");
        assert_eq!((key.mode, key.size), (0o600, 0));
        assert_eq!(
            snap.read("/etc/ssh/ssh_host_ed25519_key", 1000, Content::Plain),
            Ok(vec![])
        );
        // A key read where a config was expected: withheld, and an error to read, not empty.
        assert!(matches!(
            snap.read("/etc/ssh/leaked", 1000, Content::Plain),
            Err(crate::host::FileError::Io { message, .. }) if message.contains("withheld")
        ));
        assert_eq!(stats.withheld, ["etc/ssh/leaked"]);
        assert_eq!(snap.stat("/etc/ssh/sshd_config").map(|m| m.mode), Ok(0o600));
        assert_eq!(
            snap.proc_read("1/environ", 1000),
            Ok(b"ETCD_DATA_DIR=/d\0".to_vec())
        );
        assert_eq!(
            snap.proc_read("1/status", 1000),
            Ok(b"Name:\tinit\n".to_vec())
        );
    }

    #[test]
    fn a_file_refused_for_its_size_stays_unreadable_in_the_snapshot() {
        // Issue 14 red team F13: a runtime config the scan refused must not come back readable
        // (or empty) from the snapshot, or the snapshot passes what the node could not judge.
        let root = TempRoot::new();
        root.file("etc/ssh/sshd_config", "PermitRootLogin no\n", 0o600)
            .file(
                "etc/containerd/config.toml",
                &"# padding\n".repeat(100),
                0o600,
            );
        let host = Host::open(root.path(), None)
            .expect("open")
            .record_touched();
        assert!(
            host.read_text("/etc/ssh/sshd_config", 1000, Content::Plain)
                .is_ok()
        );
        assert!(matches!(
            host.read_text("/etc/containerd/config.toml", 100, Content::RuntimeConfig),
            Err(crate::host::FileError::TooLarge { .. })
        ));
        let out = root.join("snap.tar.gz");
        let stats = write(&host, &out).expect("write");
        assert_eq!(stats.withheld, ["etc/containerd/config.toml"]);
        let snap = Host::open(&out, None).expect("open snapshot");
        assert!(
            snap.read_text(
                "/etc/containerd/config.toml",
                100_000,
                Content::RuntimeConfig
            )
            .is_err()
        );
    }
}
