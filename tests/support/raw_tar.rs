//! Tar archives written by hand, header by header: the tar crate refuses to build the hostile
//! names (`..`, escapes) that the tests feed the snapshot reader.

/// A ustar-less (old-style) archive of regular files, each `mode`, owned by root, with the
/// end-of-archive blocks.
pub fn raw_tar(entries: &[(&str, &[u8])], mode: u32) -> Vec<u8> {
    let mut bytes = Vec::new();
    for (name, data) in entries {
        let mut header = tar::Header::new_old();
        header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        header.set_mode(mode);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        header.set_size(data.len() as u64);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        bytes.extend_from_slice(header.as_bytes());
        bytes.extend_from_slice(data);
        bytes.resize(bytes.len().div_ceil(512) * 512, 0);
    }
    bytes.resize(bytes.len() + 1024, 0);
    bytes
}
