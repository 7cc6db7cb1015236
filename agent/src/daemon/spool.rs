//! The spool: reports written to disk before they are sent, removed only once the collector
//! acknowledged them, so a collector outage or an agent restart loses nothing.
//!
//! A report is written to a hidden temporary file, fsynced, renamed to `<report id>.json` and
//! the directory fsynced: a file with the final name is always whole, and a crash mid-write
//! leaves only a temporary file, removed at the next start. Report ids sort by creation time,
//! so the directory listing in name order is the sending order, oldest first. A file that does
//! not parse as a report (damaged on disk, written by something else) is moved to
//! `quarantine/` and reported, never retried forever and never a reason to stop.
//!
//! The spool is bounded by count and bytes; when a new report would exceed either, the oldest
//! are dropped first (counted, and logged by the caller): during a long outage the newest
//! state of the node matters most.

use nodecheck_report::Report;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Why the spool could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("spool {}: {error}", path.display())]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SpoolError + '_ {
    move |error| SpoolError::Io {
        path: path.to_path_buf(),
        error,
    }
}

/// Limits of the spool.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    pub max_reports: usize,
    pub max_bytes: u64,
}

impl Default for Bounds {
    fn default() -> Self {
        // A week of reports at the default interval, or 64 MiB.
        Bounds {
            max_reports: 1008,
            max_bytes: 64 * 1024 * 1024,
        }
    }
}

/// A spooled report, not yet acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: String,
    pub path: PathBuf,
    pub bytes: u64,
}

/// What reading a spooled report gave.
#[derive(Debug)]
pub enum Read {
    /// The report's JSON, as it will be sent.
    Report(Vec<u8>),
    /// The file was damaged: it was moved to quarantine, with why.
    Quarantined { to: PathBuf, reason: String },
}

/// The spool directory.
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    bounds: Bounds,
}

const SUFFIX: &str = ".json";
const TEMPORARY_PREFIX: &str = ".tmp-";
const QUARANTINE: &str = "quarantine";

