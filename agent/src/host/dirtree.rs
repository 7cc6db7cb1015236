//! A directory of this machine read through one descriptor, with the kernel keeping every
//! lookup inside it.
//!
//! [`super::resolve`] names the file a host path means (and records the symlinks it followed,
//! for snapshots), but between that and the open a process on the host can swap a directory
//! for a symlink. So nothing here opens by path from `/`: every open is relative to the tree's
//! descriptor, done with `openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)` (Linux 5.6+), where
//! `..` stops at the tree and an absolute symlink starts again at the tree, and a final symlink
//! is never followed (`O_NOFOLLOW`). Where the kernel has no `openat2`, the path is walked one
//! component at a time with `O_NOFOLLOW`, so a symlink met on the way is an error rather than a
//! way out.
//!
//! Only regular files are read: files are opened `O_NONBLOCK` and checked with `fstat` before
//! the first read, so a FIFO, a device or a socket planted where a config file should be
//! cannot block the scan.
//!
//! A real procfs (told by `fstatfs`) is trusted to hold no symlink but its own magic links,
//! which are only ever read with `readlinkat`; its paths are opened with plain `openat`, one
//! syscall per file, because a node's process table is read thousands of files at a time.

use nix::errno::Errno;
use nix::fcntl::{OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::{FileStat, Mode, SFlag};
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once the kernel said it has no `openat2` (ENOSYS); later opens walk instead.
static NO_OPENAT2: AtomicBool = AtomicBool::new(false);

/// How often an `openat2` that raced with a rename or mount (EAGAIN) is tried again.
const RACE_RETRIES: u32 = 8;

/// Whether `openat2` itself is refused (EPERM for opening `/`, which anyone may open): a
/// seccomp filter, not this one path's permissions. Asked once.
fn openat2_refused() -> bool {
    static REFUSED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *REFUSED.get_or_init(|| {
        let how = OpenHow::new().flags(OFlag::O_PATH | OFlag::O_CLOEXEC);
        matches!(
            nix::fcntl::openat2(nix::fcntl::AT_FDCWD, "/", how),
            Err(Errno::EPERM)
        )
    })
}

/// A directory tree opened once.
#[derive(Debug, Clone)]
pub struct DirTree {
    fd: Arc<OwnedFd>,
    /// Where the tree is, for messages and for telling the live `/` and `/proc`.
    path: PathBuf,
    /// A real procfs: magic links, files generated per read, no user-made symlinks.
    procfs: bool,
}

fn to_io(errno: Errno) -> io::Error {
    io::Error::from_raw_os_error(errno as i32)
}

/// A path below the tree as the kernel takes it: relative, `.` for the tree itself.
fn relative(path: &str) -> &str {
    let rel = path.trim_start_matches('/');
    if rel.is_empty() { "." } else { rel }
}

impl DirTree {
    /// Opens the directory at `path` (a path of this machine, given by the operator).
    pub fn open(path: &Path) -> io::Result<DirTree> {
        let fd = nix::fcntl::open(
            path,
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(to_io)?;
        Ok(DirTree::from_fd(fd, path.to_path_buf()))
    }

    fn from_fd(fd: OwnedFd, path: PathBuf) -> DirTree {
        let procfs = nix::sys::statfs::fstatfs(&fd)
            .is_ok_and(|s| s.filesystem_type() == nix::sys::statfs::PROC_SUPER_MAGIC);
        DirTree {
            fd: Arc::new(fd),
            path,
            procfs,
        }
    }

    /// The directory `rel` below this tree, resolved inside it, as a tree of its own.
    pub fn subtree(&self, rel: &str) -> io::Result<DirTree> {
        let fd = self.open_at(rel, OFlag::O_PATH | OFlag::O_DIRECTORY)?;
        Ok(DirTree::from_fd(
            fd,
            self.path.join(rel.trim_start_matches('/')),
        ))
    }

    /// The root filesystem of process `pid` of this proc tree (`<pid>/root`). Of a real
    /// procfs that is the magic link the kernel follows into the process's root; of any other
    /// tree it is resolved inside the tree like every other path.
    pub fn process_root(&self, pid: u32) -> io::Result<DirTree> {
        let rel = format!("{pid}/root");
        if self.procfs {
            let fd = nix::fcntl::openat(
                self.fd.as_fd(),
                rel.as_str(),
                OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
            .map_err(to_io)?;
            // The process's root is an ordinary filesystem, not the proc tree.
            let mut tree = DirTree::from_fd(fd, self.path.join(&rel));
            tree.procfs = false;
            Ok(tree)
        } else {
            self.subtree(&rel)
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn is_procfs(&self) -> bool {
        self.procfs
    }

    /// Opens `path` below the tree, never following a final symlink, never leaving the tree.
    fn open_at(&self, path: &str, flags: OFlag) -> io::Result<OwnedFd> {
        let rel = relative(path);
        let flags = flags | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        if self.procfs {
            return nix::fcntl::openat(self.fd.as_fd(), rel, flags, Mode::empty()).map_err(to_io);
        }
        if !NO_OPENAT2.load(Ordering::Relaxed) {
            let how = OpenHow::new()
                .flags(flags)
                .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
            let mut tries = 0;
            loop {
                match nix::fcntl::openat2(self.fd.as_fd(), rel, how) {
                    Ok(fd) => return Ok(fd),
                    Err(Errno::EAGAIN) if tries < RACE_RETRIES => tries += 1,
                    // No openat2 in this kernel, or a seccomp filter (an older container
                    // runtime's default profile) refusing it outright.
                    Err(Errno::ENOSYS) => {
                        NO_OPENAT2.store(true, Ordering::Relaxed);
                        break;
                    }
                    Err(Errno::EPERM) if openat2_refused() => {
                        NO_OPENAT2.store(true, Ordering::Relaxed);
                        break;
                    }
                    Err(e) => return Err(to_io(e)),
                }
            }
        }
        self.walk_nofollow(rel, flags)
    }

    /// Without `openat2`: one component at a time, none of them followed if it is a symlink.
    /// The path was resolved beforehand, so a symlink here is one swapped in since: an error.
    fn walk_nofollow(&self, rel: &str, flags: OFlag) -> io::Result<OwnedFd> {
        let parts: Vec<&str> = rel
            .split('/')
            .filter(|p| !p.is_empty() && *p != ".")
            .collect();
        if parts.contains(&"..") {
            return Err(io::Error::from(io::ErrorKind::InvalidInput));
        }
        let Some((last, dirs)) = parts.split_last() else {
            return nix::fcntl::openat(self.fd.as_fd(), ".", flags, Mode::empty()).map_err(to_io);
        };
        let mut dir: Option<OwnedFd> = None;
        for part in dirs {
            let base = dir.as_ref().map_or(self.fd.as_fd(), |d| d.as_fd());
            let next = nix::fcntl::openat(
                base,
                *part,
                OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
            .map_err(to_io)?;
            dir = Some(next);
        }
        let base = dir.as_ref().map_or(self.fd.as_fd(), |d| d.as_fd());
        nix::fcntl::openat(base, *last, flags, Mode::empty()).map_err(to_io)
    }

    /// Metadata of `path` itself (a final symlink is not followed).
    pub fn lstat(&self, path: &str) -> io::Result<FileStat> {
        if self.procfs {
            return nix::sys::stat::fstatat(
                self.fd.as_fd(),
                relative(path),
                nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
            )
            .map_err(to_io);
        }
        let fd = self.open_at(path, OFlag::O_PATH)?;
        nix::sys::stat::fstat(&fd).map_err(to_io)
    }

    /// Metadata of what `path` names, following a final symlink. Only for a real procfs,
    /// where the final component may be a magic link (`<pid>/exe`) that the kernel follows to
    /// the very file a process runs, wherever it lives.
    pub fn stat_magic(&self, path: &str) -> io::Result<FileStat> {
        if !self.procfs {
            return Err(io::Error::from(io::ErrorKind::Unsupported));
        }
        nix::sys::stat::fstatat(
            self.fd.as_fd(),
            relative(path),
            nix::fcntl::AtFlags::empty(),
        )
        .map_err(to_io)
    }

    /// The target of the symlink at `path`.
    pub fn readlink(&self, path: &str) -> io::Result<String> {
        let target = if self.procfs {
            nix::fcntl::readlinkat(self.fd.as_fd(), relative(path))
        } else {
            let fd = self.open_at(path, OFlag::O_PATH)?;
            nix::fcntl::readlinkat(&fd, "")
        };
        target
            .map(|t| t.to_string_lossy().into_owned())
            .map_err(|e| match e {
                // readlink of something that is not a symlink.
                Errno::ENOENT if !self.procfs => io::Error::from(io::ErrorKind::InvalidInput),
                e => to_io(e),
            })
    }

    /// Opens the regular file at `path` for reading; anything else is refused before a read.
    pub fn open_file(&self, path: &str) -> io::Result<std::fs::File> {
        let fd = self.open_at(path, OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_NOCTTY)?;
        // Files of a real procfs are all regular; elsewhere a FIFO or device may stand in.
        if !self.procfs {
            let stat = nix::sys::stat::fstat(&fd).map_err(to_io)?;
            let kind = SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT;
            if kind == SFlag::S_IFDIR {
                return Err(io::Error::from(io::ErrorKind::IsADirectory));
            }
            if kind != SFlag::S_IFREG {
                return Err(io::Error::other("not a regular file"));
            }
        }
        Ok(std::fs::File::from(fd))
    }

    /// Names in the directory at `path` (not sorted; `.` and `..` left out).
    pub fn list(&self, path: &str) -> io::Result<Vec<String>> {
        let fd = self.open_at(path, OFlag::O_RDONLY | OFlag::O_DIRECTORY)?;
        let mut dir = nix::dir::Dir::from_fd(fd).map_err(to_io)?;
        let mut names = Vec::new();
        for entry in dir.iter() {
            let entry = entry.map_err(to_io)?;
            let name = entry.file_name().to_bytes();
            if name != b"." && name != b".." {
                names.push(String::from_utf8_lossy(name).into_owned());
            }
        }
        Ok(names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::testing::TempRoot;

    #[test]
    fn without_openat2_a_symlink_on_the_way_is_an_error() {
        let root = TempRoot::new();
        root.file("etc/ssh/sshd_config", "PermitRootLogin no\n", 0o644)
            .symlink("etc/link", "/etc/ssh");
        let tree = DirTree::open(root.path()).expect("open");
        let flags = OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        assert!(tree.walk_nofollow("etc/ssh/sshd_config", flags).is_ok());
        // A directory swapped for a symlink since it was resolved: refused, not followed.
        let err = tree
            .walk_nofollow("etc/link/sshd_config", flags)
            .expect_err("a symlink on the way");
        assert!(
            matches!(err.raw_os_error(), Some(libc_errno) if libc_errno == Errno::ELOOP as i32 || libc_errno == Errno::ENOTDIR as i32),
            "{err}"
        );
        assert!(tree.walk_nofollow("../etc/ssh/sshd_config", flags).is_err());
    }

    #[test]
    fn opens_stay_inside_the_tree() {
        let root = TempRoot::new();
        root.file("inside", "in", 0o644)
            .symlink("abs", "/inside")
            .symlink("up", "../../../../inside");
        let tree = DirTree::open(root.path()).expect("open");
        // Opening a final symlink is refused (O_NOFOLLOW); the resolver follows it first.
        assert!(tree.open_file("abs").is_err());
        let meta = tree.lstat("up").expect("lstat");
        assert_eq!(
            SFlag::from_bits_truncate(meta.st_mode) & SFlag::S_IFMT,
            SFlag::S_IFLNK
        );
        assert_eq!(tree.readlink("abs").expect("readlink"), "/inside");
        assert!(tree.open_file("inside").is_ok());
    }
}
