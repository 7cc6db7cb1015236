//! The container-escape advisories `runtime.escape-advisories` knows, as of [`TABLE_DATE`]:
//! which upstream releases each affects, and which Debian and Ubuntu package versions carry
//! the fix although their upstream number predates it.
//!
//! A version is judged in its own scheme. A version read from a binary is an upstream
//! release, judged against the upstream ranges. A version read from dpkg is the distribution's
//! build: when this table has a row for that distribution release, the package is fixed from
//! that row's version on (or not fixed at all, when the row says so); without a row, only an
//! upstream number past the fix proves anything, and an affected-looking number is reported as
//! unknown rather than vulnerable, because distributions backport without changing it.
//!
//! Sources: each advisory's GHSA and CVE record; Debian's fixes from the changelogs of the
//! packages themselves (fetched with `apt-get download` on 2026-12-06), Ubuntu's from its
//! USN OSV records (github.com/canonical/ubuntu-security-notices). Not verified here: the
//! Debian security tracker's own status pages.

use crate::parse::dpkg;
use std::cmp::Ordering;

/// The date of the table's last review: an advisory published later is not in it.
pub const TABLE_DATE: &str = "2026-12-06";

/// A half-open range of affected upstream releases, `[introduced, fixed)`; `None` ends are
/// open.
#[derive(Debug, Clone, Copy)]
pub struct Range {
    pub introduced: Option<&'static str>,
    pub fixed: Option<&'static str>,
}

const fn below(fixed: &'static str) -> Range {
    Range {
        introduced: None,
        fixed: Some(fixed),
    }
}

const fn between(introduced: &'static str, fixed: &'static str) -> Range {
    Range {
        introduced: Some(introduced),
        fixed: Some(fixed),
    }
}

/// A distribution release's own fix: `fixed: None` means the release ships no fix (as of
/// [`TABLE_DATE`]).
#[derive(Debug, Clone, Copy)]
pub struct DistroFix {
    /// os-release `ID` and `VERSION_ID`.
    pub id: &'static str,
    pub version_id: &'static str,
    pub fixed: Option<&'static str>,
    /// Where the fix (or its absence) is recorded.
    pub source: &'static str,
}

/// One advisory.
#[derive(Debug, Clone, Copy)]
pub struct Advisory {
    pub id: &'static str,
    /// `runc`, `containerd` or `cri-o`.
    pub component: &'static str,
    pub summary: &'static str,
    pub url: &'static str,
    pub affected: &'static [Range],
    pub distros: &'static [DistroFix],
}

const USN_6619: &str = "USN-6619-1";
const USN_7851: &str = "USN-7851-1";
const DEB_RUNC: &str = "Debian runc changelog.Debian.gz";

/// The 2025 runc trio share their fixed releases and distribution rows but for trixie, whose
/// 1.1.15+ds1-2+deb13u1 names 31133 and 52565 only.
const RUNC_2025_RANGES: &[Range] = &[
    below("1.2.8"),
    between("1.3.0-rc.1", "1.3.3"),
    between("1.4.0-rc.1", "1.4.0-rc.3"),
];

const RUNC_2025_UBUNTU: [DistroFix; 2] = [
    DistroFix {
        id: "ubuntu",
        version_id: "22.04",
        fixed: Some("1.3.3-0ubuntu1~22.04.2"),
        source: USN_7851,
    },
    DistroFix {
        id: "ubuntu",
        version_id: "24.04",
        fixed: Some("1.3.3-0ubuntu1~24.04.2"),
        source: USN_7851,
    },
];

const RUNC_2025_DEBIAN_OLD: [DistroFix; 2] = [
    DistroFix {
        id: "debian",
        version_id: "11",
        fixed: None,
        source: DEB_RUNC,
    },
    DistroFix {
        id: "debian",
        version_id: "12",
        fixed: None,
        source: DEB_RUNC,
    },
];

const TRIXIE_FIXED: DistroFix = DistroFix {
    id: "debian",
    version_id: "13",
    fixed: Some("1.1.15+ds1-2+deb13u1"),
    source: DEB_RUNC,
};

/// Where the distributions stand on the two 2025 runc advisories Debian 13 has fixed.
const RUNC_2025_DISTROS_TRIXIE_FIXED: &[DistroFix] = &[
    RUNC_2025_DEBIAN_OLD[0],
    RUNC_2025_DEBIAN_OLD[1],
    TRIXIE_FIXED,
    RUNC_2025_UBUNTU[0],
    RUNC_2025_UBUNTU[1],
];