impl Spool {
    /// Opens (creating, mode 0700) the spool at `dir` and removes what an interrupted write
    /// left behind; returns the spool and how many such leftovers were removed.
    pub fn open(dir: &Path, bounds: Bounds) -> Result<(Spool, usize), SpoolError> {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io(dir))?;
        let mut leftovers = 0;
        for entry in std::fs::read_dir(dir).map_err(io(dir))? {
            let entry = entry.map_err(io(dir))?;
            if entry
                .file_name()
                .to_str()
                .is_some_and(|n| n.starts_with(TEMPORARY_PREFIX))
            {
                std::fs::remove_file(entry.path()).map_err(io(&entry.path()))?;
                leftovers += 1;
            }
        }
        Ok((
            Spool {
                dir: dir.to_path_buf(),
                bounds,
            },
            leftovers,
        ))
    }

    /// Reports waiting, oldest first.
    pub fn pending(&self) -> Result<Vec<Entry>, SpoolError> {
        let mut entries = Vec::new();
        for entry in std::fs::read_dir(&self.dir).map_err(io(&self.dir))? {
            let entry = entry.map_err(io(&self.dir))?;
            let name = entry.file_name();
            let Some(id) = name
                .to_str()
                .and_then(|n| n.strip_suffix(SUFFIX))
                .filter(|id| !id.starts_with('.'))
            else {
                continue;
            };
            let metadata = entry.metadata().map_err(io(&entry.path()))?;
            if !metadata.is_file() {
                continue;
            }
            entries.push(Entry {
                id: id.to_string(),
                path: entry.path(),
                bytes: metadata.len(),
            });
        }
        entries.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(entries)
    }

    /// Writes a report durably; then drops the oldest reports while the spool is over its
    /// bounds, and returns those dropped.
    pub fn write(&self, id: &str, json: &[u8]) -> Result<Vec<Entry>, SpoolError> {
        let path = self.dir.join(format!("{id}{SUFFIX}"));
        let temporary = self.dir.join(format!("{TEMPORARY_PREFIX}{id}{SUFFIX}"));
        let written = (|| {
            let mut file = std::fs::File::create(&temporary)?;
            file.write_all(json)?;
            file.sync_all()?;
            std::fs::rename(&temporary, &path)?;
            // The rename itself is durable only once the directory is.
            std::fs::File::open(&self.dir)?.sync_all()
        })();
        if let Err(error) = written {
            let _ = std::fs::remove_file(&temporary);
            return Err(SpoolError::Io { path, error });
        }
        self.enforce_bounds(id)
    }

    /// Drops the oldest reports (never `keep`, the one just written) until within bounds.
    fn enforce_bounds(&self, keep: &str) -> Result<Vec<Entry>, SpoolError> {
        let mut entries = self.pending()?;
        let mut bytes: u64 = entries.iter().map(|e| e.bytes).sum();
        let mut dropped = Vec::new();
        while entries.len() > self.bounds.max_reports.max(1) || bytes > self.bounds.max_bytes {
            let Some(position) = entries.iter().position(|e| e.id != keep) else {
                break;
            };
            let oldest = entries.remove(position);
            std::fs::remove_file(&oldest.path).map_err(io(&oldest.path))?;
            bytes = bytes.saturating_sub(oldest.bytes);
            dropped.push(oldest);
        }
        Ok(dropped)
    }

    /// Reads a spooled report; one that is not a report goes to quarantine.
    pub fn read(&self, entry: &Entry) -> Result<Read, SpoolError> {
        let json = std::fs::read(&entry.path).map_err(io(&entry.path))?;
        let problem = match serde_json::from_slice::<Report>(&json) {
            Ok(report) if report.id == entry.id => return Ok(Read::Report(json)),
            Ok(report) => format!("holds report {:?}, not {:?}", report.id, entry.id),
            Err(e) => format!("is not a report: {e}"),
        };
        let to = self.quarantine(entry)?;
        Ok(Read::Quarantined {
            to,
            reason: problem,
        })
    }

    /// Moves a report out of the sending queue, for good (damaged, or refused as malformed).
    pub fn quarantine(&self, entry: &Entry) -> Result<PathBuf, SpoolError> {
        let dir = self.dir.join(QUARANTINE);
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let to = dir.join(format!("{}{SUFFIX}", entry.id));
        std::fs::rename(&entry.path, &to).map_err(io(&entry.path))?;
        Ok(to)
    }

    /// Forgets an acknowledged report.
    pub fn remove(&self, entry: &Entry) -> Result<(), SpoolError> {
        match std::fs::remove_file(&entry.path) {
            Ok(()) => Ok(()),
            // Already gone is what was wanted.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(SpoolError::Io {
                path: entry.path.clone(),
                error: e,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Dir(PathBuf);

    impl Dir {
        fn new(tag: &str) -> Dir {
            let dir =
                std::env::temp_dir().join(format!("nodecheck-spool-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            Dir(dir)
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn report_json(id: &str) -> Vec<u8> {
        let mut report = crate::output::fixture::report();
        report.id = id.into();
        serde_json::to_vec(&report).expect("json")
    }

    #[test]
    fn reports_come_back_oldest_first_and_leave_once_acknowledged() {
        let dir = Dir::new("order");
        let (spool, leftovers) = Spool::open(&dir.0, Bounds::default()).expect("open");
        assert_eq!(leftovers, 0);
        for id in ["01B", "01A", "01C"] {
            assert!(spool.write(id, &report_json(id)).expect("write").is_empty());
        }
        let pending = spool.pending().expect("pending");
        let ids: Vec<&str> = pending.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["01A", "01B", "01C"]);
        match spool.read(&pending[0]).expect("read") {
            Read::Report(json) => assert_eq!(json, report_json("01A")),
            other => panic!("{other:?}"),
        }
        spool.remove(&pending[0]).expect("remove");
        spool.remove(&pending[0]).expect("removing twice is fine");
        assert_eq!(spool.pending().expect("pending").len(), 2);
    }

    #[test]
    fn a_torn_write_is_cleared_at_start_and_a_damaged_file_is_quarantined() {
        let dir = Dir::new("torn");
        let (spool, _) = Spool::open(&dir.0, Bounds::default()).expect("open");
        spool.write("01A", &report_json("01A")).expect("write");
        // What a crash mid-write leaves: a temporary file, never a final one.
        std::fs::write(dir.0.join(".tmp-01B.json"), b"{\"schema\":").expect("torn");
        // A final file damaged on disk, and one holding another report.
        std::fs::write(dir.0.join("01C.json"), b"\0\0garbage").expect("damaged");
        std::fs::write(dir.0.join("01D.json"), report_json("01X")).expect("misnamed");
        let (spool, leftovers) = Spool::open(&dir.0, Bounds::default()).expect("reopen");
        assert_eq!(leftovers, 1);
        let pending = spool.pending().expect("pending");
        assert_eq!(pending.len(), 3);
        let mut quarantined = Vec::new();
        for entry in &pending {
            if let Read::Quarantined { to, reason } = spool.read(entry).expect("read") {
                assert!(to.starts_with(dir.0.join("quarantine")));
                quarantined.push((entry.id.clone(), reason));
            }
        }
        assert_eq!(quarantined.len(), 2, "{quarantined:?}");
        assert!(quarantined[0].1.starts_with("is not a report"));
        assert_eq!(quarantined[1].1, "holds report \"01X\", not \"01D\"");
        let left: Vec<String> = spool
            .pending()
            .expect("pending")
            .into_iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(left, ["01A"]);
    }

    #[test]
    fn the_oldest_reports_are_dropped_to_stay_within_bounds() {
        let dir = Dir::new("bounds");
        let size = report_json("01A").len() as u64;
        let (spool, _) = Spool::open(
            &dir.0,
            Bounds {
                max_reports: 3,
                max_bytes: size * 10,
            },
        )
        .expect("open");
        for id in ["01A", "01B", "01C"] {
            assert!(spool.write(id, &report_json(id)).expect("write").is_empty());
        }
        let dropped = spool.write("01D", &report_json("01D")).expect("write");
        assert_eq!(
            dropped.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
            ["01A"]
        );
        // By bytes: room for two.
        let (tight, _) = Spool::open(
            &dir.0,
            Bounds {
                max_reports: 100,
                max_bytes: size * 2,
            },
        )
        .expect("open");
        let dropped = tight.write("01E", &report_json("01E")).expect("write");
        assert_eq!(
            dropped.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
            ["01B", "01C"]
        );
        // The report just written stays even when it alone is over the bound.
        let (tiny, _) = Spool::open(
            &dir.0,
            Bounds {
                max_reports: 100,
                max_bytes: 1,
            },
        )
        .expect("open");
        tiny.write("01F", &report_json("01F")).expect("write");
        let left: Vec<String> = tiny
            .pending()
            .expect("pending")
            .into_iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(left, ["01F"]);
    }
}
