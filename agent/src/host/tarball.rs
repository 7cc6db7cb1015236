//! Loading a `.tar` / `.tar.gz` snapshot into memory, and writing one.
//!
//! Modes, owners and symlink targets come from the tar headers, so a snapshot judged on another
//! machine gives the verdicts of the machine it was taken on. Entries whose path is absolute or
//! climbs out with `..` are refused (and named), never written anywhere: the image lives only in
//! memory.
//!
//! A snapshot is input from elsewhere, so loading it is bounded: entries, bytes of headers
//! (long names, pax records and the payload of entries that are not files, all of which the
//! tar reader holds or skips without our say), and bytes of file content each have a cap, and
//! a snapshot must end with tar's end-of-archive block and hold something under `etc/`. A
//! truncated or empty archive would otherwise be a host with nothing wrong on it.

use super::backend::{EntryKind, RawMeta, TarEntry, TarImage, WITHHELD_LIST};
use std::cell::Cell;
use std::io::{self, Read};
use std::path::Path;
use std::rc::Rc;

/// What a snapshot may hold.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Entries (a node with 2,000 processes and 18,000 open descriptors makes about 25,000).
    pub entries: usize,
    /// Bytes of everything that is not file content: headers, long names, pax records and
    /// the payload of entries that are not regular files.
    pub header_bytes: u64,
    /// Bytes of file content, all held in memory.
    pub content_bytes: u64,
}

impl Limits {
    pub const DEFAULT: Limits = Limits {
        entries: 100_000,
        header_bytes: 128 * 1024 * 1024,
        content_bytes: 32 * 1024 * 1024,
    };
}

/// Why a snapshot could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TarError {
    #[error("cannot read snapshot {path}: {source}")]
    Io { path: String, source: io::Error },
    #[error("snapshot {path} is not a readable tar archive: {source}")]
    Format { path: String, source: io::Error },
    #[error("snapshot {path} holds more than {cap} bytes of file content")]
    TooLarge { path: String, cap: u64 },
    #[error("snapshot {path} holds more than {cap} entries")]
    TooManyEntries { path: String, cap: usize },
    #[error(
        "snapshot {path} holds more than {cap} bytes of headers, long names and non-file payload"
    )]
    HeadersTooLarge { path: String, cap: u64 },
    #[error(
        "snapshot {path} is truncated: it ends without tar's end-of-archive block (an empty or cut-off file is no host)"
    )]
    Truncated { path: String },
    #[error(
        "snapshot {path} holds nothing under etc/, so it is no host's root (make one with `nodecheck snapshot`)"
    )]
    NoEtc { path: String },
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
    read_image(reader, &display, Limits::DEFAULT)
}

/// Reads a snapshot held in memory (an uncompressed tar), with the same checks and limits.
pub fn load_bytes(bytes: &[u8], name: &str) -> Result<TarImage, TarError> {
    read_image(bytes, name, Limits::DEFAULT)
}

/// Longest entry name kept (Linux's `PATH_MAX`).
const MAX_NAME: usize = 4096;
/// Refused entries named; the rest are counted in the last line.
const MAX_REFUSED_NAMED: usize = 100;

/// Records a refused entry: named up to [`MAX_REFUSED_NAMED`], then counted.
fn refuse(image: &mut TarImage, reason: String) {
    match image.refused.len() {
        n if n < MAX_REFUSED_NAMED => image.refused.push(reason),
        n if n == MAX_REFUSED_NAMED => image.refused.push("1 more entry refused".into()),
        _ => {
            if let Some(last) = image.refused.last_mut() {
                let more = last
                    .split(' ')
                    .next()
                    .and_then(|n| n.parse::<usize>().ok())
                    .unwrap_or(1);
                *last = format!("{} more entries refused", more + 1);
            }
        }
    }
}

/// What the tar reader may still take from the stream, and whether it met the stream's end.
#[derive(Debug, Default)]
struct Meter {
    allowance: Cell<u64>,
    /// A read ran out of allowance (the budget, not the archive, ended it).
    exhausted: Cell<bool>,
    /// A read returned end of stream.
    eof: Cell<bool>,
}

/// A reader that takes no more bytes than its meter allows.
struct Metered<R> {
    inner: R,
    meter: Rc<Meter>,
}

impl<R: Read> Read for Metered<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let allowance = self.meter.allowance.get();
        if allowance == 0 && !buf.is_empty() {
            self.meter.exhausted.set(true);
            return Err(io::Error::other("snapshot budget exhausted"));
        }
        let want = buf
            .len()
            .min(usize::try_from(allowance).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 && want > 0 {
            self.meter.eof.set(true);
        }
        self.meter.allowance.set(allowance - n as u64);
        Ok(n)
    }
}