const TRIXIE_UNFIXED: DistroFix = DistroFix {
    id: "debian",
    version_id: "13",
    fixed: None,
    source: DEB_RUNC,
};

/// Every advisory known, by component then date.
pub const ADVISORIES: &[Advisory] = &[
    Advisory {
        id: "CVE-2019-5736",
        component: "runc",
        summary: "a container process overwrites the host's runc binary through /proc/self/exe and runs as root on the node",
        url: "https://github.com/advisories/GHSA-gxmr-w5mj-v8hh",
        affected: &[below("1.0.0-rc7")],
        distros: &[],
    },
    Advisory {
        id: "CVE-2024-21626",
        component: "runc",
        summary: "\"Leaky Vessels\": a file descriptor leaked into the container gives a working directory on the host's filesystem",
        url: "https://github.com/opencontainers/runc/security/advisories/GHSA-xr7r-f8xq-vfvv",
        affected: &[between("1.0.0-rc93", "1.1.12")],
        distros: &[
            DistroFix {
                id: "debian",
                version_id: "11",
                fixed: Some("1.0.0~rc93+ds1-5+deb11u3"),
                source: DEB_RUNC,
            },
            DistroFix {
                id: "debian",
                version_id: "12",
                fixed: Some("1.1.5+ds1-1+deb12u1"),
                source: DEB_RUNC,
            },
            DistroFix {
                id: "ubuntu",
                version_id: "20.04",
                fixed: Some("1.1.7-0ubuntu1~20.04.2"),
                source: USN_6619,
            },
            DistroFix {
                id: "ubuntu",
                version_id: "22.04",
                fixed: Some("1.1.7-0ubuntu1~22.04.2"),
                source: USN_6619,
            },
        ],
    },
    Advisory {
        id: "CVE-2025-31133",
        component: "runc",
        summary: "masked paths: a container's /dev/null replaced by a symlink makes runc bind-mount host files writable into the container",
        url: "https://github.com/opencontainers/runc/security/advisories/GHSA-9493-h29p-rfm2",
        affected: RUNC_2025_RANGES,
        distros: RUNC_2025_DISTROS_TRIXIE_FIXED,
    },
    Advisory {
        id: "CVE-2025-52565",
        component: "runc",
        summary: "/dev/console bind-mount races give the container writable copies of masked paths such as /proc/sys/kernel/core_pattern",
        url: "https://github.com/opencontainers/runc/security/advisories/GHSA-qw9x-cqr3-wc7r",
        affected: RUNC_2025_RANGES,
        distros: RUNC_2025_DISTROS_TRIXIE_FIXED,
    },
    Advisory {
        id: "CVE-2025-52881",
        component: "runc",
        summary: "racing shared mounts redirect runc's writes to /proc (LSM labels, sysctls) to files the container chooses",
        url: "https://github.com/opencontainers/runc/security/advisories/GHSA-cgrx-mc8f-2prm",
        affected: RUNC_2025_RANGES,
        distros: &[
            RUNC_2025_DEBIAN_OLD[0],
            RUNC_2025_DEBIAN_OLD[1],
            TRIXIE_UNFIXED,
            RUNC_2025_UBUNTU[0],
            RUNC_2025_UBUNTU[1],
        ],
    },
    Advisory {
        id: "CVE-2020-15257",
        component: "containerd",
        summary: "the shim API on an abstract Unix socket is reachable from host-network containers running as root",
        url: "https://github.com/containerd/containerd/security/advisories/GHSA-36xw-fx78-c5r4",
        affected: &[below("1.3.9"), between("1.4.0", "1.4.3")],
        distros: &[
            DistroFix {
                id: "ubuntu",
                version_id: "18.04",
                fixed: Some("1.3.3-0ubuntu1~18.04.3"),
                source: "USN-4653-1",
            },
            DistroFix {
                id: "ubuntu",
                version_id: "20.04",
                fixed: Some("1.3.3-0ubuntu2.1"),
                source: "USN-4653-1",
            },
        ],
    },
    Advisory {
        id: "CVE-2022-0811",
        component: "cri-o",
        summary: "\"cr8escape\": a pod's sysctl value sets any kernel parameter of the node (kernel.core_pattern) and runs code as root",
        url: "https://github.com/cri-o/cri-o/security/advisories/GHSA-6x2m-w449-qwx7",
        affected: &[
            between("1.19.0", "1.19.6"),
            between("1.20.0", "1.20.7"),
            between("1.21.0", "1.21.6"),
            between("1.22.0", "1.22.3"),
            between("1.23.0", "1.23.2"),
        ],
        distros: &[],
    },
];

