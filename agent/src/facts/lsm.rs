//! The kernel's security modules: which are active, AppArmor's loaded profiles, SELinux's
//! mode, and whether seccomp filters exist.
//!
//! The active modules are the kernel's list in `/sys/kernel/security/lsm` (securityfs). Where
//! securityfs is not mounted, AppArmor's `enabled` module parameter and SELinux's own
//! filesystem still tell; where the host's `/sys/kernel/security` is not under the root at all
//! (a DaemonSet without that mount, a copy of a node without it), nothing is claimed.

use crate::host::{Content, FileError, Host, PROC_CAP};

const SECURITYFS: &str = "/sys/kernel/security";
const LSM_LIST: &str = "/sys/kernel/security/lsm";
const APPARMOR_PROFILES: &str = "/sys/kernel/security/apparmor/profiles";
const APPARMOR_ENABLED: &str = "/sys/module/apparmor/parameters/enabled";
const SELINUX_ENFORCE: &str = "/sys/fs/selinux/enforce";
/// AppArmor profiles listed at most (a node has tens to a few hundred).
pub const PROFILES_MAX: usize = 4096;
const PROFILES_CAP: u64 = 1024 * 1024;

/// A loaded AppArmor profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub name: String,
    /// `enforce`, `complain`, `kill`, `unconfined`, …
    pub mode: String,
}

/// AppArmor's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppArmor {
    /// Not among the active modules (not built, or not enabled at boot).
    Inactive,
    /// Active, with its loaded profiles (or why they cannot be listed).
    Active {
        profiles: Result<Vec<Profile>, String>,
    },
}

/// SELinux's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeLinux {
    Inactive,
    Enforcing,
    Permissive,
    /// Active, its mode not readable (why).
    Unreadable(String),
}

/// What the security modules are, as far as the root shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LsmFacts {
    /// The host's `/sys/kernel/security` is not under the root: nothing can be said (why).
    Unknown(String),
    Known(KnownLsm),
}

/// The security modules of a host whose `/sys` is visible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownLsm {
    /// The kernel's list of active modules, when securityfs is mounted.
    pub active: Option<Vec<String>>,
    /// Where the states below were read.
    pub source: String,
    pub apparmor: AppArmor,
    pub selinux: SeLinux,
    /// The seccomp filter actions the kernel offers (`/proc/sys/kernel/seccomp/actions_avail`);
    /// `None` when it offers none (no seccomp filter support).
    pub seccomp_actions: Result<Option<Vec<String>>, String>,
}

impl KnownLsm {
    /// Whether AppArmor or an enforcing SELinux confines processes (permissive SELinux only
    /// logs).
    pub fn mandatory_access_control(&self) -> bool {
        matches!(self.apparmor, AppArmor::Active { .. }) || self.selinux == SeLinux::Enforcing
    }
}

fn read_line(host: &Host, path: &str) -> Result<String, FileError> {
    host.read_text(path, PROC_CAP, Content::Plain)
        .map(|t| t.trim().to_string())
}

/// AppArmor's `profiles` file: `name (mode)` per line.
pub fn parse_profiles(text: &str) -> Vec<Profile> {
    text.lines()
        .take(PROFILES_MAX)
        .filter_map(|line| {
            let line = line.trim();
            let (name, mode) = line.rsplit_once(" (")?;
            Some(Profile {
                name: name.to_string(),
                mode: mode.trim_end_matches(')').to_string(),
            })
        })
        .collect()
}

