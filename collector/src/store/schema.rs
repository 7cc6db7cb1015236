//! The schema: each dialect's numbered migrations (`collector/migrations/<dialect>/NNNN_*.sql`),
//! run at open in one transaction, on PostgreSQL under an advisory lock so that replicas
//! starting together migrate once. The two dialects end in the same tables and columns (the
//! storage suite compares them).

use super::{MIGRATION_LOCK, StoreError, lock_key};
use crate::db::{Connection, Dialect};
use crate::values;

/// SQLite migrations, in order (`collector/migrations/sqlite/NNNN_*.sql`); `schema_version`
/// records how many have run. The two dialects end in the same tables and columns, which the
/// storage suite checks.
const SQLITE_MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/sqlite/0001_initial.sql"),
    include_str!("../../migrations/sqlite/0002_report_bodies.sql"),
    include_str!("../../migrations/sqlite/0003_counts.sql"),
    include_str!("../../migrations/sqlite/0004_token_expiry.sql"),
    include_str!("../../migrations/sqlite/0005_rationale_and_evidence.sql"),
    include_str!("../../migrations/sqlite/0006_sessions.sql"),
    include_str!("../../migrations/sqlite/0007_failing_index.sql"),
    include_str!("../../migrations/sqlite/0008_failing_by_severity.sql"),
    include_str!("../../migrations/sqlite/0009_kube_nodes.sql"),
    include_str!("../../migrations/sqlite/0010_report_ids_per_node.sql"),
    include_str!("../../migrations/sqlite/0011_token_node_limits.sql"),
    include_str!("../../migrations/sqlite/0012_enrollment.sql"),
    include_str!("../../migrations/sqlite/0013_check_reporters.sql"),
    include_str!("../../migrations/sqlite/0014_check_descriptions.sql"),
    include_str!("../../migrations/sqlite/0015_changes_and_drift.sql"),
    include_str!("../../migrations/sqlite/0016_webhook_deliveries.sql"),
    include_str!("../../migrations/sqlite/0017_cheaper_bookkeeping.sql"),
];

/// PostgreSQL migrations, in order. The first is the schema SQLite reached in its six; keys are
/// compared bytewise (`COLLATE "C"`) as SQLite does, so both list nodes in the same order and a
/// cursor means the same place in either.
const POSTGRES_MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/postgres/0001_initial.sql"),
    include_str!("../../migrations/postgres/0002_failing_index.sql"),
    include_str!("../../migrations/postgres/0003_failing_by_severity.sql"),
    include_str!("../../migrations/postgres/0004_kube_nodes.sql"),
    include_str!("../../migrations/postgres/0005_report_ids_per_node.sql"),
    include_str!("../../migrations/postgres/0006_token_node_limits.sql"),
    include_str!("../../migrations/postgres/0007_enrollment.sql"),
    include_str!("../../migrations/postgres/0008_check_reporters.sql"),
    include_str!("../../migrations/postgres/0009_check_descriptions.sql"),
    include_str!("../../migrations/postgres/0010_changes_and_drift.sql"),
    include_str!("../../migrations/postgres/0011_webhook_deliveries.sql"),
    include_str!("../../migrations/postgres/0012_cheaper_bookkeeping.sql"),
];

/// Brings the schema to the newest version this collector knows, in one transaction; on
/// PostgreSQL under an advisory lock, so replicas starting together migrate once.
pub(super) fn migrate(connection: &mut Connection) -> Result<(), StoreError> {
    let (create_version_table, migrations) = match connection.dialect() {
        Dialect::Sqlite => (
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
            SQLITE_MIGRATIONS,
        ),
        Dialect::Postgres => (
            "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)",
            POSTGRES_MIGRATIONS,
        ),
    };
    connection.transaction(|tx| {
        if tx.dialect() == Dialect::Postgres {
            tx.execute(
                "SELECT pg_advisory_xact_lock(?1)",
                &values![lock_key(MIGRATION_LOCK)],
            )?;
        }
        tx.batch(create_version_table)?;
        let found: i64 = tx
            .query_opt("SELECT version FROM schema_version", &[])?
            .map(|r| r.get(0))
            .transpose()?
            .unwrap_or(0);
        let known = migrations.len() as i64;
        if found > known {
            return Err(StoreError::SchemaTooNew { found, known });
        }
        for migration in &migrations[usize::try_from(found).unwrap_or(0)..] {
            tx.batch(migration)?;
        }
        if found < known {
            tx.execute("DELETE FROM schema_version", &[])?;
            tx.execute(
                "INSERT INTO schema_version (version) VALUES (?1)",
                &values![known],
            )?;
        }
        Ok(())
    })
}
