//! Scratch directories for tests: created empty under the system temp dir, removed when
//! dropped, also when the test fails, so no run leaves anything behind.

use std::path::{Path, PathBuf};

pub struct Scratch(pub PathBuf);

impl Scratch {
    /// `$TMPDIR/nodecheck-<what>-<pid>-<n>`, empty: `n` counts the scratch directories of
    /// the process, so tests running in parallel under one name never share one.
    pub fn new(what: &str) -> Scratch {
        static MADE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = MADE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("nodecheck-{what}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("scratch dir");
        Scratch(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl std::ops::Deref for Scratch {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}
