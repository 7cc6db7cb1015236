//! The build information a Go toolchain (1.18 and later) writes into every binary it links:
//! the Go version, the main module and its dependencies, and the build settings — what
//! `go version -m` prints. runc, containerd, CRI-O and k3s are Go programs, so this is how
//! their versions are read without running them.
//!
//! Layout (Go's `debug/buildinfo`): a 32-byte header starting with the magic
//! `\xff Go buildinf:`, a pointer-size byte and a flags byte; with flag bit 2 set the two
//! strings follow inline, each a uvarint length and its bytes: the Go version, then the
//! module information framed by two 16-byte sentinels. Older layouts (pointers into the data
//! segment) are not read: they predate Go 1.18, and so every release the advisories concern.

/// The magic that starts the build information.
pub const MAGIC: &[u8] = b"\xff Go buildinf:";
/// Bytes of build information read at most (k3s, with hundreds of dependencies, needs tens
/// of KiB).
pub const CAP: usize = 256 * 1024;
const HEADER: usize = 32;
const FLAG_INLINE: u8 = 0x2;
const SENTINEL: usize = 16;

/// One module: the main one or a dependency, with its replacement when go.mod replaced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Module {
    pub path: String,
    pub version: String,
    pub replaced_by: Option<(String, String)>,
}

impl Module {
    /// The version that was built in: the replacement's when there is one.
    pub fn built_version(&self) -> &str {
        self.replaced_by
            .as_ref()
            .map_or(self.version.as_str(), |(_, v)| v.as_str())
    }
}

/// What a binary says about its build.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GoBuild {
    pub go_version: String,
    /// The main package's path (`path` line).
    pub path: Option<String>,
    pub main: Option<Module>,
    pub deps: Vec<Module>,
    /// `build` settings (`-ldflags`, `-trimpath`, `vcs.revision`, …).
    pub settings: Vec<(String, String)>,
}

impl GoBuild {
    pub fn setting(&self, key: &str) -> Option<&str> {
        self.settings
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The value of `-X <symbol>=<value>` in the recorded `-ldflags` (recorded only when the
    /// binary was not built with `-trimpath`); the last one given, as the linker keeps it.
    pub fn linker_string(&self, symbol: &str) -> Option<String> {
        let flags = self.setting("-ldflags")?;
        let words = split_quoted(flags);
        let mut found = None;
        let mut i = 0;
        while i < words.len() {
            let word = &words[i];
            let assignment = if word == "-X" || word == "--X" {
                i += 1;
                words.get(i).map(String::as_str)
            } else {
                word.strip_prefix("-X=")
                    .or_else(|| word.strip_prefix("--X="))
            };
            if let Some((name, value)) = assignment.and_then(|a| a.split_once('='))
                && name == symbol
            {
                found = Some(value.to_string());
            }
            i += 1;
        }
        found
    }

    /// The dependency at `path`, when this binary links it.
    pub fn dep(&self, path: &str) -> Option<&Module> {
        self.deps.iter().find(|m| m.path == path)
    }
}

/// `-X a=b -X 'c=d e'` as the words a shell would make (the `go` command quotes settings
/// that hold spaces).
fn split_quoted(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for c in text.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => word.push(c),
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                any = true;
            }
            None if c.is_whitespace() => {
                if any || !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                any = false;
            }
            None => {
                word.push(c);
                any = true;
            }
        }
    }
    if any || !word.is_empty() {
        words.push(word);
    }
    words
}

