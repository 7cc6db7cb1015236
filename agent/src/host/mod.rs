//! The only code that reads the host.
//!
//! A [`Host`] is a root filesystem (a directory, or a `.tar`/`.tar.gz` snapshot) and a proc
//! tree (`<root>/proc` unless given apart). Every path is a host path (`/etc/ssh/sshd_config`)
//! and is resolved *inside* the root: a symlink, absolute or relative, never leads out of it,
//! the way `openat2(RESOLVE_IN_ROOT)` resolves. `resolve` names the file in user space (the
//! same for a directory and a tar, and it records the links followed); on a directory the
//! open itself is then done by the kernel inside the root too (`dirtree`), so a path swapped
//! between the two steps cannot lead out. Only regular files are read. Reads are capped in
//! size, and every path the scan touches is recorded so that `nodecheck snapshot` can write
//! exactly what a scan reads.
//!
//! User and group names come from the root's own `/etc/passwd` and `/etc/group`, never from the
//! scanner's user database.

mod backend;
pub mod content;
mod dirtree;
pub mod elf;
pub mod fixture;
mod pattern;
mod resolve;
pub mod snapshot;
mod sock_diag;
mod tarball;
mod users;

pub use backend::{EntryKind, Layer, RawMeta};
pub use content::Content;
pub use pattern::{fnmatch, has_glob_meta};
pub use sock_diag::DiagSocket;
pub use tarball::{TarError, is_tar_path};
pub use users::UserDb;

use backend::{Backend, RawReadError};
use dirtree::DirTree;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

/// Size cap for configuration files.
pub const CONFIG_CAP: u64 = 4 * 1024 * 1024;
/// Size cap for small proc files (status, cmdline, net tables are read with their own cap).
pub const PROC_CAP: u64 = 1024 * 1024;

/// Why a host file could not be used. Said once, with the path, in findings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    #[error("{0} does not exist")]
    NotFound(String),
    #[error("{0}: permission denied")]
    PermissionDenied(String),
    #[error("{path}: symlink loop or more than {max} symlinks")]
    SymlinkLoop { path: String, max: u32 },
    #[error("{path} is larger than the {cap}-byte cap")]
    TooLarge { path: String, cap: u64 },
    #[error("{0} is not valid UTF-8 text (binary file?)")]
    NotText(String),
    #[error("{0} is a directory")]
    IsDirectory(String),
    #[error("{path}: {message}")]
    Io { path: String, message: String },
    /// A budget of the scan ran out at this file (bytes read, the deadline, a glob's fan-out).
    #[error("{path} not read: {budget}")]
    Budget { path: String, budget: String },
}

impl FileError {
    fn from_io(path: &str, err: &std::io::Error) -> FileError {
        match err.kind() {
            std::io::ErrorKind::NotFound => FileError::NotFound(path.to_string()),
            std::io::ErrorKind::PermissionDenied => FileError::PermissionDenied(path.to_string()),
            std::io::ErrorKind::IsADirectory => FileError::IsDirectory(path.to_string()),
            _ => FileError::Io {
                path: path.to_string(),
                message: err.to_string(),
            },
        }
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, FileError::NotFound(_))
    }

    /// The same error about `shown` (a path inside a process's root, said as
    /// `/proc/<pid>/root/…` so the reader knows which tree).
    fn shown_as(self, shown: &str) -> FileError {
        let path = shown.to_string();
        match self {
            FileError::NotFound(_) => FileError::NotFound(path),
            FileError::PermissionDenied(_) => FileError::PermissionDenied(path),
            FileError::SymlinkLoop { max, .. } => FileError::SymlinkLoop { path, max },
            FileError::TooLarge { cap, .. } => FileError::TooLarge { path, cap },
            FileError::NotText(_) => FileError::NotText(path),
            FileError::IsDirectory(_) => FileError::IsDirectory(path),
            FileError::Io { message, .. } => FileError::Io { path, message },
            FileError::Budget { budget, .. } => FileError::Budget { path, budget },
        }
    }
}

/// The link of the kernel's initial pid namespace (`PROC_PID_INIT_INO`, 0xEFFFFFFC).
const INITIAL_PID_NAMESPACE: &str = "pid:[4026531836]";

/// Whose network namespace a proc tree's `/proc/sys/net` shows ([`Host::sysctl_net_view`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetView {
    /// The host's: nodecheck shares pid 1's network namespace.
    Host,
    /// Another namespace's, or it cannot be told: the values are not the node's. Why.
    Other(String),
    /// A copied proc tree (a snapshot, a fixture): it holds what was recorded, and a snapshot
    /// records `/proc/sys/net` only from the host's namespace.
    Recorded,
}

/// Why the host could not be opened at all (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error("root {0} is not a directory or a .tar/.tar.gz snapshot")]
    BadRoot(String),
    #[error("cannot open root {path}: {message}")]
    Unreadable { path: String, message: String },
    #[error("--proc {path} cannot be used: {reason}")]
    BadProc { path: String, reason: String },
    #[error(transparent)]
    Tar(#[from] TarError),
}

/// A real procfs, or a directory shaped like one: at least one `<pid>/status`.
fn looks_like_procfs(tree: &DirTree) -> bool {
    if tree.is_procfs() {
        return true;
    }
    tree.list("/").is_ok_and(|names| {
        names
            .iter()
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            .any(|pid| {
                tree.lstat(&format!("{pid}/status"))
                    .is_ok_and(|st| st.st_mode & libc_mode::S_IFMT == libc_mode::S_IFREG)
            })
    })
}

/// File type bits of `st_mode`, as the kernel defines them.
mod libc_mode {
    pub const S_IFMT: u32 = 0o170000;
    pub const S_IFREG: u32 = 0o100000;
}

/// Metadata of a host file, after resolving symlinks inside the root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMeta {
    /// The path as asked for.
    pub path: String,
    /// The path after resolution inside the root.
    pub resolved: String,
    /// Whether the path itself is a symlink (its target's metadata is what follows).
    pub is_symlink: bool,
    pub kind: EntryKind,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
}