fn read_image(reader: impl Read, display: &str, limits: Limits) -> Result<TarImage, TarError> {
    let format = |source| TarError::Format {
        path: display.to_string(),
        source,
    };
    let meter = Rc::new(Meter::default());
    let mut archive = tar::Archive::new(Metered {
        inner: reader,
        meter: meter.clone(),
    });
    let mut image = TarImage::default();
    let mut content = 0u64;
    let mut headers_left = limits.header_bytes;
    let mut count = 0usize;
    let mut entries = archive.entries().map_err(format)?;
    loop {
        // Everything the reader takes while finding the next entry (its header, long names,
        // pax records, and skipping what the last entry's payload left) is header budget.
        meter.allowance.set(headers_left);
        let next = entries.next();
        headers_left = meter.allowance.get();
        let mut entry = match next {
            None => break,
            Some(Ok(entry)) => entry,
            Some(Err(_)) if meter.exhausted.get() => {
                return Err(TarError::HeadersTooLarge {
                    path: display.to_string(),
                    cap: limits.header_bytes,
                });
            }
            Some(Err(_)) if meter.eof.get() => {
                return Err(TarError::Truncated {
                    path: display.to_string(),
                });
            }
            Some(Err(e)) => return Err(format(e)),
        };
        count += 1;
        if count > limits.entries {
            return Err(TarError::TooManyEntries {
                path: display.to_string(),
                cap: limits.entries,
            });
        }
        let raw_name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        // Names are held for every entry: one longer than Linux's PATH_MAX names no file of
        // a host, and is not kept.
        let key = if raw_name.len() > MAX_NAME {
            Err(format!(
                "{}…: a name of {} bytes, longer than {MAX_NAME}",
                raw_name.chars().take(64).collect::<String>(),
                raw_name.len()
            ))
        } else {
            normalise(&raw_name)
        };
        let key = match key {
            Ok(key) => key,
            Err(reason) => {
                refuse(&mut image, reason);
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
                refuse(&mut image, format!("{raw_name}: unreadable header ({e})"));
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
            content = content.saturating_add(meta.size);
            if content > limits.content_bytes {
                return Err(TarError::TooLarge {
                    path: display.to_string(),
                    cap: limits.content_bytes,
                });
            }
            meter.allowance.set(meta.size);
            // Sized up front: growing by doubling would hold up to twice the content.
            data.reserve_exact(usize::try_from(meta.size).unwrap_or(0));
            entry.read_to_end(&mut data).map_err(format)?;
            if (data.len() as u64) < meta.size {
                return Err(TarError::Truncated {
                    path: display.to_string(),
                });
            }
        }
        if key.is_empty() {
            continue;
        }
        if key == WITHHELD_LIST {
            image.withheld = String::from_utf8_lossy(&data)
                .lines()
                .map(str::to_string)
                .collect();
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
    // The reader stops at the first all-zero block; reaching the end of the stream instead
    // means the archive was cut off (or was never one).
    if meter.eof.get() {
        return Err(TarError::Truncated {
            path: display.to_string(),
        });
    }
    if !image
        .entries
        .range("etc/".to_string()..)
        .next()
        .is_some_and(|(k, _)| k.starts_with("etc/"))
    {
        return Err(TarError::NoEtc {
            path: display.to_string(),
        });
    }
    Ok(image)
}

#[cfg(test)]
pub(crate) fn image_from_bytes(bytes: &[u8]) -> Result<TarImage, TarError> {
    read_image(bytes, "test.tar", Limits::DEFAULT)
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

    fn tar_of(entries: &[(&str, &[u8])], end_marker: bool) -> Vec<u8> {
        let mut bytes = raw_tar(entries);
        if !end_marker {
            bytes.truncate(bytes.len() - 1024);
        }
        bytes
    }

    fn small(entries: usize, header_bytes: u64, content_bytes: u64) -> Limits {
        Limits {
            entries,
            header_bytes,
            content_bytes,
        }
    }

    #[test]
    fn an_archive_without_its_end_or_without_etc_is_no_host() {
        let ok: &[(&str, &[u8])] = &[("etc/passwd", b"root:x:0:0::/:/bin/sh\n")];
        assert!(image_from_bytes(&tar_of(ok, true)).is_ok());
        for bytes in [
            Vec::new(),
            tar_of(ok, false),
            // Cut inside the file's content.
            tar_of(ok, true)[..600].to_vec(),
        ] {
            let err = image_from_bytes(&bytes).err();
            assert!(matches!(err, Some(TarError::Truncated { .. })), "{err:?}");
        }
        let err = image_from_bytes(&tar_of(&[("var/x", b"1"), ("etc", b"")], true)).err();
        assert!(matches!(err, Some(TarError::NoEtc { .. })), "{err:?}");
        assert!(err.is_some_and(|e| e.to_string().contains("nothing under etc/")));
    }

    #[test]
    fn entries_headers_and_content_are_capped() {
        let three: &[(&str, &[u8])] = &[("etc/a", b"12"), ("etc/b", b"34"), ("etc/c", b"56")];
        let bytes = tar_of(three, true);
        let read = |limits| read_image(bytes.as_slice(), "t.tar", limits).err();
        assert!(read(small(3, 4096, 6)).is_none());
        let err = read(small(2, 4096, 6));
        assert!(
            matches!(err, Some(TarError::TooManyEntries { cap: 2, .. })),
            "{err:?}"
        );
        let err = read(small(3, 4096, 5));
        assert!(
            matches!(err, Some(TarError::TooLarge { cap: 5, .. })),
            "{err:?}"
        );
        // Three headers and the end block are 2,048 bytes; payload padding counts too.
        let err = read(small(3, 1500, 6));
        assert!(
            matches!(err, Some(TarError::HeadersTooLarge { .. })),
            "{err:?}"
        );
        // The payload of an entry that is not a file is header budget, never held.
        let mut fifo = tar::Header::new_old();
        fifo.as_old_mut().name[..8].copy_from_slice(b"etc/fifo");
        fifo.set_mode(0o644);
        fifo.set_size(1 << 20);
        fifo.set_entry_type(tar::EntryType::Fifo);
        fifo.set_cksum();
        let mut bytes = fifo.as_bytes().to_vec();
        bytes.extend(std::iter::repeat_n(0u8, (1 << 20) + 1024));
        let err = read_image(bytes.as_slice(), "t.tar", small(10, 64 * 1024, 10)).err();
        assert!(
            matches!(err, Some(TarError::HeadersTooLarge { .. })),
            "{err:?}"
        );
    }

    #[test]
    fn garbage_is_a_format_error() {
        let err = image_from_bytes(&[0xffu8; 1024][..]).err();
        assert!(matches!(err, Some(TarError::Format { .. })), "{err:?}");
    }
}
