//! Raw access to a tree of files: a directory on this machine, or a tar snapshot in memory.
//!
//! Nothing here follows symlinks: every operation works on the path it is given, the way
//! `lstat`/`readlink` do. Resolving a path inside the host root is [`super::resolve`]'s job, so
//! that a directory and a tar behave the same.

use super::dirtree::DirTree;
use std::collections::BTreeMap;
use std::io::{self, Read};
use std::sync::Arc;

/// What kind of entry a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    Other,
}

/// Metadata of one entry, not following a final symlink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawMeta {
    pub kind: EntryKind,
    /// Permission bits including setuid/setgid/sticky (`mode & 0o7777`).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    /// Inode number (0 in a tar snapshot).
    pub inode: u64,
}

impl RawMeta {
    /// A directory no entry describes, only implied by the files below it (a tar need not
    /// carry every directory; an overlay adds files in directories it creates).
    pub const IMPLIED_DIR: RawMeta = RawMeta {
        kind: EntryKind::Dir,
        mode: 0o755,
        uid: 0,
        gid: 0,
        size: 0,
        inode: 0,
    };
}

/// Why a raw read failed.
#[derive(Debug)]
pub enum RawReadError {
    Io(io::Error),
    /// The file holds more than the cap; the number is the cap.
    TooLarge(u64),
}

/// One entry of a tar snapshot.
#[derive(Debug, Clone)]
pub struct TarEntry {
    pub meta: RawMeta,
    pub data: Vec<u8>,
    pub link_target: Option<String>,
}

/// A tar snapshot held in memory, keyed by normalised relative path (`etc/ssh/sshd_config`).
#[derive(Debug, Default)]
pub struct TarImage {
    pub entries: BTreeMap<String, TarEntry>,
    /// Entries that were refused (an absolute or `..` path), with the reason.
    pub refused: Vec<String>,
    /// Files the snapshot holds without their content because it held secrets that could not
    /// be removed ([`WITHHELD_LIST`]): reading one is an error, never an empty file.
    pub withheld: std::collections::BTreeSet<String>,
}

/// The entry of a snapshot listing the files whose content was withheld, one per line.
pub const WITHHELD_LIST: &str = ".nodecheck/withheld";

/// A tree of files: the host root, or the proc tree.
#[derive(Debug, Clone)]
pub enum Backend {
    /// A directory of this machine; host paths are opened below it, inside it.
    Dir(DirTree),
    /// A tar snapshot; host paths are looked up below `prefix` (`""` or `"proc"`).
    Tar {
        image: Arc<TarImage>,
        prefix: String,
    },
    /// Changes held in memory laid over another tree: a proposed remediation, scanned before
    /// anyone applies it.
    Overlay {
        base: Box<Backend>,
        layer: Arc<Layer>,
    },
}

/// Files added or replaced, and modes and owners changed, over a tree; keyed like a tar image
/// (`etc/ssh/sshd_config`, relative to the tree).
#[derive(Debug, Default, Clone)]
pub struct Layer {
    entries: BTreeMap<String, Laid>,
}

/// One path of a [`Layer`].
#[derive(Debug, Clone)]
enum Laid {
    /// A regular file with this content (new, or replacing whatever was there).
    File {
        data: Vec<u8>,
        mode: u32,
        uid: u32,
        gid: u32,
    },
    /// The entry beneath, with another mode or owner.
    Meta {
        mode: Option<u32>,
        uid: Option<u32>,
        gid: Option<u32>,
    },
}

impl Layer {
    fn key(path: &str) -> String {
        path.trim_start_matches('/').to_string()
    }

    /// Puts a regular file at `path` (a path of the tree, `/etc/ssh/x`).
    pub fn put_file(&mut self, path: &str, data: Vec<u8>, mode: u32, uid: u32, gid: u32) {
        self.entries.insert(
            Self::key(path),
            Laid::File {
                data,
                mode: mode & 0o7777,
                uid,
                gid,
            },
        );
    }

