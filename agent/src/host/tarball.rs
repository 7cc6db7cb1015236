//! Loading a `.tar` / `.tar.gz` snapshot into memory, and writing one.
//!
//! Modes, owners and symlink targets come from the tar headers, so a snapshot judged on another
//! machine gives the verdicts of the machine it was taken on. Entries whose path is absolute or
//! climbs out with `..` are refused (and named), never written anywhere: the image lives only in
//! memory.

use super::backend::{EntryKind, RawMeta, TarEntry, TarImage};
use std::io::{self, Read};
use std::path::Path;

/// Total bytes of file content a snapshot may hold in memory.
pub const MAX_SNAPSHOT_BYTES: u64 = 512 * 1024 * 1024;

/// Why a snapshot could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TarError {
    #[error("cannot read snapshot {path}: {source}")]
    Io { path: String, source: io::Error },
    #[error("snapshot {path} is not a readable tar archive: {source}")]
    Format { path: String, source: io::Error },
    #[error("snapshot {path} holds more than {cap} bytes of file content")]
    TooLarge { path: String, cap: u64 },
}

/// Whether a path names a tar snapshot rather than a directory.
pub fn is_tar_path(path: &Path) -> bool {
    let name = path.to_string_lossy();
    name.ends_with(".tar") || name.ends_with(".tar.gz") || name.ends_with(".tgz")
}

/// Normalises a tar entry name to a relative key, refusing anything that leaves the root.
fn normalise(name: &str) -> Result<String, String> {
    if name.starts_with('/') {
        return Err(format!("{name}: absolute path"));
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(format!("{name}: path climbs out of the snapshot with '..'")),
            other => parts.push(other),
        }
    }
    Ok(parts.join("/"))
}

/// Reads a whole snapshot into memory.
pub fn load(path: &Path) -> Result<TarImage, TarError> {
    let display = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|source| TarError::Io {
        path: display.clone(),
        source,
    })?;
    let reader: Box<dyn Read> = if display.ends_with(".gz") || display.ends_with(".tgz") {
        Box::new(flate2::read::GzDecoder::new(io::BufReader::new(file)))
    } else {
        Box::new(io::BufReader::new(file))
    };
    read_image(reader, &display)
}

fn read_image(reader: impl Read, display: &str) -> Result<TarImage, TarError> {
    let format = |source| TarError::Format {
        path: display.to_string(),
        source,
    };
    let mut archive = tar::Archive::new(reader);
    let mut image = TarImage::default();
    let mut total = 0u64;
    for entry in archive.entries().map_err(format)? {
        let mut entry = entry.map_err(format)?;
        let raw_name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let key = match normalise(&raw_name) {
            Ok(key) => key,
            Err(reason) => {
                image.refused.push(reason);
                continue;
            }
        };
        let header = entry.header();
        let kind = match header.entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => EntryKind::File,
            tar::EntryType::Directory => EntryKind::Dir,
            tar::EntryType::Symlink => EntryKind::Symlink,
            _ => EntryKind::Other,
        };
        // A header with unreadable numeric fields spoils that entry only.
        let numbers = (|| -> io::Result<(u32, u64, u64, u64)> {
            Ok((header.mode()?, header.uid()?, header.gid()?, header.size()?))
        })();
        let (mode, uid, gid, size) = match numbers {
            Ok(n) => n,
            Err(e) => {
                image
                    .refused
                    .push(format!("{raw_name}: unreadable header ({e})"));
                continue;
            }
        };
        let meta = RawMeta {
            kind,
            mode: mode & 0o7777,
            uid: u32::try_from(uid).unwrap_or(u32::MAX),
            gid: u32::try_from(gid).unwrap_or(u32::MAX),
            size,
            inode: 0,
        };
        let link_target = if kind == EntryKind::Symlink {
            entry
                .link_name_bytes()
                .map(|b| String::from_utf8_lossy(&b).into_owned())
        } else {
            None
        };
        let mut data = Vec::new();
        if kind == EntryKind::File {
            total += meta.size;
            if total > MAX_SNAPSHOT_BYTES {
                return Err(TarError::TooLarge {
                    path: display.to_string(),
                    cap: MAX_SNAPSHOT_BYTES,
                });
            }
            entry.read_to_end(&mut data).map_err(format)?;
        }
        if key.is_empty() {
            continue;
        }
        image.entries.insert(
            key,
            TarEntry {
                meta,
                data,
                link_target,
            },
        );
    }
    Ok(image)
}

#[cfg(test)]
pub(crate) fn image_from_bytes(bytes: &[u8]) -> Result<TarImage, TarError> {
    read_image(bytes, "test.tar")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw_tar(entries: &[(&str, &[u8])]) -> Vec<u8> {
        // Written by hand so that the test can produce names the tar crate's builder refuses.
        let mut out = Vec::new();
        for (name, data) in entries {
            let mut header = tar::Header::new_old();
            header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
            header.set_mode(0o644);
            header.set_uid(0);
            header.set_gid(0);
            header.set_mtime(0);
            header.set_size(data.len() as u64);
            header.set_entry_type(tar::EntryType::Regular);
            header.set_cksum();
            out.extend_from_slice(header.as_bytes());
            out.extend_from_slice(data);
            let pad = (512 - data.len() % 512) % 512;
            out.extend(std::iter::repeat_n(0u8, pad));
        }
        out.extend(std::iter::repeat_n(0u8, 1024));
        out
    }

    #[test]
    fn dot_dot_and_absolute_entries_are_refused_and_named() {
        let bytes = raw_tar(&[("../evil", b"x"), ("/etc/abs", b"y"), ("etc/ok", b"z")]);
        let image = image_from_bytes(&bytes).expect("loads");
        assert_eq!(image.entries.keys().collect::<Vec<_>>(), ["etc/ok"]);
        assert_eq!(image.refused.len(), 2);
        assert!(image.refused[0].contains("'..'"), "{:?}", image.refused);
        assert!(image.refused[1].contains("absolute"), "{:?}", image.refused);
    }

    #[test]
    fn garbage_is_a_format_error() {
        let err = image_from_bytes(&[0xffu8; 1024][..]).err();
        assert!(matches!(err, Some(TarError::Format { .. })), "{err:?}");
    }
}
