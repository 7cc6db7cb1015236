//! Retention: full reports older than the retention period are deleted in chunks (the latest
//! report of every node is kept), with the bodies no report uses any more, the changes
//! found in them and the webhook deliveries done with; on PostgreSQL one
//! replica prunes at a time. And what a node that stopped reporting said about checks the
//! catalogue does not know stops counting.

use super::ingest::{DescriptionChanges, write_descriptions};
use super::{BODIES_LOCK, PRUNE_LOCK, STALE_SQL, Store, StoreError, lock_key};
use crate::db::Dialect;
use crate::values;
use std::collections::BTreeMap;

/// Stale nodes' descriptions withdrawn per transaction.
const WITHDRAW_CHUNK: i64 = 10_000;

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
        // Changes are kept as long as full reports are.
        loop {
            let pruned = self.lock()?.transaction(|tx| {
                let changes = tx.execute(
                    "DELETE FROM changes WHERE id IN (SELECT id FROM changes WHERE at < ?1 ORDER BY id LIMIT ?2)",
                    &values![before, PRUNE_CHUNK],
                )?;
                // Deliveries done with (delivered or dead-lettered); pending ones are kept
                // until they are.
                let deliveries = tx.execute(
                    "DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries
                        WHERE created_at < ?1 AND state != 'pending' ORDER BY id LIMIT ?2)",
                    &values![before, PRUNE_CHUNK],
                )?;
                Ok::<_, crate::db::DbError>(changes.max(deliveries))
            })?;
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

    /// Withdraws what stale nodes (three intervals without a report) said about checks the
    /// catalogue does not know: only nodes that still report are "most nodes". Nodes that are
    /// gone (scaled down, their token revoked) would otherwise outvote the fleet for good. A
    /// node that reports again counts again. Returns how many node rows were withdrawn.
    pub fn withdraw_stale_descriptions(&self, now: i64) -> Result<usize, StoreError> {
        let stale_rows = format!(
            "SELECT node_checks.cluster, node_checks.name, node_checks.check_id, node_checks.described
             FROM node_checks JOIN nodes ON nodes.cluster = node_checks.cluster AND nodes.name = node_checks.name
             WHERE node_checks.described IS NOT NULL AND ({})
             ORDER BY node_checks.cluster, node_checks.name, node_checks.check_id LIMIT ?2",
            STALE_SQL.replace("?now", "?1")
        );
        let mut total = 0;
        loop {
            let mut connection = self.lock()?;
            let mut known = self.known_checks.lock().map_err(|_| StoreError::Poisoned)?;
            let result = connection.transaction(|tx| {
                let rows = super::stale_rows_locked(tx, &stale_rows, &values![now, WITHDRAW_CHUNK])?;
                let mut changes: BTreeMap<String, DescriptionChanges> = BTreeMap::new();
                for row in &rows {
                    let (cluster, name, check_id): (String, String, String) =
                        (row.get(0)?, row.get(1)?, row.get(2)?);
                    let digest: Vec<u8> = row.get(3)?;
                    tx.execute(
                        "UPDATE node_checks SET described = NULL WHERE cluster = ?1 AND name = ?2 AND check_id = ?3",
                        &values![&cluster, &name, &check_id],
                    )?;
                    // Its next report, even one the same as its last, counts it again: a body
                    // the same as the kept state's skips every comparison.
                    tx.execute(
                        "UPDATE nodes SET state_hash = NULL WHERE cluster = ?1 AND name = ?2",
                        &values![&cluster, &name],
                    )?;
                    changes
                        .entry(check_id)
                        .or_default()
                        .entry(digest)
                        .or_default()
                        .0 -= 1;
                }
                for (check_id, check_changes) in &changes {
                    write_descriptions(tx, check_id, check_changes, now, &mut known)?;
                }
                Ok::<_, StoreError>(rows.len())
            });
            let withdrawn = match result {
                Ok(withdrawn) => withdrawn,
                Err(e) => {
                    known.clear();
                    return Err(e);
                }
            };
            total += withdrawn;
            if withdrawn < WITHDRAW_CHUNK as usize {
                return Ok(total);
            }
        }
    }
}
