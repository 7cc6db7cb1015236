//! What the scan knows about sshd: the running daemon's command line, the installed version,
//! the configuration it loads, and the files it names.

use super::FileFact;
use super::process::Process;
use crate::host::{Content, FileError, Host};
use crate::parse::ssh_key::{PublicKeyInfo, parse_public_key};
use crate::parse::sshd::{self, CommandLine, ConnSpec, Effective, OpenSshVersion, SshdConfig};

/// The default configuration path, and the vendor path some distributions use when the admin
/// has none (openSUSE's `/usr/etc/ssh/sshd_config`).
pub const CONFIG_PATHS: &[&str] = &["/etc/ssh/sshd_config", "/usr/etc/ssh/sshd_config"];
/// Where the sshd binary usually is.
pub const BINARY_PATHS: &[&str] = &["/usr/sbin/sshd", "/usr/local/sbin/sshd", "/sbin/sshd"];
/// Cap for reading the sshd binary to find its version string.
const BINARY_CAP: u64 = 16 * 1024 * 1024;

/// The running sshd listener process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshdProcess {
    pub pid: u32,
    pub config_path: Option<String>,
    pub command_line: CommandLine,
}

/// Everything sshd-related, or why there is nothing to judge.
#[derive(Debug, Clone)]
pub enum SshdFacts {
    /// No sshd configuration and no sshd binary or process.
    NotInstalled {
        tried: Vec<String>,
    },
    /// The main configuration file exists but cannot be read.
    Unreadable {
        path: String,
        error: FileError,
    },
    Loaded(Box<LoadedSshd>),
}

/// A loaded configuration with its effective values.
#[derive(Debug, Clone)]
pub struct LoadedSshd {
    pub config: SshdConfig,
    /// The global view (`sshd -T`).
    pub global: Effective,
    pub process: Option<SshdProcess>,
    /// Metadata of every configuration file read.
    pub config_files: Vec<FileFact>,
    /// Private host keys (from the effective `HostKey` list) and their public halves.
    pub host_keys: Vec<FileFact>,
    pub public_keys: Vec<FileFact>,
    /// What each host key is, from its `.pub` beside it (parallel to `host_keys`), or why
    /// that cannot be told.
    pub host_key_types: Vec<Result<PublicKeyInfo, String>>,
    /// Each `HostCertificate` file and what it certifies.
    pub host_certificates: Vec<(String, Result<PublicKeyInfo, String>)>,
    /// Where the version came from, or why it is unknown.
    pub version_source: String,
    /// When the version is unknown (and so loaded as the oldest known), the same configuration
    /// loaded as the newest known: checks are judged with both.
    pub newest: Option<Box<LoadedSshd>>,
}

/// Recovers sshd's own arguments. The listener rewrites its title to
/// `sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups`, keeping the original arguments
/// as text (quoting is lost; sshd options rarely need it).
pub fn sshd_arguments(p: &Process) -> Vec<String> {
    match p.argv.first() {
        Some(first) if first.starts_with("sshd: ") && p.argv.len() == 1 => {
            let title = first.trim_start_matches("sshd: ");
            let title = title.split(" [listener]").next().unwrap_or(title);
            title.split_whitespace().map(str::to_string).collect()
        }
        _ => p.argv.clone(),
    }
}

/// Parses sshd's options (`getopt "C:E:b:c:f:g:h:k:o:p:u:46DGQRTdeiqrtV"`).
pub fn parse_command_line(args: &[String], pid: u32) -> (Option<String>, CommandLine) {
    let mut config_path = None;
    let mut cmdline = CommandLine {
        pid: Some(pid),
        ..CommandLine::default()
    };
    let with_value = "CEbcfghkopu";
    let mut i = 1;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        let Some(flags) = arg.strip_prefix('-') else {
            continue;
        };
        for (pos, flag) in flags.char_indices() {
            if !with_value.contains(flag) {
                continue;
            }
            let attached = &flags[pos + flag.len_utf8()..];
            let value = if attached.is_empty() {
                i += 1;
                args.get(i - 1).cloned().unwrap_or_default()
            } else {
                attached.to_string()
            };
            match flag {
                'f' => config_path = Some(value),
                'o' => cmdline.options.push(value),
                'p' => cmdline.ports.push(value),
                _ => {}
            }
            break;
        }
    }
    (config_path, cmdline)
}

/// The sshd listener: a process whose program is sshd and whose parent is not sshd.
pub fn find_sshd(processes: &[Process]) -> Option<&Process> {
    let is_sshd = |p: &Process| p.program() == "sshd" || p.comm == "sshd";
    processes.iter().find(|p| {
        is_sshd(p)
            && !processes
                .iter()
                .any(|parent| parent.pid == p.ppid && is_sshd(parent))
    })
}