/// How one advisory applies to one installed version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exposure {
    /// Outside every affected range, or at or past the distribution's fix.
    Fixed(String),
    Vulnerable(String),
    /// A package of a distribution release this table has no row for, whose upstream number
    /// is in an affected range: it may carry a backport.
    Unknown(String),
}

fn in_range(upstream: &str, range: &Range) -> bool {
    let after_start = range
        .introduced
        .is_none_or(|i| dpkg::compare(upstream, &dpkg::upstream_as_dpkg(i)) != Ordering::Less);
    let before_end = range
        .fixed
        .is_none_or(|f| dpkg::compare(upstream, &dpkg::upstream_as_dpkg(f)) == Ordering::Less);
    after_start && before_end
}

fn fixed_in(advisory: &Advisory) -> String {
    let fixes: Vec<&str> = advisory.affected.iter().filter_map(|r| r.fixed).collect();
    fixes.join(", ")
}

/// The upstream release a Debian package version packages: `1:1.1.5+ds1-1+deb12u1` → `1.1.5`
/// (epoch, revision and repack suffixes `+ds1`, `~ds1`, `+dfsg` dropped).
pub fn package_upstream(version: &str) -> String {
    let version = version.split_once(':').map_or(version, |(_, v)| v);
    let upstream = version.rsplit_once('-').map_or(version, |(u, _)| u);
    let mut cut = upstream.len();
    for marker in ["+ds", "~ds", "+dfsg", "~dfsg"] {
        if let Some(at) = upstream.find(marker) {
            cut = cut.min(at);
        }
    }
    upstream[..cut].to_string()
}

/// Judges an upstream release (`1.1.11`, `v1.7.27-k3s1`).
pub fn judge_upstream(advisory: &Advisory, version: &str) -> Exposure {
    let upstream = dpkg::upstream_as_dpkg(version);
    if advisory.affected.iter().any(|r| in_range(&upstream, r)) {
        Exposure::Vulnerable(format!(
            "{version} is before the fix ({})",
            fixed_in(advisory)
        ))
    } else {
        Exposure::Fixed(format!(
            "{version} is not affected (fixed in {})",
            fixed_in(advisory)
        ))
    }
}