/// What the scan touched, for `nodecheck snapshot`.
#[derive(Debug, Default)]
pub(crate) struct Touched {
    /// Host paths whose content was read, with what kind of file each is (`None` when two
    /// reads said different kinds: then no content is kept).
    pub read: BTreeMap<String, Option<Content>>,
    /// Host paths whose metadata (or link) was looked at.
    pub stat: BTreeSet<String>,
    /// Directories listed.
    pub listed: BTreeSet<String>,
    /// Host paths searched as a stream (binaries), with the excerpts found: a snapshot
    /// keeps those instead of the whole file.
    pub excerpts: BTreeMap<String, Vec<u8>>,
    /// Proc paths (relative to the proc root) read, stat'ed or listed.
    pub proc_read: BTreeSet<String>,
    /// Of those, files of a process's root that are not plain (a component's config read in
    /// its container), with what they are: a snapshot keeps them reduced like host files.
    pub proc_content: BTreeMap<String, Content>,
    pub proc_links: BTreeSet<String>,
    /// Host paths a read refused for their size: a snapshot withholds them, so that reading
    /// one there fails as it did on the node instead of reading a cut copy.
    pub unreadable: BTreeSet<String>,
    pub proc_listed: BTreeSet<String>,
}

/// A host to scan.
#[derive(Debug)]
pub struct Host {
    root: Backend,
    proc: Backend,
    description: String,
    warnings: Vec<String>,
    users: OnceLock<UserDb>,
    touched: Option<Mutex<Touched>>,
    budget: Budget,
}

/// Bytes of file content (root and proc tree) one scan may read: a hostile root cannot make a
/// scan hold more.
pub const SCAN_READ_BUDGET: u64 = 64 * 1024 * 1024;
/// Paths one glob may visit (sshd's `Include a/*/*/*` through symlinks fans out fast).
pub const GLOB_BUDGET: usize = 4096;

/// What the scan may still spend, and what ran out.
#[derive(Debug)]
struct Budget {
    read_left: std::sync::atomic::AtomicU64,
    deadline: Option<(std::time::Instant, std::time::Duration)>,
    /// What ran out, first few with the file (said once each).
    exhausted: Mutex<Vec<String>>,
}

impl Default for Budget {
    fn default() -> Budget {
        Budget {
            read_left: std::sync::atomic::AtomicU64::new(SCAN_READ_BUDGET),
            deadline: None,
            exhausted: Mutex::new(Vec::new()),
        }
    }
}

impl Host {
    /// Opens `root` (directory or snapshot) with its proc tree at `proc` (default `<root>/proc`).
    pub fn open(root: &Path, proc: Option<&Path>) -> Result<Host, HostError> {
        let (root_backend, default_proc, mut warnings) = if is_tar_path(root) && root.is_file() {
            let image = tarball::load(root)?;
            let warnings = image
                .refused
                .iter()
                .map(|r| format!("snapshot entry refused: {r}"))
                .collect();
            let image = Arc::new(image);
            let root_backend = Backend::Tar {
                image: image.clone(),
                prefix: String::new(),
            };
            let proc_backend = Backend::Tar {
                image,
                prefix: "proc".into(),
            };
            (root_backend, Some(proc_backend), warnings)
        } else if root.is_dir() {
            let tree = DirTree::open(root).map_err(|e| HostError::Unreadable {
                path: root.display().to_string(),
                message: e.to_string(),
            })?;
            // The proc tree of a directory root is looked up inside the root like any other
            // path: a `proc` that is a symlink cannot lead out of it.
            let proc = tree.subtree("proc").ok().map(Backend::Dir);
            (Backend::Dir(tree), proc, Vec::new())
        } else {
            return Err(HostError::BadRoot(root.display().to_string()));
        };
        let proc = match proc {
            Some(p) => {
                let tree = DirTree::open(p).map_err(|e| HostError::BadProc {
                    path: p.display().to_string(),
                    reason: e.to_string(),
                })?;
                if !looks_like_procfs(&tree) {
                    return Err(HostError::BadProc {
                        path: p.display().to_string(),
                        reason: "it is neither a procfs nor a copy of one (no <pid>/status)".into(),
                    });
                }
                Backend::Dir(tree)
            }
            None => default_proc.unwrap_or_else(|| {
                warnings.push(format!(
                    "{}/proc is not a directory; no process is visible",
                    root.display()
                ));
                Backend::Tar {
                    image: Arc::new(backend::TarImage::default()),
                    prefix: "proc".into(),
                }
            }),
        };
        Ok(Host {
            root: root_backend,
            proc,
            description: root.display().to_string(),
            warnings,
            users: OnceLock::new(),
            touched: None,
            budget: Budget::default(),
        })
    }

    /// Gives the scan a deadline: past it, every read fails with a [`FileError::Budget`]
    /// naming it, so gathering ends at once with what it has.
    pub fn with_deadline(mut self, timeout: std::time::Duration) -> Host {
        self.budget.deadline = Some((std::time::Instant::now() + timeout, timeout));
        self
    }

    /// The budgets that ran out during the scan, each with the file it stopped at; empty
    /// when the scan read everything it wanted.
    pub fn exhausted(&self) -> Vec<String> {
        self.budget
            .exhausted
            .lock()
            .map(|e| e.clone())
            .unwrap_or_default()
    }

    /// Whether the deadline passed.
    pub fn deadline_passed(&self) -> bool {
        self.budget
            .deadline
            .is_some_and(|(at, _)| std::time::Instant::now() >= at)
    }

    /// Records that a budget of the caller's ran out at `path` (a command line with too many
    /// arguments, a process table too large): the scan's facts are then partial, and say so.
    pub fn over_budget(&self, path: &str, budget: String) -> FileError {
        self.exhaust(path, budget)
    }

    fn exhaust(&self, path: &str, budget: String) -> FileError {
        if let Ok(mut exhausted) = self.budget.exhausted.lock() {
            // Each budget is said once, with the first file it stopped.
            if !exhausted.iter().any(|e| e.ends_with(&budget)) && exhausted.len() < 8 {
                exhausted.push(format!("{path} not read: {budget}"));
            }
        }
        FileError::Budget {
            path: path.to_string(),
            budget,
        }
    }