fn detect_version(host: &Host, process: Option<&Process>) -> (Option<OpenSshVersion>, String) {
    let mut candidates: Vec<String> = Vec::new();
    if let Some(exe) = process.and_then(|p| p.exe.clone()) {
        candidates.push(exe.trim_end_matches(" (deleted)").to_string());
    }
    candidates.extend(BINARY_PATHS.iter().map(|s| s.to_string()));
    for path in &candidates {
        if let Ok(bytes) = host.excerpts(path, b"OpenSSH_")
            && let Some(v) = OpenSshVersion::find_in_binary(&bytes)
        {
            return (Some(v), format!("version string in {path}"));
        }
    }
    if let Ok(status) = host.read_text(DPKG_STATUS, BINARY_CAP, Content::Plain)
        && let Some(v) = version_from_dpkg(&status)
    {
        return (Some(v), format!("openssh-server in {DPKG_STATUS}"));
    }
    (
        None,
        format!(
            "no OpenSSH version string found in {} or {DPKG_STATUS}",
            candidates.join(", ")
        ),
    )
}

const DPKG_STATUS: &str = "/var/lib/dpkg/status";
/// Cap for a public key or certificate file (an 16 kbit RSA certificate is under 8 KiB).
const PUBLIC_KEY_CAP: u64 = 64 * 1024;

/// The algorithm and size of the public key or certificate at `path`.
fn read_public_key(host: &Host, path: &str) -> Result<PublicKeyInfo, String> {
    let text = host
        .read_text(path, PUBLIC_KEY_CAP, Content::SshPublicKey)
        .map_err(|e| e.to_string())?;
    parse_public_key(&text, host.is_snapshot()).map_err(|why| format!("{path}: {why}"))
}

/// The installed openssh-server's version from dpkg's database (`Version: 1:9.2p1-2+deb12u6`).
pub fn version_from_dpkg(status: &str) -> Option<OpenSshVersion> {
    let stanza = status
        .split("\n\n")
        .find(|s| s.lines().any(|l| l == "Package: openssh-server"))?;
    if !stanza
        .lines()
        .any(|l| l.starts_with("Status:") && l.ends_with(" installed"))
    {
        return None;
    }
    let version = stanza.lines().find_map(|l| l.strip_prefix("Version: "))?;
    let version = version.split_once(':').map_or(version, |(_, v)| v);
    let (upstream, revision) = version.split_once('-').unwrap_or((version, ""));
    let vendor = if revision.is_empty() {
        String::new()
    } else {
        format!(" Debian-{revision}")
    };
    OpenSshVersion::parse(&format!("OpenSSH_{upstream}{vendor}"))
}

/// The host keys (and certificates) an effective configuration names, as files and types.
struct HostKeyFacts {
    private: Vec<FileFact>,
    public: Vec<FileFact>,
    types: Vec<Result<PublicKeyInfo, String>>,
    certificates: Vec<(String, Result<PublicKeyInfo, String>)>,
}

impl HostKeyFacts {
    fn gather(host: &Host, global: &Effective) -> HostKeyFacts {
        let paths: Vec<String> = global
            .get("hostkey")
            .map(|s| s.values.clone())
            .unwrap_or_default();
        HostKeyFacts {
            private: paths.iter().map(|k| FileFact::stat(host, k)).collect(),
            public: paths
                .iter()
                .map(|k| FileFact::stat(host, &format!("{k}.pub")))
                .collect(),
            types: paths
                .iter()
                .map(|k| read_public_key(host, &format!("{k}.pub")))
                .collect(),
            certificates: global
                .get("hostcertificate")
                .map(|s| s.values.clone())
                .unwrap_or_default()
                .into_iter()
                .map(|path| {
                    let info = read_public_key(host, &path);
                    (path, info)
                })
                .collect(),
        }
    }
}