fn uvarint(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (i, &b) in bytes.iter().enumerate().take(10) {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

fn inline_string(bytes: &[u8], at: usize) -> Result<(&[u8], usize), String> {
    let (len, used) = bytes
        .get(at..)
        .and_then(uvarint)
        .ok_or("a string length is cut short")?;
    let start = at + used;
    let end = usize::try_from(len)
        .ok()
        .and_then(|l| start.checked_add(l))
        .filter(|&end| end <= bytes.len())
        .ok_or_else(|| format!("a string of {len} bytes runs past the build information"))?;
    Ok((&bytes[start..end], end))
}

/// The length of the build information at the start of `blob` (header and both strings),
/// when it is some: what a snapshot keeps of a section padded beyond it.
pub fn extent(blob: &[u8]) -> Option<usize> {
    if !blob.starts_with(MAGIC) || blob.get(15)? & FLAG_INLINE == 0 {
        return None;
    }
    let (_, next) = inline_string(blob, HEADER).ok()?;
    let (_, end) = inline_string(blob, next).ok()?;
    Some(end)
}

/// Parses build information that starts with [`MAGIC`].
pub fn parse(blob: &[u8]) -> Result<GoBuild, String> {
    if !blob.starts_with(MAGIC) {
        return Err("no Go build information".into());
    }
    let flags = *blob.get(15).ok_or("the header is cut short")?;
    if flags & FLAG_INLINE == 0 {
        return Err("Go build information in the layout before Go 1.18 (not read)".into());
    }
    let (version, next) = inline_string(blob, HEADER)?;
    let (modinfo, _) = inline_string(blob, next)?;
    let modinfo = if modinfo.len() > 2 * SENTINEL && modinfo[modinfo.len() - SENTINEL - 1] == b'\n'
    {
        &modinfo[SENTINEL..modinfo.len() - SENTINEL]
    } else {
        modinfo
    };
    let text = |b: &[u8]| String::from_utf8(b.to_vec()).map_err(|_| "not UTF-8".to_string());
    let mut build = GoBuild {
        go_version: text(version)?,
        ..GoBuild::default()
    };
    let module = |fields: &[&str]| Module {
        path: fields.first().unwrap_or(&"").to_string(),
        version: fields.get(1).unwrap_or(&"").to_string(),
        replaced_by: None,
    };
    for line in text(modinfo)?.lines() {
        let mut fields = line.split('\t');
        let kind = fields.next().unwrap_or_default();
        let rest: Vec<&str> = fields.collect();
        match kind {
            "path" => build.path = rest.first().map(|s| s.to_string()),
            "mod" => build.main = Some(module(&rest)),
            "dep" => build.deps.push(module(&rest)),
            "=>" => {
                let replacement = (
                    rest.first().unwrap_or(&"").to_string(),
                    rest.get(1).unwrap_or(&"").to_string(),
                );
                // A replacement follows the module it replaces.
                if let Some(last) = build.deps.last_mut() {
                    last.replaced_by = Some(replacement);
                } else if let Some(main) = &mut build.main {
                    main.replaced_by = Some(replacement);
                }
            }
            "build" => {
                if let Some((key, value)) = rest.join("\t").split_once('=') {
                    let value = value
                        .strip_prefix('"')
                        .and_then(|v| v.strip_suffix('"'))
                        .map_or_else(|| value.to_string(), unquote);
                    build.settings.push((key.to_string(), value));
                }
            }
            _ => {}
        }
    }
    Ok(build)
}

/// Go's `strconv.Unquote` for the escapes the `go` command writes in a quoted setting.
fn unquote(inner: &str) -> String {
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(other) => out.push(other),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Build information as the Go linker writes it, for tests and fixtures: `modinfo` is the
/// text `go version -m` prints after the binary's name.
pub fn encode(go_version: &str, modinfo: &str) -> Vec<u8> {
    fn put(out: &mut Vec<u8>, bytes: &[u8]) {
        let mut len = bytes.len() as u64;
        loop {
            let b = (len & 0x7f) as u8;
            len >>= 7;
            if len == 0 {
                out.push(b);
                break;
            }
            out.push(b | 0x80);
        }
        out.extend_from_slice(bytes);
    }
    let mut out = MAGIC.to_vec();
    out.push(8);
    out.push(FLAG_INLINE);
    out.resize(HEADER, 0);
    put(&mut out, go_version.as_bytes());
    let mut framed = b"0w\xaf\x0c\x92t\x08\x02A\xe1\xc1\x07\xe6\xd6\x18\xe6".to_vec();
    framed.extend_from_slice(modinfo.as_bytes());
    framed.extend_from_slice(b"\xf92C1\x86\x18 r\x00\x82B\x10A\x16\xd8\xf2");
    put(&mut out, &framed);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_go_version_m_prints() {
        let modinfo = "path\tgithub.com/opencontainers/runc\nmod\tgithub.com/opencontainers/runc\t(devel)\t\ndep\tgithub.com/containerd/containerd\tv1.7.27\t\n=>\tgithub.com/k3s-io/containerd\tv1.7.27-k3s1\th1:x=\nbuild\t-ldflags=\"-X main.version=1.1.11 -X main.gitCommit=abc -X 'main.version=1.1.12 extra' -X=main.other=1\"\nbuild\t-trimpath=true\nbuild\tCGO_ENABLED=1\n";
        let build = parse(&encode("go1.20.13", modinfo)).expect("parses");
        assert_eq!(build.go_version, "go1.20.13");
        assert_eq!(
            build.path.as_deref(),
            Some("github.com/opencontainers/runc")
        );
        assert_eq!(
            build.main.as_ref().map(|m| m.version.as_str()),
            Some("(devel)")
        );
        assert_eq!(
            build.linker_string("main.version").as_deref(),
            Some("1.1.12 extra")
        );
        assert_eq!(build.linker_string("main.other").as_deref(), Some("1"));
        assert_eq!(
            build.linker_string("main.gitCommit").as_deref(),
            Some("abc")
        );
        assert_eq!(build.linker_string("main.missing"), None);
        let dep = build.dep("github.com/containerd/containerd").expect("dep");
        assert_eq!(dep.built_version(), "v1.7.27-k3s1");
        assert_eq!(build.setting("-trimpath"), Some("true"));
    }

    #[test]
    fn refuses_what_is_not_build_information() {
        assert!(parse(b"").is_err());
        assert!(parse(b"\x7fELF").is_err());
        // The pointer layout of Go before 1.18.
        let mut old = MAGIC.to_vec();
        old.extend_from_slice(&[8, 0]);
        old.resize(64, 0);
        assert!(
            parse(&old)
                .expect_err("old layout")
                .contains("before Go 1.18")
        );
        // A length that runs past the end, a varint that never ends, and a cut header.
        let mut long = encode("go1.22", "path\tx\n");
        long.truncate(long.len() - 5);
        assert!(parse(&long).is_err());
        let mut endless = MAGIC.to_vec();
        endless.extend_from_slice(&[8, 2]);
        endless.resize(32, 0);
        endless.extend_from_slice(&[0xff; 12]);
        assert!(parse(&endless).is_err());
        assert!(parse(MAGIC).is_err());
    }
}