/// Judges a Debian package version built for `distro` (os-release `ID`, `VERSION_ID`).
pub fn judge_package(advisory: &Advisory, version: &str, distro: Option<(&str, &str)>) -> Exposure {
    let upstream = package_upstream(version);
    let in_affected = advisory
        .affected
        .iter()
        .any(|r| in_range(&dpkg::upstream_as_dpkg(&upstream), r));
    let row = distro.and_then(|(id, version_id)| {
        advisory
            .distros
            .iter()
            .find(|d| d.id == id && d.version_id == version_id)
    });
    match row {
        Some(DistroFix {
            fixed: Some(fixed),
            source,
            id,
            version_id,
        }) => {
            if dpkg::compare(version, fixed) != Ordering::Less {
                Exposure::Fixed(format!(
                    "{version} carries {id} {version_id}'s fix ({fixed}, {source})"
                ))
            } else {
                Exposure::Vulnerable(format!(
                    "{version} is before {id} {version_id}'s fix {fixed} ({source})"
                ))
            }
        }
        Some(DistroFix {
            fixed: None,
            source,
            id,
            version_id,
        }) => {
            if in_affected {
                Exposure::Vulnerable(format!(
                    "{version}: {id} {version_id} ships no fix as of {TABLE_DATE} ({source})"
                ))
            } else {
                Exposure::Fixed(format!("upstream {upstream} is not affected"))
            }
        }
        None if !in_affected => Exposure::Fixed(format!(
            "upstream {upstream} is not affected (fixed in {})",
            fixed_in(advisory)
        )),
        None => Exposure::Unknown(format!(
            "{version} packages upstream {upstream}, before the fix ({}); whether {} backported it is not in nodecheck's table (as of {TABLE_DATE})",
            fixed_in(advisory),
            distro.map_or("this distribution".to_string(), |(id, v)| format!(
                "{id} {v}"
            ))
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn advisory(id: &str) -> &'static Advisory {
        ADVISORIES.iter().find(|a| a.id == id).expect("known")
    }

    #[test]
    fn upstream_releases() {
        let leaky = advisory("CVE-2024-21626");
        assert!(matches!(
            judge_upstream(leaky, "1.1.11"),
            Exposure::Vulnerable(_)
        ));
        assert!(matches!(
            judge_upstream(leaky, "1.1.12"),
            Exposure::Fixed(_)
        ));
        assert!(matches!(
            judge_upstream(leaky, "v1.0.0-rc92"),
            Exposure::Fixed(_)
        ));
        assert!(matches!(
            judge_upstream(leaky, "1.0.0-rc93"),
            Exposure::Vulnerable(_)
        ));
        let trio = advisory("CVE-2025-31133");
        for (v, vulnerable) in [
            ("1.2.7", true),
            ("1.2.8", false),
            ("1.3.0-rc.1", true),
            ("1.3.2", true),
            ("1.3.3", false),
            ("1.4.0-rc.2", true),
            ("1.4.0-rc.3", false),
            ("1.4.0", false),
        ] {
            assert_eq!(
                matches!(judge_upstream(trio, v), Exposure::Vulnerable(_)),
                vulnerable,
                "{v}"
            );
        }
        let shim = advisory("CVE-2020-15257");
        assert!(matches!(
            judge_upstream(shim, "1.4.2"),
            Exposure::Vulnerable(_)
        ));
        assert!(matches!(judge_upstream(shim, "1.3.9"), Exposure::Fixed(_)));
        // A fork's suffix is after the release it forks.
        assert!(matches!(
            judge_upstream(shim, "v1.7.27-k3s1"),
            Exposure::Fixed(_)
        ));
        let cr8 = advisory("CVE-2022-0811");
        assert!(matches!(
            judge_upstream(cr8, "1.22.2"),
            Exposure::Vulnerable(_)
        ));
        assert!(matches!(judge_upstream(cr8, "1.18.9"), Exposure::Fixed(_)));
        assert!(matches!(judge_upstream(cr8, "1.24.0"), Exposure::Fixed(_)));
    }

    #[test]
    fn distribution_backports() {
        let leaky = advisory("CVE-2024-21626");
        let bookworm = Some(("debian", "12"));
        assert!(matches!(
            judge_package(leaky, "1.1.5+ds1-1+deb12u1", bookworm),
            Exposure::Fixed(_)
        ));
        assert!(matches!(
            judge_package(leaky, "1.1.5+ds1-1", bookworm),
            Exposure::Vulnerable(_)
        ));
        let jammy = Some(("ubuntu", "22.04"));
        assert!(matches!(
            judge_package(leaky, "1.1.7-0ubuntu1~22.04.1", jammy),
            Exposure::Vulnerable(_)
        ));
        assert!(matches!(
            judge_package(leaky, "1.1.7-0ubuntu1~22.04.2", jammy),
            Exposure::Fixed(_)
        ));
        // Upstream past the fix proves it anywhere; before it, an unknown distribution is
        // unknown, not vulnerable.
        assert!(matches!(
            judge_package(leaky, "1.1.12-1", Some(("fedora", "40"))),
            Exposure::Fixed(_)
        ));
        assert!(matches!(
            judge_package(leaky, "1.1.7-1", Some(("fedora", "40"))),
            Exposure::Unknown(_)
        ));
        // No fix shipped: vulnerable.
        assert!(matches!(
            judge_package(advisory("CVE-2025-52881"), "1.1.5+ds1-1+deb12u1", bookworm),
            Exposure::Vulnerable(_)
        ));
        assert!(matches!(
            judge_package(
                advisory("CVE-2025-31133"),
                "1.1.15+ds1-2+deb13u1",
                Some(("debian", "13"))
            ),
            Exposure::Fixed(_)
        ));
        assert!(matches!(
            judge_package(
                advisory("CVE-2025-52881"),
                "1.1.15+ds1-2+deb13u1",
                Some(("debian", "13"))
            ),
            Exposure::Vulnerable(_)
        ));
        assert_eq!(package_upstream("1:1.0.0~rc93+ds1-5+deb11u3"), "1.0.0~rc93");
        assert_eq!(package_upstream("1.6.20~ds1-1+deb12u3"), "1.6.20");
        assert_eq!(package_upstream("1.7.27-1"), "1.7.27");
    }

    #[test]
    fn the_table_is_well_formed() {
        for a in ADVISORIES {
            assert!(
                a.id.starts_with("CVE-") && a.url.starts_with("https://"),
                "{}",
                a.id
            );
            assert!(["runc", "containerd", "cri-o"].contains(&a.component));
            assert!(!a.affected.is_empty());
            for r in a.affected {
                if let (Some(i), Some(f)) = (r.introduced, r.fixed) {
                    assert_eq!(
                        dpkg::compare(&dpkg::upstream_as_dpkg(i), &dpkg::upstream_as_dpkg(f)),
                        Ordering::Less,
                        "{}: {i} < {f}",
                        a.id
                    );
                }
            }
        }
    }
}
