//! Finds a Go binary's build information by its ELF section, reading a few KiB of a binary of
//! any size: the ELF header, the section header table, the section names, then
//! `.go.buildinfo` itself. Streaming a 50 MB containerd to find the magic would cost tens of
//! milliseconds per scan; this costs four small reads.
//!
//! Every offset and size comes from the file and is hostile: each is bounded before use, and a
//! file that is not a 64- or 32-bit little- or big-endian ELF, or holds no such section, is
//! simply not a Go binary to this reader.

use crate::parse::go_build;
use std::io::{self, Read, Seek, SeekFrom};

/// Readers that can also seek: a file of the root, or a snapshot entry's bytes.
pub trait ReadSeek: Read + Seek {}
impl<T: Read + Seek> ReadSeek for T {}

/// Section headers looked at most.
const SECTIONS_MAX: u64 = 4096;
/// Bytes of the section-name table read at most.
const NAMES_CAP: u64 = 64 * 1024;
const SECTION: &[u8] = b".go.buildinfo";

fn read_at(file: &mut dyn ReadSeek, offset: u64, len: u64) -> io::Result<Vec<u8>> {
    file.seek(SeekFrom::Start(offset))?;
    let mut out = Vec::new();
    file.take(len).read_to_end(&mut out)?;
    if (out.len() as u64) < len {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the ELF file is cut short",
        ));
    }
    Ok(out)
}

/// Integers of one ELF class and byte order.
#[derive(Clone, Copy)]
struct Layout {
    wide: bool,
    big: bool,
}

impl Layout {
    fn uint(self, bytes: &[u8], at: usize, width: usize) -> u64 {
        let Some(field) = bytes.get(at..at + width) else {
            return 0;
        };
        let mut value = 0u64;
        for i in 0..width {
            let b = if self.big {
                field[i]
            } else {
                field[width - 1 - i]
            };
            value = (value << 8) | u64::from(b);
        }
        value
    }
    /// An address-sized field (`Elf64_Off`/`Elf32_Off`).
    fn word(self, bytes: &[u8], at64: usize, at32: usize) -> u64 {
        if self.wide {
            self.uint(bytes, at64, 8)
        } else {
            self.uint(bytes, at32, 4)
        }
    }
}

/// The build information of the Go binary `file`, or `None` when it has none to find: the
/// bytes of its `.go.buildinfo` section (at most [`go_build::CAP`]), or, when `kept` (a
/// snapshot, whose excerpt stands in place of the binary), the file itself when it starts
/// with the magic. On a live root such a file is no program at all, and holds no version.
pub fn go_build_info(file: &mut dyn ReadSeek, kept: bool) -> io::Result<Option<Vec<u8>>> {
    let mut ident = [0u8; 16];
    file.seek(SeekFrom::Start(0))?;
    let n = file.read(&mut ident)?;
    if ident[..n].starts_with(go_build::MAGIC) {
        if !kept {
            return Ok(None);
        }
        file.seek(SeekFrom::Start(0))?;
        let mut out = Vec::new();
        file.take(go_build::CAP as u64).read_to_end(&mut out)?;
        return Ok(Some(out));
    }
    if n < 16 || &ident[..4] != b"\x7fELF" {
        return Ok(None);
    }
    let layout = match (ident[4], ident[5]) {
        (1, 1) => Layout {
            wide: false,
            big: false,
        },
        (1, 2) => Layout {
            wide: false,
            big: true,
        },
        (2, 1) => Layout {
            wide: true,
            big: false,
        },
        (2, 2) => Layout {
            wide: true,
            big: true,
        },
        _ => return Ok(None),
    };
    let header = read_at(file, 0, if layout.wide { 64 } else { 52 })?;
    let shoff = layout.word(&header, 0x28, 0x20);
    let (entsize, count, names_index) = if layout.wide {
        (
            layout.uint(&header, 0x3A, 2),
            layout.uint(&header, 0x3C, 2),
            layout.uint(&header, 0x3E, 2),
        )
    } else {
        (
            layout.uint(&header, 0x2E, 2),
            layout.uint(&header, 0x30, 2),
            layout.uint(&header, 0x32, 2),
        )
    };
    let expected = if layout.wide { 64 } else { 40 };
    if shoff == 0
        || entsize != expected
        || count == 0
        || count > SECTIONS_MAX
        || names_index >= count
    {
        return Ok(None);
    }
    let table = read_at(file, shoff, entsize * count)?;
    let section = |i: u64| {
        let at = usize::try_from(i * entsize).unwrap_or(usize::MAX);
        let name = layout.uint(&table, at, 4);
        let offset = layout.word(&table, at + 0x18, at + 0x10);
        let size = layout.word(&table, at + 0x20, at + 0x14);
        (name, offset, size)
    };
    let (_, names_offset, names_size) = section(names_index);
    let names = read_at(file, names_offset, names_size.min(NAMES_CAP))?;
    for i in 0..count {
        let (name, offset, size) = section(i);
        let Some(name) = usize::try_from(name).ok().and_then(|n| names.get(n..)) else {
            continue;
        };
        let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
        if &name[..end] == SECTION {
            let bytes = read_at(file, offset, size.min(go_build::CAP as u64))?;
            return Ok(bytes.starts_with(go_build::MAGIC).then_some(bytes));
        }
    }
    Ok(None)
}