    /// Changes the mode or owner of what is at `path` (a file put earlier keeps its content).
    pub fn set_meta(&mut self, path: &str, mode: Option<u32>, uid: Option<u32>, gid: Option<u32>) {
        let key = Self::key(path);
        match self.entries.get_mut(&key) {
            Some(Laid::File {
                mode: m,
                uid: u,
                gid: g,
                ..
            }) => {
                *m = mode.map_or(*m, |mode| mode & 0o7777);
                *u = uid.unwrap_or(*u);
                *g = gid.unwrap_or(*g);
            }
            Some(Laid::Meta {
                mode: m,
                uid: u,
                gid: g,
            }) => {
                *m = mode.map(|mode| mode & 0o7777).or(*m);
                *u = uid.or(*u);
                *g = gid.or(*g);
            }
            None => {
                self.entries.insert(
                    key,
                    Laid::Meta {
                        mode: mode.map(|mode| mode & 0o7777),
                        uid,
                        gid,
                    },
                );
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The names directly below `path` that the layer adds.
    fn children(&self, path: &str) -> Vec<String> {
        let key = Self::key(path);
        let prefix = if key.is_empty() {
            String::new()
        } else {
            format!("{key}/")
        };
        self.entries
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .filter(|(_, laid)| matches!(laid, Laid::File { .. }))
            .filter_map(|(k, _)| k[prefix.len()..].split('/').next())
            .filter(|n| !n.is_empty())
            .map(str::to_string)
            .collect()
    }

    fn file(&self, path: &str) -> Option<&[u8]> {
        match self.entries.get(&Self::key(path)) {
            Some(Laid::File { data, .. }) => Some(data),
            _ => None,
        }
    }
}

fn not_found() -> io::Error {
    io::Error::from(io::ErrorKind::NotFound)
}

impl Backend {
    /// The key of an absolute host path in a tar image.
    fn tar_key(prefix: &str, path: &str) -> String {
        let rel = path.trim_start_matches('/');
        match (prefix.is_empty(), rel.is_empty()) {
            (true, _) => rel.to_string(),
            (false, true) => prefix.to_string(),
            (false, false) => format!("{prefix}/{rel}"),
        }
    }

    fn tar_entry<'a>(image: &'a TarImage, prefix: &str, path: &str) -> io::Result<&'a TarEntry> {
        image
            .entries
            .get(&Self::tar_key(prefix, path))
            .ok_or_else(not_found)
    }

    pub fn lstat(&self, path: &str) -> io::Result<RawMeta> {
        match self {
            Backend::Overlay { base, layer } => match layer.entries.get(&Layer::key(path)) {
                Some(Laid::File {
                    data,
                    mode,
                    uid,
                    gid,
                }) => Ok(RawMeta {
                    kind: EntryKind::File,
                    mode: *mode,
                    uid: *uid,
                    gid: *gid,
                    size: data.len() as u64,
                    inode: 0,
                }),
                Some(Laid::Meta { mode, uid, gid }) => {
                    let under = base.lstat(path)?;
                    Ok(RawMeta {
                        mode: mode.unwrap_or(under.mode),
                        uid: uid.unwrap_or(under.uid),
                        gid: gid.unwrap_or(under.gid),
                        ..under
                    })
                }
                None => match base.lstat(path) {
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {
                        // A directory the layer creates by putting a file in it.
                        if layer.children(path).is_empty() {
                            Err(e)
                        } else {
                            Ok(RawMeta::IMPLIED_DIR)
                        }
                    }
                    other => other,
                },
            },
            Backend::Dir(tree) => {
                use nix::sys::stat::SFlag;
                let st = tree.lstat(path)?;
                let kind = match SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT {
                    SFlag::S_IFLNK => EntryKind::Symlink,
                    SFlag::S_IFDIR => EntryKind::Dir,
                    SFlag::S_IFREG => EntryKind::File,
                    _ => EntryKind::Other,
                };
                Ok(RawMeta {
                    kind,
                    mode: st.st_mode & 0o7777,
                    uid: st.st_uid,
                    gid: st.st_gid,
                    size: u64::try_from(st.st_size).unwrap_or(0),
                    inode: st.st_ino,
                })
            }
            Backend::Tar { image, prefix } => {
                let key = Self::tar_key(prefix, path);
                if let Some(entry) = image.entries.get(&key) {
                    return Ok(entry.meta);
                }
                // A tar need not carry an entry for every directory: a path that has
                // entries below it is a directory.
                let dir_prefix = if key.is_empty() {
                    String::new()
                } else {
                    format!("{key}/")
                };
                let has_children = image
                    .entries
                    .range(dir_prefix.clone()..)
                    .next()
                    .is_some_and(|(k, _)| k.starts_with(&dir_prefix));
                if has_children || key.is_empty() {
                    Ok(RawMeta::IMPLIED_DIR)
                } else {
                    Err(not_found())
                }
            }
        }
    }

    pub fn readlink(&self, path: &str) -> io::Result<String> {
        match self {
            Backend::Dir(tree) => tree.readlink(path),
            Backend::Overlay { base, layer } => match layer.file(path) {
                Some(_) => Err(io::Error::from(io::ErrorKind::InvalidInput)),
                None => base.readlink(path),
            },
            Backend::Tar { image, prefix } => Self::tar_entry(image, prefix, path)?
                .link_target
                .clone()
                .ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput)),
        }
    }

    /// Reads a regular file (not following a final symlink), refusing more than `cap` bytes.
    pub fn read(&self, path: &str, cap: u64) -> Result<Vec<u8>, RawReadError> {
        match self {
            Backend::Overlay { base, layer } => match layer.file(path) {
                Some(data) if data.len() as u64 > cap => Err(RawReadError::TooLarge(cap)),
                Some(data) => Ok(data.to_vec()),
                None => base.read(path, cap),
            },
            Backend::Dir(tree) => {
                let mut file = tree.open_file(path).map_err(RawReadError::Io)?;
                // One read usually does it. A proc file is generated per read: a seq_file
                // hands out at most a page of whole records per call (so a short read
                // near a page is not the end), but a read that returns less than half a
                // page is the whole file. Skipping the end-of-file read matters on nodes
                // with thousands of processes (and the socket tables are walked again by
                // the kernel for every read).
                let first_len = usize::try_from(cap.saturating_add(1).min(8192)).unwrap_or(8192);
                let mut data = vec![0u8; first_len];
                let first = file.read(&mut data).map_err(RawReadError::Io)?;
                data.truncate(first);
                if first < 2048 && tree.is_procfs() {
                    return Ok(data);
                }
                file.take((cap + 1).saturating_sub(first as u64))
                    .read_to_end(&mut data)
                    .map_err(RawReadError::Io)?;
                if data.len() as u64 > cap {
                    return Err(RawReadError::TooLarge(cap));
                }
                Ok(data)
            }
            Backend::Tar { image, prefix } => {
                let entry = Self::tar_entry(image, prefix, path).map_err(RawReadError::Io)?;
                if image.withheld.contains(&Self::tar_key(prefix, path)) {
                    return Err(RawReadError::Io(io::Error::other(
                        "content withheld from the snapshot (it held secrets that could not be removed)",
                    )));
                }
                if entry.meta.kind == EntryKind::Dir {
                    return Err(RawReadError::Io(io::Error::from(
                        io::ErrorKind::IsADirectory,
                    )));
                }
                if entry.data.len() as u64 > cap {
                    return Err(RawReadError::TooLarge(cap));
                }
                Ok(entry.data.clone())
            }
        }
    }

    /// Runs `f` on a reader of the regular file at `path` (not following a final symlink).
    pub fn with_reader<T>(
        &self,
        path: &str,
        f: impl FnOnce(&mut dyn Read) -> io::Result<T>,
    ) -> io::Result<T> {
        match self {
            Backend::Dir(tree) => f(&mut tree.open_file(path)?),
            Backend::Tar { image, prefix } => {
                let entry = Self::tar_entry(image, prefix, path)?;
                if entry.meta.kind != EntryKind::File {
                    return Err(io::Error::other("not a regular file"));
                }
                f(&mut entry.data.as_slice())
            }
            Backend::Overlay { base, layer } => match layer.file(path) {
                Some(mut data) => f(&mut data),
                None => base.with_reader(path, f),
            },
        }
    }

    /// Runs `f` on a file that can be read at any offset (a binary's headers and sections).
    pub fn with_seekable<T>(
        &self,
        path: &str,
        f: impl FnOnce(&mut dyn super::elf::ReadSeek) -> io::Result<T>,
    ) -> io::Result<T> {
        match self {
            Backend::Dir(tree) => f(&mut tree.open_file(path)?),
            Backend::Tar { image, prefix } => {
                let entry = Self::tar_entry(image, prefix, path)?;
                if entry.meta.kind != EntryKind::File {
                    return Err(io::Error::other("not a regular file"));
                }
                f(&mut io::Cursor::new(entry.data.as_slice()))
            }
            Backend::Overlay { base, layer } => match layer.file(path) {
                Some(data) => f(&mut io::Cursor::new(data)),
                None => base.with_seekable(path, f),
            },
        }
    }

    /// The tree this one is laid over, or itself: what a live host's special files (procfs,
    /// sockets) are asked through.
    pub fn innermost(&self) -> &Backend {
        match self {
            Backend::Overlay { base, .. } => base.innermost(),
            other => other,
        }
    }

    /// The root filesystem of process `pid` in a proc tree (`<pid>/root`), as a tree of its
    /// own: a container's files, never changed by an overlay.
    pub fn process_root(&self, pid: u32) -> io::Result<Backend> {
        match self.innermost() {
            Backend::Dir(tree) => Ok(Backend::Dir(tree.process_root(pid)?)),
            Backend::Tar { image, prefix } => Ok(Backend::Tar {
                image: image.clone(),
                prefix: format!("{prefix}/{pid}/root"),
            }),
            Backend::Overlay { .. } => Err(io::Error::other("nested overlay")),
        }
    }

    /// Names in a directory, sorted.
    pub fn list(&self, path: &str) -> io::Result<Vec<String>> {
        let mut names = match self {
            Backend::Dir(tree) => tree.list(path)?,
            Backend::Tar { image, prefix } => {
                let key = Self::tar_key(prefix, path);
                let dir_prefix = if key.is_empty() {
                    String::new()
                } else {
                    format!("{key}/")
                };
                let names: Vec<String> = image
                    .entries
                    .range(dir_prefix.clone()..)
                    .take_while(|(k, _)| k.starts_with(&dir_prefix))
                    .filter_map(|(k, _)| k[dir_prefix.len()..].split('/').next())
                    .filter(|n| !n.is_empty())
                    .map(str::to_string)
                    .collect();
                if names.is_empty() && self.lstat(path)?.kind != EntryKind::Dir {
                    return Err(io::Error::from(io::ErrorKind::NotADirectory));
                }
                names
            }
            Backend::Overlay { base, layer } => {
                let added = layer.children(path);
                let mut names = match base.list(path) {
                    Err(e) if e.kind() == io::ErrorKind::NotFound && !added.is_empty() => {
                        Vec::new()
                    }
                    other => other?,
                };
                names.extend(added);
                names
            }
        };
        names.sort();
        names.dedup();
        Ok(names)
    }
}