/// Reads the security modules' state.
pub fn gather(host: &Host) -> LsmFacts {
    if !host.exists(SECURITYFS) {
        return LsmFacts::Unknown(format!(
            "the host's {SECURITYFS} is not visible under the root (in the DaemonSet, mount it \
             read-only at /host{SECURITYFS})"
        ));
    }
    let active = match read_line(host, LSM_LIST) {
        Ok(list) => Some(list.split(',').map(str::to_string).collect::<Vec<_>>()),
        Err(_) => None,
    };
    if active.is_none() && !host.exists("/sys/module") {
        return LsmFacts::Unknown(format!(
            "securityfs is not mounted at the host's {SECURITYFS} and the host's /sys/module is \
             not visible under the root, so the active modules cannot be told"
        ));
    }
    let (apparmor_on, selinux_on, source) = match &active {
        Some(list) => (
            list.iter().any(|m| m == "apparmor"),
            list.iter().any(|m| m == "selinux"),
            LSM_LIST.to_string(),
        ),
        // securityfs is not mounted: AppArmor's module parameter and selinuxfs still tell.
        None => (
            read_line(host, APPARMOR_ENABLED).is_ok_and(|v| v == "Y"),
            host.exists(SELINUX_ENFORCE),
            format!(
                "{APPARMOR_ENABLED} and {SELINUX_ENFORCE} (securityfs is not mounted at {SECURITYFS})"
            ),
        ),
    };
    let apparmor = if apparmor_on {
        AppArmor::Active {
            profiles: match host.read_text(APPARMOR_PROFILES, PROFILES_CAP, Content::Plain) {
                Ok(text) => Ok(parse_profiles(&text)),
                Err(e) => Err(e.to_string()),
            },
        }
    } else {
        AppArmor::Inactive
    };
    let selinux = if selinux_on {
        match read_line(host, SELINUX_ENFORCE) {
            Ok(v) if v == "1" => SeLinux::Enforcing,
            Ok(v) if v == "0" => SeLinux::Permissive,
            Ok(v) => SeLinux::Unreadable(format!("{SELINUX_ENFORCE} says {v:?}")),
            Err(e) if e.is_not_found() => SeLinux::Unreadable(format!(
                "SELinux is active but {SELINUX_ENFORCE} is not visible (in the DaemonSet, add \
                 the selinux component, which mounts it)"
            )),
            Err(e) => SeLinux::Unreadable(e.to_string()),
        }
    } else {
        SeLinux::Inactive
    };
    let seccomp_actions = match host.proc_read("sys/kernel/seccomp/actions_avail", PROC_CAP) {
        Ok(bytes) => Ok(Some(
            String::from_utf8_lossy(&bytes)
                .split_whitespace()
                .map(str::to_string)
                .collect(),
        )),
        Err(FileError::NotFound(_)) => Ok(None),
        Err(e) => Err(e.to_string()),
    };
    LsmFacts::Known(KnownLsm {
        active,
        source,
        apparmor,
        selinux,
        seccomp_actions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::testing::TempRoot;

    #[test]
    fn profiles_name_their_mode() {
        let p = parse_profiles(
            "cri-containerd.apparmor.d (enforce)\n/usr/bin/man (complain)\nodd line\nunprivileged_userns (unconfined)\n",
        );
        assert_eq!(p.len(), 3);
        assert_eq!(p[0].name, "cri-containerd.apparmor.d");
        assert_eq!(p[0].mode, "enforce");
        assert_eq!(p[2].mode, "unconfined");
    }

    #[test]
    fn the_kernel_list_decides_and_securityfs_absent_falls_back() {
        let root = TempRoot::new();
        root.file(
            "sys/kernel/security/lsm",
            "lockdown,capability,landlock,yama,apparmor\n",
            0o444,
        )
        .file(
            "sys/kernel/security/apparmor/profiles",
            "crio-default (enforce)\n",
            0o444,
        )
        .file("proc/1/status", "Name:\tinit\n", 0o444);
        let LsmFacts::Known(known) = gather(&root.host()) else {
            panic!("sys is visible");
        };
        assert!(matches!(&known.apparmor, AppArmor::Active { profiles: Ok(p) } if p.len() == 1));
        assert_eq!(known.selinux, SeLinux::Inactive);
        assert!(known.mandatory_access_control());

        let unmounted = TempRoot::new();
        unmounted
            .file("sys/kernel/security/.keep", "", 0o444)
            .file("sys/module/loop/parameters/max_loop", "0", 0o444)
            .file("sys/fs/selinux/enforce", "0", 0o644);
        let LsmFacts::Known(known) = gather(&unmounted.host()) else {
            panic!("sys is visible");
        };
        assert_eq!(known.active, None);
        assert_eq!(known.selinux, SeLinux::Permissive);
        assert_eq!(known.apparmor, AppArmor::Inactive);

        assert!(matches!(
            gather(&TempRoot::new().host()),
            LsmFacts::Unknown(_)
        ));
    }
}