/// Gathers the sshd facts.
pub fn gather(host: &Host, processes: &[Process]) -> SshdFacts {
    let process = find_sshd(processes).map(|p| {
        let (config_path, command_line) = parse_command_line(&sshd_arguments(p), p.pid);
        SshdProcess {
            pid: p.pid,
            config_path,
            command_line,
        }
    });
    let main = match process.as_ref().and_then(|p| p.config_path.clone()) {
        Some(path) if path.starts_with('/') => Some(path),
        Some(relative) => Some(format!("/{relative}")),
        // A dangling symlink at the config path is a broken configuration, not "no sshd".
        None => CONFIG_PATHS
            .iter()
            .find(|p| host.exists_unfollowed(p))
            .map(|p| p.to_string()),
    };
    let Some(main) = main else {
        let binary = BINARY_PATHS.iter().any(|p| host.exists(p));
        if !binary && process.is_none() {
            return SshdFacts::NotInstalled {
                tried: CONFIG_PATHS
                    .iter()
                    .chain(BINARY_PATHS)
                    .map(|s| s.to_string())
                    .collect(),
            };
        }
        return SshdFacts::Unreadable {
            path: CONFIG_PATHS[0].to_string(),
            error: FileError::NotFound(CONFIG_PATHS[0].to_string()),
        };
    };
    let sshd_process = process
        .as_ref()
        .and_then(|sp| processes.iter().find(|p| p.pid == sp.pid));
    let (version, version_source) = detect_version(host, sshd_process);
    let cmdline = process
        .as_ref()
        .map(|p| p.command_line.clone())
        .unwrap_or_default();
    let config = match sshd::load(host, &main, &cmdline, version) {
        Ok(config) => config,
        Err(error) => return SshdFacts::Unreadable { path: main, error },
    };
    let global = config.evaluate(&ConnSpec::default(), host.users());
    let config_files = config
        .files
        .iter()
        .map(|f| FileFact::stat(host, f))
        .collect();
    let newest = if config.version_known {
        None
    } else {
        match sshd::load_as(host, &main, &cmdline, OpenSshVersion::newest_known(), false) {
            Ok(config) => Some(config),
            Err(error) => return SshdFacts::Unreadable { path: main, error },
        }
    };
    let keys = HostKeyFacts::gather(host, &global);
    let mut loaded = LoadedSshd {
        config,
        global,
        process,
        config_files,
        host_keys: keys.private,
        public_keys: keys.public,
        host_key_types: keys.types,
        host_certificates: keys.certificates,
        version_source,
        newest: None,
    };
    if let Some(config) = newest {
        // The newest defaults may name other host keys (10.4 adds the ML-DSA one).
        let global = config.evaluate(&ConnSpec::default(), host.users());
        let keys = HostKeyFacts::gather(host, &global);
        loaded.newest = Some(Box::new(LoadedSshd {
            config,
            global,
            host_keys: keys.private,
            public_keys: keys.public,
            host_key_types: keys.types,
            host_certificates: keys.certificates,
            newest: None,
            ..loaded.clone()
        }));
    }
    SshdFacts::Loaded(Box::new(loaded))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn command_line_options_are_recovered() {
        let (path, cmd) = parse_command_line(
            &argv(&[
                "/usr/sbin/sshd",
                "-D",
                "-f",
                "/etc/ssh/alt_config",
                "-oCiphers=aes256-ctr",
                "-o",
                "PermitRootLogin=no",
                "-p2222",
            ]),
            7,
        );
        assert_eq!(path.as_deref(), Some("/etc/ssh/alt_config"));
        assert_eq!(cmd.options, ["Ciphers=aes256-ctr", "PermitRootLogin=no"]);
        assert_eq!(cmd.ports, ["2222"]);
    }

    #[test]
    fn listener_title_is_split_back_into_arguments() {
        let p = Process {
            argv: argv(&[
                "sshd: /usr/sbin/sshd -D -o MaxAuthTries=3 [listener] 0 of 10-100 startups",
            ]),
            ..Process::default()
        };
        assert_eq!(
            sshd_arguments(&p),
            ["/usr/sbin/sshd", "-D", "-o", "MaxAuthTries=3"]
        );
    }

    #[test]
    fn version_from_the_package_database() {
        let status = "Package: openssh-client\nStatus: install ok installed\nVersion: 1:9.2p1-2+deb12u6\n\nPackage: openssh-server\nStatus: install ok installed\nVersion: 1:9.2p1-2+deb12u6\n\n";
        let v = version_from_dpkg(status).expect("found");
        assert_eq!((v.major, v.minor, v.portable), (9, 2, 1));
        assert_eq!(v.vendor.as_deref(), Some("Debian-2+deb12u6"));
        let removed =
            "Package: openssh-server\nStatus: deinstall ok config-files\nVersion: 1:9.2p1-2\n";
        assert!(version_from_dpkg(removed).is_none());
    }

    #[test]
    fn the_listener_is_the_sshd_without_an_sshd_parent() {
        let procs = vec![
            Process {
                pid: 1,
                comm: "systemd".into(),
                ..Process::default()
            },
            Process {
                pid: 10,
                ppid: 1,
                comm: "sshd".into(),
                ..Process::default()
            },
            Process {
                pid: 20,
                ppid: 10,
                comm: "sshd".into(),
                ..Process::default()
            },
        ];
        assert_eq!(find_sshd(&procs).map(|p| p.pid), Some(10));
    }
}