    /// Fails once the deadline has passed.
    fn in_time(&self, path: &str) -> Result<(), FileError> {
        match self.budget.deadline {
            Some((at, timeout)) if std::time::Instant::now() >= at => Err(self.exhaust(
                path,
                format!(
                    "the scan's deadline (--timeout {}) passed",
                    seconds(timeout)
                ),
            )),
            _ => Ok(()),
        }
    }

    /// Takes `bytes` from the scan's read budget.
    fn charge(&self, path: &str, bytes: usize) -> Result<(), FileError> {
        use std::sync::atomic::Ordering;
        let bytes = bytes as u64;
        let took =
            self.budget
                .read_left
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                    left.checked_sub(bytes)
                });
        match took {
            Ok(_) => Ok(()),
            Err(_) => {
                self.budget.read_left.store(0, Ordering::Relaxed);
                Err(self.exhaust(
                    path,
                    format!(
                        "the scan's read budget of {} MiB ran out",
                        SCAN_READ_BUDGET / (1024 * 1024)
                    ),
                ))
            }
        }
    }

    /// A host from a snapshot held in memory (an uncompressed tar): for tools and fuzzing.
    pub fn from_tar_bytes(bytes: &[u8]) -> Result<Host, HostError> {
        let image = Arc::new(tarball::load_bytes(bytes, "(in memory)")?);
        let warnings = image
            .refused
            .iter()
            .map(|r| format!("snapshot entry refused: {r}"))
            .collect();
        Ok(Host {
            root: Backend::Tar {
                image: image.clone(),
                prefix: String::new(),
            },
            proc: Backend::Tar {
                image,
                prefix: "proc".into(),
            },
            description: "(in memory)".into(),
            warnings,
            users: OnceLock::new(),
            touched: None,
            budget: Budget::default(),
        })
    }

    /// Records every path the scan touches, for [`snapshot::write`].
    pub fn record_touched(mut self) -> Host {
        self.touched = Some(Mutex::new(Touched::default()));
        self
    }

    /// What the root is (path of the directory or snapshot).
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Problems met while opening the host that did not stop the scan.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    pub fn is_snapshot(&self) -> bool {
        matches!(self.root.innermost(), Backend::Tar { .. })
    }

    /// This host with `root` laid over its root filesystem and `proc` over its proc tree,
    /// held in memory: what the host would look like once a proposal is applied. Reads go to
    /// the same files as this host's (nothing is written anywhere); the budgets start afresh.
    pub fn with_overlay(&self, root: Layer, proc: Layer) -> Host {
        let over = |backend: &Backend, layer: Layer| {
            if layer.is_empty() {
                backend.clone()
            } else {
                Backend::Overlay {
                    base: Box::new(backend.clone()),
                    layer: Arc::new(layer),
                }
            }
        };
        Host {
            root: over(&self.root, root),
            proc: over(&self.proc, proc),
            description: self.description.clone(),
            warnings: self.warnings.clone(),
            users: OnceLock::new(),
            touched: None,
            budget: Budget::default(),
        }
    }

    fn touch(&self, f: impl FnOnce(&mut Touched)) {
        if let Some(touched) = &self.touched
            && let Ok(mut t) = touched.lock()
        {
            f(&mut t);
        }
    }

    pub(crate) fn take_touched(&self) -> Touched {
        self.touched
            .as_ref()
            .and_then(|t| t.lock().ok().map(|mut t| std::mem::take(&mut *t)))
            .unwrap_or_default()
    }

    pub(crate) fn root_backend(&self) -> &Backend {
        &self.root
    }

    pub(crate) fn proc_backend(&self) -> &Backend {
        &self.proc
    }

    /// Resolves a host path inside the root, following every symlink (also the last one).
    pub fn resolve(&self, path: &str) -> Result<String, FileError> {
        self.in_time(path)?;
        resolve::resolve(&self.root, path, true, &mut |p| {
            self.touch(|t| {
                t.stat.insert(p.to_string());
            })
        })
    }

    /// Metadata of a host file (following symlinks inside the root).
    pub fn stat(&self, path: &str) -> Result<FileMeta, FileError> {
        let resolved = self.resolve(path)?;
        let unfollowed = resolve::resolve(&self.root, path, false, &mut |_| {})?;
        let is_symlink = self
            .root
            .lstat(&unfollowed)
            .is_ok_and(|m| m.kind == EntryKind::Symlink);
        let meta = self
            .root
            .lstat(&resolved)
            .map_err(|e| FileError::from_io(path, &e))?;
        self.touch(|t| {
            t.stat.insert(resolved.clone());
        });
        Ok(FileMeta {
            path: path.to_string(),
            resolved,
            is_symlink,
            kind: meta.kind,
            mode: meta.mode,
            uid: meta.uid,
            gid: meta.gid,
            size: meta.size,
        })
    }

    /// Whether a host path exists (after resolution).
    pub fn exists(&self, path: &str) -> bool {
        self.stat(path).is_ok()
    }

    /// Whether the path itself exists, even as a dangling symlink.
    pub fn exists_unfollowed(&self, path: &str) -> bool {
        let recorded = |p: &str| {
            self.touch(|t| {
                t.stat.insert(p.to_string());
            })
        };
        resolve::resolve(&self.root, path, false, &mut |p| recorded(p)).is_ok_and(|p| {
            recorded(&p);
            self.root.lstat(&p).is_ok()
        })
    }

    /// Reads a host file, refusing more than `cap` bytes. `content` says what kind of file it
    /// is, which decides what a snapshot may keep of it ([`content`]).
    pub fn read(&self, path: &str, cap: u64, content: Content) -> Result<Vec<u8>, FileError> {
        let resolved = self.resolve(path)?;
        // Only regular files are read: a FIFO or a device would block or never end.
        match self.root.lstat(&resolved) {
            Ok(m) if m.kind == EntryKind::Dir => {
                return Err(FileError::IsDirectory(path.to_string()));
            }
            Ok(m) if m.kind != EntryKind::File => {
                return Err(FileError::Io {
                    path: path.to_string(),
                    message: "not a regular file".into(),
                });
            }
            _ => {}
        }
        let data = self.root.read(&resolved, cap).map_err(|e| match e {
            RawReadError::Io(e) => FileError::from_io(path, &e),
            RawReadError::TooLarge(cap) => {
                self.touch(|t| {
                    t.unreadable.insert(resolved.clone());
                });
                FileError::TooLarge {
                    path: path.to_string(),
                    cap,
                }
            }
        })?;
        self.charge(path, data.len())?;
        self.touch(|t| {
            let kind = t.read.entry(resolved).or_insert(Some(content));
            if *kind != Some(content) {
                *kind = None;
            }
        });
        Ok(data)
    }

    /// Reads a host text file: capped, and refused when it is not UTF-8 or holds NUL bytes.
    pub fn read_text(&self, path: &str, cap: u64, content: Content) -> Result<String, FileError> {
        let data = self.read(path, cap, content)?;
        if data.contains(&0) {
            return Err(FileError::NotText(path.to_string()));
        }
        String::from_utf8(data).map_err(|_| FileError::NotText(path.to_string()))
    }

    /// The bytes around each occurrence of `needle` in a host file (a binary holding its
    /// version string), read as a stream so that a binary of any size costs no memory: each
    /// occurrence with [`EXCERPT_BEFORE`] bytes before and [`EXCERPT_AFTER`] after, joined by
    /// NUL bytes, at most [`EXCERPT_MAX`] of them, within the first [`STREAM_CAP`] bytes.
    /// A snapshot keeps the excerpts, which give the same answer when searched again.
    pub fn excerpts(&self, path: &str, needle: &[u8]) -> Result<Vec<u8>, FileError> {
        let resolved = self.resolve(path)?;
        let found = self
            .root
            .with_reader(&resolved, |reader| find_excerpts(reader, needle))
            .map_err(|e| FileError::from_io(path, &e))?;
        self.touch(|t| keep_excerpt(&mut t.excerpts, resolved, None, Some(&found)));
        Ok(found)
    }

    /// The Go build information of a host binary ([`crate::parse::go_build`]), found by its
    /// ELF section in a few small reads; `None` when the file holds none. A snapshot keeps the
    /// section's bytes in place of the binary, which read the same again.
    pub fn go_build_info(&self, path: &str) -> Result<Option<Vec<u8>>, FileError> {
        let resolved = self.resolve(path)?;
        let found = self
            .root
            .with_seekable(&resolved, |f| elf::go_build_info(f, self.is_snapshot()))
            .map_err(|e| FileError::from_io(path, &e))?;
        if let Some(bytes) = &found {
            self.charge(path, bytes.len())?;
            self.touch(|t| keep_excerpt(&mut t.excerpts, resolved, Some(bytes), None));
        }
        Ok(found)
    }

    /// Names in a host directory, sorted.
    pub fn list_dir(&self, path: &str) -> Result<Vec<String>, FileError> {
        let resolved = self.resolve(path)?;
        let names = self
            .root
            .list(&resolved)
            .map_err(|e| FileError::from_io(path, &e))?;
        self.touch(|t| {
            t.listed.insert(resolved);
        });
        Ok(names)
    }

    /// Expands a glob the way `glob(3)` does: sorted, dot files only when the pattern names
    /// them, no match gives an empty list. Each component is resolved inside the root.
    pub fn glob(&self, pattern: &str) -> Vec<String> {
        let mut prefixes = vec![String::new()];
        let components: Vec<&str> = pattern.split('/').filter(|c| !c.is_empty()).collect();
        // Every name looked at counts: a glob through symlinks back to its own directory, or
        // a directory of a million entries, stops at the budget, and the scan says so.
        let mut visited = 0usize;
        let mut over = || {
            visited += 1;
            visited > GLOB_BUDGET
        };
        'components: for (i, component) in components.iter().enumerate() {
            let last = i + 1 == components.len();
            let mut next = Vec::new();
            for prefix in &prefixes {
                if has_glob_meta(component) {
                    let dir = if prefix.is_empty() { "/" } else { prefix };
                    let Ok(names) = self.list_dir(dir) else {
                        continue;
                    };
                    for name in names {
                        if over() {
                            let _ = self.exhaust(
                                pattern,
                                format!("the glob looked at more than {GLOB_BUDGET} paths"),
                            );
                            prefixes = if last { next } else { Vec::new() };
                            break 'components;
                        }
                        if name.starts_with('.') && !component.starts_with('.') {
                            continue;
                        }
                        if fnmatch(component, &name) {
                            let candidate = format!("{prefix}/{name}");
                            if last
                                || self
                                    .stat(&candidate)
                                    .is_ok_and(|m| m.kind == EntryKind::Dir)
                            {
                                next.push(candidate);
                            }
                        }
                    }
                } else {
                    let candidate = format!("{prefix}/{component}");
                    if self.stat(&candidate).is_ok() {
                        next.push(candidate);
                    }
                }
            }
            prefixes = next;
        }
        prefixes.sort();
        prefixes
    }

    /// The host's users and groups, from the root's `/etc/passwd` and `/etc/group`.
    pub fn users(&self) -> &UserDb {
        self.users.get_or_init(|| {
            let passwd = self
                .read_text("/etc/passwd", CONFIG_CAP, Content::Plain)
                .unwrap_or_default();
            let group = self
                .read_text("/etc/group", CONFIG_CAP, Content::Plain)
                .unwrap_or_default();
            UserDb::parse(&passwd, &group)
        })
    }

    /// Reads a file of the proc tree (`"1234/status"`), capped.
    pub fn proc_read(&self, rel: &str, cap: u64) -> Result<Vec<u8>, FileError> {
        let shown = format!("/proc/{rel}");
        self.in_time(&shown)?;
        let data = self.proc.read(rel, cap).map_err(|e| match e {
            RawReadError::Io(e) => FileError::from_io(&shown, &e),
            RawReadError::TooLarge(cap) => FileError::TooLarge {
                path: shown.clone(),
                cap,
            },
        })?;
        self.charge(&shown, data.len())?;
        self.touch(|t| {
            t.proc_read.insert(rel.to_string());
        });
        Ok(data)
    }

    /// Reads a link of the proc tree (`"1234/exe"`, `"1234/fd/3"`) without following it.
    pub fn proc_readlink(&self, rel: &str) -> Result<String, FileError> {
        self.in_time(&format!("/proc/{rel}"))?;
        let target = self
            .proc
            .readlink(rel)
            .map_err(|e| FileError::from_io(&format!("/proc/{rel}"), &e))?;
        self.touch(|t| {
            t.proc_links.insert(rel.to_string());
        });
        Ok(target)
    }

    /// Listening sockets through netlink `sock_diag`, when that sees exactly what
    /// `/proc/1/net/*` would: the root is the live `/`, the proc tree is the live `/proc`,
    /// nodecheck shares pid 1's network namespace, and no snapshot is being recorded (a
    /// snapshot must hold the proc tables). `None` means: read the tables.
    pub fn live_listeners(&self) -> Option<Vec<(&'static str, DiagSocket)>> {
        use std::os::unix::fs::MetadataExt;
        // NODECHECK_NO_SOCK_DIAG=1 forces the /proc tables (tests compare both paths).
        if self.touched.is_some() || std::env::var_os("NODECHECK_NO_SOCK_DIAG").is_some() {
            return None;
        }
        // A proc tree with changes laid over it (a remediation's proof) shows its tables.
        if matches!(self.proc, Backend::Overlay { .. }) {
            return None;
        }
        let (Backend::Dir(root), Backend::Dir(proc)) =
            (self.root.innermost(), self.proc.innermost())
        else {
            return None;
        };
        if root.path() != Path::new("/") || proc.path() != Path::new("/proc") || !proc.is_procfs() {
            return None;
        }
        // Each network namespace has its own proc entry for net/tcp: equal inodes mean one
        // namespace.
        let inode = |p: &str| std::fs::metadata(p).map(|m| m.ino()).ok();
        let host = inode("/proc/1/net/tcp")?;
        if Some(host) != inode("/proc/self/net/tcp") {
            return None;
        }
        match sock_diag::listening() {
            Ok(sockets) => Some(sockets),
            Err(e) => {
                tracing::debug!("{e}; reading /proc/1/net instead");
                None
            }
        }
    }

    /// Whose network namespace the proc tree's `/proc/sys/net` shows. The kernel answers a read
    /// of `/proc/sys/net` from the namespace of the process reading it, whatever procfs mount
    /// it goes through: on a live procfs that is nodecheck's own namespace, the host's only
    /// when it shares pid 1's (compared as `live_listeners` does, by the inode of `net/tcp`).
    pub fn sysctl_net_view(&self) -> NetView {
        use std::os::unix::fs::MetadataExt;
        match self.proc.innermost() {
            Backend::Dir(tree) if tree.is_procfs() => {
                // pid 1 must be the host's init: in a pid namespace of its own (a pod without
                // hostPID, `unshare --pid`) pid 1 shares nodecheck's network namespace whatever
                // that is. nodecheck's own pid namespace (its `self` link, readable without
                // ptrace access to pid 1) being the initial one (a fixed inode,
                // PROC_PID_INIT_INO) and `self` resolving in this procfs make it the initial
                // namespace's procfs: a task is visible only in its own and ancestor namespaces.
                match std::fs::read_link(tree.path().join("self/ns/pid")) {
                    Ok(link) if link.as_os_str() == INITIAL_PID_NAMESPACE => {}
                    Ok(link) => {
                        return NetView::Other(format!(
                            "nodecheck runs in a pid namespace of its own ({}), so this proc tree's pid 1 is not known to be the host's init",
                            link.display()
                        ));
                    }
                    Err(e) => {
                        return NetView::Other(format!(
                            "nodecheck's own pid namespace cannot be read in this proc tree ({e}), so the host's network namespace cannot be told"
                        ));
                    }
                }
                let inode = |p: &str| std::fs::metadata(tree.path().join(p)).map(|m| m.ino());
                match (inode("1/net/tcp"), inode("self/net/tcp")) {
                    (Ok(host), Ok(own)) if host == own => NetView::Host,
                    (Ok(_), Ok(_)) => NetView::Other(
                        "nodecheck runs in a network namespace of its own (a pod without \
                         hostNetwork), and /proc/sys/net shows the namespace of the process \
                         reading it, not the node's"
                            .into(),
                    ),
                    (Err(e), _) | (_, Err(e)) => NetView::Other(format!(
                        "nodecheck's network namespace cannot be compared with the host's ({e})"
                    )),
                }
            }
            _ => NetView::Recorded,
        }
    }

    /// An identifier of a process's network namespace, equal for processes that share one.
    /// On a live proc tree it is the inode of `<pid>/net/tcp` (each namespace has its own
    /// entry), which needs no ptrace access to the process; in a snapshot, the `ns/net` link.
    pub fn netns_id(&self, pid: u32) -> Option<String> {
        match self.proc.innermost() {
            Backend::Dir(tree) if self.touched.is_none() && tree.is_procfs() => tree
                .lstat(&format!("{pid}/net/tcp"))
                .ok()
                .map(|m| format!("net:[{}]", m.st_ino)),
            _ => self.proc_readlink(&format!("{pid}/ns/net")).ok(),
        }
    }

    /// Whether `path` exists inside the root filesystem of process `pid`
    /// (`/proc/<pid>/root`), resolved inside that root: an absolute symlink in a container
    /// image points into the image, never to the host.
    pub fn exists_in_process_root(&self, pid: u32, path: &str) -> Result<bool, FileError> {
        let backend = self.process_root_backend(pid)?;
        let record = |p: &str| {
            self.touch(|t| {
                t.proc_links.insert(format!("{pid}/root{p}"));
            })
        };
        let resolved = match resolve::resolve(&backend, path, true, &mut |p| record(p)) {
            Ok(resolved) => resolved,
            Err(FileError::NotFound(_)) => return Ok(false),
            Err(e) => return Err(e),
        };
        match backend.lstat(&resolved) {
            Ok(_) => {
                record(&resolved);
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(FileError::from_io(path, &e)),
        }
    }

    /// The tree of process `pid`'s root filesystem (`/proc/<pid>/root`), and how to name it
    /// for the snapshot's record.
    fn process_root_backend(&self, pid: u32) -> Result<Backend, FileError> {
        self.proc
            .process_root(pid)
            .map_err(|e| FileError::from_io(&format!("/proc/{pid}/root"), &e))
    }

    /// Metadata of `path` inside the root filesystem of process `pid`, resolved inside that
    /// root (a container's files: kube-proxy's ConfigMap volume). The path reported is
    /// `/proc/<pid>/root<path>`, where an operator can look at it.
    pub fn stat_in_process_root(&self, pid: u32, path: &str) -> Result<FileMeta, FileError> {
        let shown = format!("/proc/{pid}/root{path}");
        self.in_time(&shown)?;
        let backend = self.process_root_backend(pid)?;
        let record = |p: &str| {
            self.touch(|t| {
                t.proc_links.insert(format!("{pid}/root{p}"));
            })
        };
        let resolved = resolve::resolve(&backend, path, true, &mut |p| record(p))
            .map_err(|e| e.shown_as(&shown))?;
        let unfollowed =
            resolve::resolve(&backend, path, false, &mut |_| {}).map_err(|e| e.shown_as(&shown))?;
        let is_symlink = backend
            .lstat(&unfollowed)
            .is_ok_and(|m| m.kind == EntryKind::Symlink);
        let meta = backend
            .lstat(&resolved)
            .map_err(|e| FileError::from_io(&shown, &e))?;
        record(&resolved);
        Ok(FileMeta {
            path: shown,
            resolved: format!("/proc/{pid}/root{resolved}"),
            is_symlink,
            kind: meta.kind,
            mode: meta.mode,
            uid: meta.uid,
            gid: meta.gid,
            size: meta.size,
        })
    }

    /// Reads a text file inside the root filesystem of process `pid` (capped, UTF-8, no NUL),
    /// resolved inside that root. A snapshot keeps it as a file of the proc tree.
    pub fn read_text_in_process_root(
        &self,
        pid: u32,
        path: &str,
        cap: u64,
        content: Content,
    ) -> Result<String, FileError> {
        let meta = self.stat_in_process_root(pid, path)?;
        let shown = meta.path.clone();
        match meta.kind {
            EntryKind::File => {}
            EntryKind::Dir => return Err(FileError::IsDirectory(shown)),
            _ => {
                return Err(FileError::Io {
                    path: shown,
                    message: "not a regular file".into(),
                });
            }
        }
        let inside = meta
            .resolved
            .strip_prefix(&format!("/proc/{pid}/root"))
            .unwrap_or("/")
            .to_string();
        let backend = self.process_root_backend(pid)?;
        let data = backend.read(&inside, cap).map_err(|e| match e {
            RawReadError::Io(e) => FileError::from_io(&shown, &e),
            RawReadError::TooLarge(cap) => FileError::TooLarge {
                path: shown.clone(),
                cap,
            },
        })?;
        self.charge(&shown, data.len())?;
        self.touch(|t| {
            let rel = format!("{pid}/root{inside}");
            if content != Content::Plain {
                t.proc_content.insert(rel.clone(), content);
            }
            t.proc_read.insert(rel);
        });
        if data.contains(&0) {
            return Err(FileError::NotText(shown));
        }
        String::from_utf8(data).map_err(|_| FileError::NotText(shown))
    }

    /// Owner and mode of the executable process `pid` runs, named `exe` by its `exe` link.
    /// On a live procfs the kernel follows the link to the very file (also inside a container,
    /// also when deleted since); elsewhere `exe` is looked up in the process's root
    /// (`<pid>/root`, for container processes) when the proc tree has one, else in the host's.
    pub fn process_exe(&self, pid: u32, exe: &str) -> Result<RawMeta, FileError> {
        let path = exe.trim_end_matches(" (deleted)");
        let shown = format!("/proc/{pid}/exe");
        if let Backend::Dir(tree) = self.proc.innermost()
            && tree.is_procfs()
        {
            if self.touched.is_some() {
                // A snapshot records where the file is, so it can be judged again later.
                let _ = self.exists_in_process_root(pid, path);
            }
            let st = tree
                .stat_magic(&format!("{pid}/exe"))
                .map_err(|e| FileError::from_io(&shown, &e))?;
            return Ok(RawMeta {
                kind: EntryKind::File,
                mode: st.st_mode & 0o7777,
                uid: st.st_uid,
                gid: st.st_gid,
                size: u64::try_from(st.st_size).unwrap_or(0),
                inode: st.st_ino,
            });
        }
        let has_root = self.proc.lstat(&format!("{pid}/root")).is_ok();
        if has_root && self.exists_in_process_root(pid, path)? {
            let backend = self
                .proc
                .process_root(pid)
                .map_err(|e| FileError::from_io(&shown, &e))?;
            let resolved = resolve::resolve(&backend, path, true, &mut |_| {})?;
            return backend
                .lstat(&resolved)
                .map_err(|e| FileError::from_io(path, &e));
        }
        let meta = self.stat(path)?;
        Ok(RawMeta {
            kind: meta.kind,
            mode: meta.mode,
            uid: meta.uid,
            gid: meta.gid,
            size: meta.size,
            inode: 0,
        })
    }

    /// Names in a directory of the proc tree.
    pub fn proc_list(&self, rel: &str) -> Result<Vec<String>, FileError> {
        self.in_time(&format!("/proc/{rel}"))?;
        let names = self
            .proc
            .list(rel)
            .map_err(|e| FileError::from_io(&format!("/proc/{rel}"), &e))?;
        self.touch(|t| {
            t.proc_listed.insert(rel.to_string());
        });
        Ok(names)
    }
}