/// A minimal ELF64 file holding `build_info` as its `.go.buildinfo` section: how tests and
/// fixtures stand for a Go binary.
pub fn minimal_elf(build_info: &[u8]) -> Vec<u8> {
    let names = b"\0.shstrtab\0.go.buildinfo\0";
    let data_at = 64u64;
    let names_at = data_at + build_info.len() as u64;
    let table_at = (names_at + names.len() as u64).div_ceil(8) * 8;
    let mut out = vec![0u8; 64];
    out[..4].copy_from_slice(b"\x7fELF");
    out[4] = 2; // 64-bit
    out[5] = 1; // little-endian
    out[6] = 1; // version
    out[0x10..0x12].copy_from_slice(&2u16.to_le_bytes()); // executable
    out[0x28..0x30].copy_from_slice(&table_at.to_le_bytes());
    out[0x34..0x36].copy_from_slice(&64u16.to_le_bytes());
    out[0x3A..0x3C].copy_from_slice(&64u16.to_le_bytes());
    out[0x3C..0x3E].copy_from_slice(&3u16.to_le_bytes());
    out[0x3E..0x40].copy_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(build_info);
    out.extend_from_slice(names);
    out.resize(usize::try_from(table_at).unwrap_or(0), 0);
    let mut section = |name: u32, offset: u64, size: u64| {
        let mut entry = vec![0u8; 64];
        entry[..4].copy_from_slice(&name.to_le_bytes());
        entry[4..8].copy_from_slice(&1u32.to_le_bytes());
        entry[0x18..0x20].copy_from_slice(&offset.to_le_bytes());
        entry[0x20..0x28].copy_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&entry);
    };
    section(0, 0, 0);
    section(1, names_at, names.len() as u64);
    section(11, data_at, build_info.len() as u64);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn find(bytes: &[u8]) -> Option<Vec<u8>> {
        go_build_info(&mut Cursor::new(bytes.to_vec()), true)
            .ok()
            .flatten()
    }

    #[test]
    fn finds_the_section_of_an_elf_and_the_kept_excerpt() {
        let info = go_build::encode("go1.22.5", "path\tgithub.com/opencontainers/runc\n");
        let elf = minimal_elf(&info);
        assert_eq!(find(&elf).as_deref(), Some(info.as_slice()));
        // The excerpt a snapshot keeps reads the same; on a live root it is no binary.
        assert_eq!(find(&info).as_deref(), Some(info.as_slice()));
        assert_eq!(
            go_build_info(&mut Cursor::new(info.clone()), false).expect("reads"),
            None
        );
    }

    #[test]
    fn anything_else_has_none_and_never_panics() {
        assert_eq!(find(b""), None);
        assert_eq!(find(b"#!/bin/sh\nexec runc\n"), None);
        let info = go_build::encode("go1.22.5", "path\tx\n");
        let elf = minimal_elf(&info);
        // Every truncation and every single corrupted byte of the headers: an answer or an
        // error, never a panic, never more than the caps read.
        for cut in 0..elf.len() {
            let _ = go_build_info(&mut Cursor::new(elf[..cut].to_vec()), true);
        }
        for at in 0..64 {
            for value in [0u8, 0x7f, 0xff] {
                let mut bad = elf.clone();
                bad[at] = value;
                let _ = go_build_info(&mut Cursor::new(bad), true);
            }
        }
        let table = elf.len() - 3 * 64;
        for at in table..elf.len() {
            let mut bad = elf.clone();
            bad[at] = 0xff;
            let _ = go_build_info(&mut Cursor::new(bad), true);
        }
    }
}
