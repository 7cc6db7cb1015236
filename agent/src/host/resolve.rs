//! Resolving a host path inside the root, the way `openat2(RESOLVE_IN_ROOT)` does: `..` at the
//! root stays at the root, and an absolute symlink target starts again at the root.

use super::FileError;
use super::backend::{Backend, EntryKind};
use std::collections::VecDeque;

/// Symlinks followed for one path before it counts as a loop (Linux's own limit).
pub const MAX_SYMLINKS: u32 = 40;

/// Resolves `path` inside `root`. With `follow_last` false a final symlink is not followed.
/// A missing final component is not an error here: the caller's read or stat reports it.
/// `on_link` is told every symlink followed (for snapshots).
pub fn resolve(
    root: &Backend,
    path: &str,
    follow_last: bool,
    on_link: &mut dyn FnMut(&str),
) -> Result<String, FileError> {
    let mut queue: VecDeque<String> = path.split('/').map(str::to_string).collect();
    let mut resolved: Vec<String> = Vec::new();
    let mut links = 0u32;
    while let Some(component) = queue.pop_front() {
        match component.as_str() {
            "" | "." => continue,
            ".." => {
                resolved.pop();
                continue;
            }
            _ => {}
        }
        let candidate = format!("/{}", {
            let mut parts = resolved.clone();
            parts.push(component.clone());
            parts.join("/")
        });
        let is_last = queue.iter().all(|c| c.is_empty() || c == ".");
        if is_last && !follow_last {
            resolved.push(component);
            continue;
        }
        let meta = match root.lstat(&candidate) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && is_last => {
                resolved.push(component);
                continue;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(FileError::NotFound(path.to_string()));
            }
            Err(e) => return Err(FileError::from_io(path, &e)),
        };
        if meta.kind != EntryKind::Symlink {
            resolved.push(component);
            continue;
        }
        links += 1;
        if links > MAX_SYMLINKS {
            return Err(FileError::SymlinkLoop {
                path: path.to_string(),
                max: MAX_SYMLINKS,
            });
        }
        on_link(&candidate);
        let target = root
            .readlink(&candidate)
            .map_err(|e| FileError::from_io(path, &e))?;
        if target.starts_with('/') {
            resolved.clear();
        }
        for part in target.split('/').rev() {
            queue.push_front(part.to_string());
        }
    }
    Ok(format!("/{}", resolved.join("/")))
}