/// A duration as `--timeout` takes it: `60s`, `250ms`.
pub fn seconds(d: std::time::Duration) -> String {
    if d.subsec_millis() == 0 && d.as_secs() > 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// Bytes kept before an occurrence, by [`Host::excerpts`].
pub const EXCERPT_BEFORE: usize = 64;
/// Bytes kept after an occurrence's needle.
pub const EXCERPT_AFTER: usize = 96;
/// Occurrences kept.
pub const EXCERPT_MAX: usize = 32;
/// Bytes of a file searched.
pub const STREAM_CAP: u64 = 512 * 1024 * 1024;

/// Records what a snapshot keeps of a binary in place of its bytes: its Go build information
/// (first, where [`elf::go_build_info`] finds it again) and the excerpts around a needle
/// (after a NUL, where [`find_excerpts`] finds them again). Either may come first in a scan;
/// the other part is kept.
fn keep_excerpt(
    kept: &mut BTreeMap<String, Vec<u8>>,
    path: String,
    build_info: Option<&[u8]>,
    excerpts: Option<&[u8]>,
) {
    let old = kept.remove(&path).unwrap_or_default();
    let old_build_len = crate::parse::go_build::extent(&old).unwrap_or(0);
    let (old_build, old_excerpts) = old.split_at(old_build_len);
    let build = build_info
        .map(|b| &b[..crate::parse::go_build::extent(b).unwrap_or(b.len())])
        .unwrap_or(old_build);
    let excerpts = excerpts.unwrap_or(old_excerpts.strip_prefix(&[0]).unwrap_or(old_excerpts));
    let mut out = build.to_vec();
    if !build.is_empty() && !excerpts.is_empty() {
        out.push(0);
    }
    out.extend_from_slice(excerpts);
    kept.insert(path, out);
}

/// The excerpts around `needle` in a stream (see [`Host::excerpts`]).
fn find_excerpts(reader: &mut dyn std::io::Read, needle: &[u8]) -> std::io::Result<Vec<u8>> {
    let window = EXCERPT_BEFORE + needle.len() + EXCERPT_AFTER;
    let mut buf: Vec<u8> = Vec::with_capacity(256 * 1024 + window);
    let mut chunk = vec![0u8; 256 * 1024];
    let mut out: Vec<u8> = Vec::new();
    let mut found = 0;
    let mut total = 0u64;
    // Bytes of `buf` already searched for a needle start.
    let mut searched = 0usize;
    loop {
        let n = reader.read(&mut chunk)?;
        total += n as u64;
        let eof = n == 0 || total > STREAM_CAP;
        buf.extend_from_slice(&chunk[..n]);
        // A needle start can be judged once its whole window is in the buffer (or at EOF).
        let limit = if eof {
            buf.len()
        } else {
            buf.len().saturating_sub(needle.len() + EXCERPT_AFTER)
        };
        let mut at = searched;
        // Needles that *start* before `limit` are judged now: the slice searched runs past it by
        // the needle's length, or one straddling `limit` would be skipped by both rounds.
        let end = (limit + needle.len().saturating_sub(1)).min(buf.len());
        let finder = memchr::memmem::Finder::new(needle);
        while at < limit && found < EXCERPT_MAX {
            let Some(pos) = finder.find(&buf[at..end]).map(|p| at + p) else {
                break;
            };
            let start = pos.saturating_sub(EXCERPT_BEFORE);
            let end = (pos + needle.len() + EXCERPT_AFTER).min(buf.len());
            if !out.is_empty() {
                out.push(0);
            }
            out.extend_from_slice(&buf[start..end]);
            found += 1;
            at = pos + 1;
        }
        searched = limit.max(searched);
        if eof || found >= EXCERPT_MAX {
            return Ok(out);
        }
        // Keep what the next needle may need before it, and what is not searched yet.
        let keep_from = searched.saturating_sub(EXCERPT_BEFORE);
        buf.drain(..keep_from);
        searched -= keep_from;
    }
}

/// `a/./b/../c` → `/a/c`, without touching the filesystem.
pub fn normalise_lexically(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    format!("/{}", parts.join("/"))
}

#[cfg(test)]
pub(crate) mod testing {
    //! Fixture roots for unit tests: a temporary directory filled by the test.

    use std::fs;
    use std::os::unix::fs::PermissionsExt;
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicU32, Ordering};

    /// A temporary directory removed on drop.
    #[derive(Debug)]
    pub struct TempRoot {
        pub path: PathBuf,
    }

    impl TempRoot {
        pub fn new() -> TempRoot {
            static NEXT: AtomicU32 = AtomicU32::new(0);
            let path = std::env::temp_dir().join(format!(
                "nodecheck-test-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ));
            let _ = fs::remove_dir_all(&path);
            fs::create_dir_all(&path).expect("create temp root");
            TempRoot { path }
        }

        pub fn file(&self, rel: &str, content: &str, mode: u32) -> &TempRoot {
            let p = self.join(rel);
            fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            fs::write(&p, content).expect("write");
            fs::set_permissions(&p, fs::Permissions::from_mode(mode)).expect("chmod");
            self
        }

        pub fn symlink(&self, rel: &str, target: &str) -> &TempRoot {
            let p = self.join(rel);
            fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::os::unix::fs::symlink(target, &p).expect("symlink");
            self
        }

        pub fn join(&self, rel: &str) -> PathBuf {
            self.path.join(rel.trim_start_matches('/'))
        }

        pub fn host(&self) -> super::Host {
            super::Host::open(&self.path, None).expect("open host")
        }

        pub fn path(&self) -> &Path {
            &self.path
        }
    }

    impl Drop for TempRoot {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::TempRoot;
    use super::*;

    #[test]
    fn absolute_symlinks_resolve_inside_the_root() {
        let root = TempRoot::new();
        root.file("etc/real", "inside", 0o644)
            .symlink("etc/link", "/etc/real")
            .symlink("etc/escape", "../../../../etc/passwd")
            .symlink("etc/abs-escape", "/../../etc/hostname");
        let host = root.host();
        assert_eq!(
            host.read_text("/etc/link", 100, Content::Plain).as_deref(),
            Ok("inside")
        );
        let meta = host.stat("/etc/link").expect("stat");
        assert!(meta.is_symlink);
        assert_eq!(meta.resolved, "/etc/real");
        // `..` at the root stays at the root: /etc/passwd of the fixture, which is missing.
        assert_eq!(
            host.read_text("/etc/escape", 100, Content::Plain),
            Err(FileError::NotFound("/etc/escape".into()))
        );
        assert!(
            host.read_text("/etc/abs-escape", 100, Content::Plain)
                .is_err()
        );
    }

    #[test]
    fn symlink_loops_are_an_error_for_that_file() {
        let root = TempRoot::new();
        root.symlink("a", "/b").symlink("b", "/a");
        let host = root.host();
        assert!(matches!(
            host.read_text("/a", 100, Content::Plain),
            Err(FileError::SymlinkLoop { .. })
        ));
    }

    #[test]
    fn size_cap_and_binary_content_are_refused() {
        let root = TempRoot::new();
        root.file("big", &"x".repeat(2000), 0o644)
            .file("bin", "a\0b", 0o644);
        let host = root.host();
        assert!(matches!(
            host.read_text("/big", 1000, Content::Plain),
            Err(FileError::TooLarge { cap: 1000, .. })
        ));
        assert_eq!(
            host.read_text("/bin", 1000, Content::Plain),
            Err(FileError::NotText("/bin".into()))
        );
    }

    #[test]
    fn fifos_are_not_read() {
        let root = TempRoot::new();
        let fifo = root.join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.is_ok_and(|s| s.success()), "mkfifo (coreutils) runs");
        let host = root.host();
        assert!(matches!(
            host.read("/fifo", 10, Content::Plain),
            Err(FileError::Io { .. })
        ));
    }

    #[test]
    fn glob_is_sorted_and_skips_dot_files() {
        let root = TempRoot::new();
        root.file("d/b.conf", "", 0o644)
            .file("d/a.conf", "", 0o644)
            .file("d/.hidden.conf", "", 0o644)
            .file("d/c.txt", "", 0o644);
        let host = root.host();
        assert_eq!(host.glob("/d/*.conf"), ["/d/a.conf", "/d/b.conf"]);
        assert!(host.glob("/nothing/*.conf").is_empty());
        assert_eq!(host.glob("/d/c.txt"), ["/d/c.txt"]);
    }

    #[test]
    fn a_snapshot_keeps_build_information_and_excerpts_of_one_binary() {
        // k3s's binary is searched for its version (+k3s) and read for the containerd it
        // embeds: whichever comes first, the kept bytes answer both again.
        let info = crate::parse::go_build::encode("go1.24", "path\tgithub.com/k3s-io/k3s\n");
        let mut padded = info.clone();
        padded.resize(info.len() + 500, 0);
        let excerpt = b"version v1.32.3+k3s1 here".to_vec();
        for build_first in [true, false] {
            let mut kept = BTreeMap::new();
            let path = "/usr/local/bin/k3s".to_string();
            if build_first {
                keep_excerpt(&mut kept, path.clone(), Some(&padded), None);
                keep_excerpt(&mut kept, path.clone(), None, Some(&excerpt));
            } else {
                keep_excerpt(&mut kept, path.clone(), None, Some(&excerpt));
                keep_excerpt(&mut kept, path.clone(), Some(&padded), None);
            }
            let bytes = kept.get(&path).expect("kept").clone();
            let again = elf::go_build_info(&mut std::io::Cursor::new(bytes.clone()), true)
                .expect("reads")
                .expect("found");
            assert_eq!(
                crate::parse::go_build::parse(&again),
                crate::parse::go_build::parse(&info)
            );
            let found = find_excerpts(&mut bytes.as_slice(), b"+k3s").expect("reads");
            assert!(
                String::from_utf8_lossy(&found).contains("v1.32.3+k3s1"),
                "{build_first}"
            );
        }
    }

    #[test]
    fn excerpts_find_needles_across_chunks_in_bounded_memory() {
        let mut data = vec![b'x'; 600_000];
        data.extend_from_slice(b"OpenSSH_9.2p1 Debian-2\0");
        data.extend(vec![b'y'; 300_000]);
        // A needle straddling the 256 KiB chunk boundary.
        let boundary = 256 * 1024 - 3;
        data[boundary..boundary + 8].copy_from_slice(b"OpenSSH_");
        let found = find_excerpts(&mut data.as_slice(), b"OpenSSH_").expect("reads");
        let text = String::from_utf8_lossy(&found);
        assert!(text.contains("OpenSSH_9.2p1 Debian-2"), "{text}");
        assert_eq!(
            found
                .split(|&b| b == 0)
                .filter(|p| p.windows(8).any(|w| w == b"OpenSSH_"))
                .count(),
            2
        );
        assert!(found.len() < 2 * (EXCERPT_BEFORE + 8 + EXCERPT_AFTER) + 2);
        // Searching the excerpts again finds the same.
        let again = find_excerpts(&mut found.as_slice(), b"OpenSSH_").expect("reads");
        assert!(String::from_utf8_lossy(&again).contains("OpenSSH_9.2p1 Debian-2"));
    }

    #[test]
    fn excerpts_find_a_needle_at_every_offset_around_a_round_boundary() {
        // A needle that starts just before the end of what a round may judge (the chunk less
        // the needle and its trailing excerpt) must be found by one of the two rounds.
        let needle = b"OpenSSH_";
        let round = 256 * 1024 - (needle.len() + EXCERPT_AFTER);
        for offset in round - 2 * needle.len()..round + 2 * needle.len() {
            let mut data = vec![b'x'; 512 * 1024];
            data[offset..offset + needle.len()].copy_from_slice(needle);
            let found = find_excerpts(&mut data.as_slice(), needle).expect("reads");
            assert!(
                found.windows(needle.len()).any(|w| w == needle),
                "needle at {offset} missed"
            );
        }
    }

    #[test]
    fn lexical_normalisation() {
        assert_eq!(normalise_lexically("a/./b/../c"), "/a/c");
        assert_eq!(normalise_lexically("/../x"), "/x");
    }
}
