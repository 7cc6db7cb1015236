//! Fixture hosts for tests and benchmarks: a directory with a `MANIFEST` (one entry a line:
//! `path mode uid gid` for a file whose content is `files/<path>`, `path/ mode uid gid` for a
//! directory, `path -> target` for a symlink, `path mode uid gid special` for a socket or
//! other special file, which git cannot hold and a snapshot records as a FIFO) built into a
//! `.tar.gz` that `--root` reads with exactly those modes and owners, whoever builds it.

use std::io::{self, Write};
use std::path::Path;

/// Builds the snapshot of the fixture at `fixture` into `out`.
pub fn build_snapshot(fixture: &Path, out: &Path) -> io::Result<()> {
    let bad = |line: &str| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("bad MANIFEST line in {}: {line}", fixture.display()),
        )
    };
    let manifest = std::fs::read_to_string(fixture.join("MANIFEST"))?;
    let file = std::fs::File::create(out)?;
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
    let mut builder = tar::Builder::new(gz);
    for line in manifest
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let mut header = tar::Header::new_gnu();
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        if let Some((path, target)) = line.split_once(" -> ") {
            header.set_entry_type(tar::EntryType::Symlink);
            header.set_mode(0o777);
            header.set_size(0);
            builder.append_link(&mut header, path.trim(), target.trim())?;
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (path, mode, uid, gid, special) = match fields[..] {
            [path, mode, uid, gid] => (path, mode, uid, gid, false),
            [path, mode, uid, gid, "special"] => (path, mode, uid, gid, true),
            _ => return Err(bad(line)),
        };
        header.set_mode(u32::from_str_radix(mode, 8).map_err(|_| bad(line))?);
        header.set_uid(uid.parse().map_err(|_| bad(line))?);
        header.set_gid(gid.parse().map_err(|_| bad(line))?);
        if special {
            header.set_entry_type(tar::EntryType::Fifo);
            header.set_size(0);
            builder.append_data(&mut header, path, io::empty())?;
            continue;
        }
        if path.ends_with('/') {
            header.set_entry_type(tar::EntryType::Directory);
            header.set_size(0);
            builder.append_data(&mut header, path, io::empty())?;
            continue;
        }
        let data = std::fs::read(fixture.join("files").join(path))?;
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(data.len() as u64);
        builder.append_data(&mut header, path, data.as_slice())?;
    }
    builder.into_inner()?.finish()?.flush()
}
