//! Retention: full reports older than the retention period are deleted in chunks (the latest
//! report of every node is kept), with the bodies no report uses any more; on PostgreSQL one
//! replica prunes at a time.

use super::{BODIES_LOCK, PRUNE_LOCK, Store, StoreError, lock_key};
use crate::db::Dialect;
use crate::values;

/// Full reports deleted per prune transaction, so the writer is never held for long.
const PRUNE_CHUNK: i64 = 5_000;

impl Store {
    /// Deletes full reports received before `before` (node state, history and each node's
    /// latest report stay), a chunk per transaction so ingest is never held up for long,
    /// then the bodies no report uses any more. Returns how many reports were deleted.
    pub fn prune(&self, before: i64) -> Result<usize, StoreError> {
        let mut total = 0;
        loop {
            let pruned = self.lock()?.transaction(|tx| {
                if tx.dialect() == Dialect::Postgres {
                    let ours: bool = tx
                        .query_one(
                            "SELECT pg_try_advisory_xact_lock(?1)",
                            &values![lock_key(PRUNE_LOCK)],
                        )?
                        .get(0)?;
                    if !ours {
                        // Another replica is pruning.
                        return Ok(0);
                    }
                }
                let pruned = tx.execute(
                    "DELETE FROM reports WHERE (cluster, node, id) IN (
                        SELECT r.cluster, r.node, r.id FROM reports r
                        WHERE r.received_at < ?1 AND NOT EXISTS (
                            SELECT 1 FROM nodes n
                            WHERE n.cluster = r.cluster AND n.name = r.node AND n.last_report = r.id)
                        LIMIT ?2)",
                    &values![before, PRUNE_CHUNK],
                )?;
                if pruned > 0 {
                    tx.execute(
                        "UPDATE counts SET value = value - ?1 WHERE name = 'reports'",
                        &values![i64::try_from(pruned).unwrap_or(i64::MAX)],
                    )?;
                }
                Ok::<_, StoreError>(pruned)
            })?;
            total += usize::try_from(pruned).unwrap_or(usize::MAX);
            if pruned < PRUNE_CHUNK as u64 {
                break;
            }
        }
        if total > 0 {
            self.lock()?.transaction(|tx| {
                if tx.dialect() == Dialect::Postgres {
                    tx.execute(
                        "SELECT pg_advisory_xact_lock(?1)",
                        &values![lock_key(BODIES_LOCK)],
                    )?;
                }
                tx.execute(
                    "DELETE FROM report_bodies
                     WHERE NOT EXISTS (SELECT 1 FROM reports WHERE reports.body_hash = report_bodies.hash)",
                    &[],
                )?;
                Ok::<_, StoreError>(())
            })?;
        }
        Ok(total)
    }
}
