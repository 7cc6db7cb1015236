//! Webhook deliveries as rows: written in the transaction that found their event (durable as
//! soon as the report is acknowledged), claimed for a lease by whichever replica sends them
//! (PostgreSQL skips rows another replica holds), and marked delivered, retried later or
//! dead-lettered. Events of nodes going stale are found by a sweep.

use super::{STALE_SQL, Store, StoreError};
use crate::db::{Connection, DbError, Dialect};
use crate::values;
use crate::webhooks::{Due, Event, Outcome, Webhook, body, event};

/// How long claimed deliveries are left to their sender before another may take them: longer
/// than the attempts of a claim ([`CLAIM_MAX`] of at most ten seconds each) take.
const LEASE_S: i64 = 60;

/// Deliveries claimed at once.
pub const CLAIM_MAX: i64 = 4;

/// Writes a delivery of each event to each webhook that takes it; an event already enqueued
/// for a webhook (the same idempotency key) is not enqueued again.
pub(super) fn enqueue(
    tx: &mut Connection,
    webhooks: &[Webhook],
    events: &[Event],
    now: i64,
) -> Result<(), StoreError> {
    for event in events {
        for webhook in webhooks.iter().filter(|w| w.takes(event)) {
            let key = event.idempotency_key(&webhook.name);
            tx.execute(
                "INSERT INTO deliveries (webhook, event, idempotency_key, cluster, node, body, created_at, state, next_attempt_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending', ?7) ON CONFLICT DO NOTHING",
                &values![
                    &webhook.name,
                    event.kind,
                    &key,
                    &event.cluster,
                    &event.node,
                    body(webhook, event, &key),
                    now
                ],
            )?;
        }
    }
    Ok(())
}

/// A delivery as listed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeliveryRow {
    pub id: i64,
    pub webhook: String,
    pub event: String,
    pub idempotency_key: String,
    pub cluster: String,
    pub node: String,
    pub created_at: i64,
    /// `pending`, `delivered` or `dead`.
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub delivered_at: Option<i64>,
    /// The body as sent.
    pub body: String,
}

/// The states a delivery is in.
pub const DELIVERY_STATES: &[&str] = &["pending", "delivered", "dead"];

impl Store {
    /// Claims up to `limit` deliveries (at most [`CLAIM_MAX`]) due at `now` for [`LEASE_S`]
    /// seconds.
    pub fn claim_deliveries(&self, now: i64, limit: i64) -> Result<Vec<Due>, StoreError> {
        let limit = limit.clamp(1, CLAIM_MAX);
        // Only the webhooks this collector knows: a replica configured without one (in the
        // middle of a rolling change) leaves its deliveries to the replicas that have it.
        if self.webhooks.is_empty() {
            return Ok(Vec::new());
        }
        let lock = match self.lock()?.dialect() {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
        };
        let names: Vec<String> = (0..self.webhooks.len())
            .map(|i| format!("?{}", i + 4))
            .collect();
        let sql = format!(
            "UPDATE deliveries SET next_attempt_at = ?2
             WHERE id IN (SELECT id FROM deliveries WHERE state = 'pending' AND next_attempt_at <= ?1
                          AND webhook IN ({}) ORDER BY next_attempt_at, id LIMIT ?3{lock})
             RETURNING id, webhook, event, idempotency_key, body, attempts",
            names.join(", ")
        );
        let mut params: Vec<crate::db::Value<'_>> = values![now, now + LEASE_S, limit].into();
        params.extend(self.webhooks.iter().map(|w| w.name.as_str().into()));
        let rows = self.lock()?.transaction(|tx| tx.query(&sql, &params))?;
        let mut due: Vec<Due> = rows
            .iter()
            .map(|r| {
                Ok(Due {
                    id: r.get(0)?,
                    webhook: r.get(1)?,
                    event: r.get(2)?,
                    idempotency_key: r.get(3)?,
                    body: r.get(4)?,
                    attempts: r.get(5)?,
                    lease_until: now + LEASE_S,
                })
            })
            .collect::<Result<_, DbError>>()?;
        due.sort_by_key(|d| d.id);
        Ok(due)
    }

    /// Records how an attempt ended: delivered; or failed, retried after the webhook's
    /// backoff or dead after its last attempt (`webhook` is `None` when it is no longer
    /// configured: dead at once). Only while the claim holds: a delivery another sender took
    /// after the lease ran out (and may have delivered) is left as that sender records it.
    pub fn record_attempt(
        &self,
        due: &Due,
        webhook: Option<&Webhook>,
        outcome: &Outcome,
        now: i64,
    ) -> Result<(), StoreError> {
        let attempts = due.attempts + 1;
        let mut connection = self.lock()?;
        match (outcome, webhook) {
            (Outcome::Delivered, _) => connection.execute(
                "UPDATE deliveries SET state = 'delivered', attempts = ?2, delivered_at = ?3, last_error = NULL
                 WHERE id = ?1 AND state = 'pending' AND next_attempt_at = ?4",
                &values![due.id, attempts, now, due.lease_until],
            )?,
            (Outcome::Failed(error), Some(webhook)) if attempts < webhook.max_attempts => connection
                .execute(
                    "UPDATE deliveries SET attempts = ?2, next_attempt_at = ?3, last_error = ?4
                     WHERE id = ?1 AND state = 'pending' AND next_attempt_at = ?5",
                    &values![due.id, attempts, now + webhook.backoff(attempts), error, due.lease_until],
                )?,
            // Dead: never tried again, so its next attempt is none (shown as when it died).
            (Outcome::Failed(error), _) => connection.execute(
                "UPDATE deliveries SET state = 'dead', attempts = ?2, last_error = ?3, next_attempt_at = ?4
                 WHERE id = ?1 AND state = 'pending' AND next_attempt_at = ?5",
                &values![due.id, attempts, error, now, due.lease_until],
            )?,
        };
        Ok(())
    }

    /// Deliveries, newest first: of one state, older than `before_id`.
    pub fn deliveries(
        &self,
        state: Option<&str>,
        before_id: Option<i64>,
        limit: i64,
    ) -> Result<Vec<DeliveryRow>, StoreError> {
        let mut sql = String::from(
            "SELECT id, webhook, event, idempotency_key, cluster, node, created_at, state, attempts,
                next_attempt_at, last_error, delivered_at, body
             FROM deliveries WHERE 1 = 1",
        );
        let mut params: Vec<crate::db::Value<'_>> = Vec::new();
        if let Some(state) = state {
            params.push(state.into());
            sql.push_str(&format!(" AND state = ?{}", params.len()));
        }
        if let Some(before_id) = before_id {
            params.push(before_id.into());
            sql.push_str(&format!(" AND id < ?{}", params.len()));
        }
        params.push(limit.into());
        sql.push_str(&format!(" ORDER BY id DESC LIMIT ?{}", params.len()));
        let rows = self.read()?.query(&sql, &params)?;
        rows.iter()
            .map(|r| {
                Ok(DeliveryRow {
                    id: r.get(0)?,
                    webhook: r.get(1)?,
                    event: r.get(2)?,
                    idempotency_key: r.get(3)?,
                    cluster: r.get(4)?,
                    node: r.get(5)?,
                    created_at: r.get(6)?,
                    state: r.get(7)?,
                    attempts: r.get(8)?,
                    next_attempt_at: r.get(9)?,
                    last_error: r.get(10)?,
                    delivered_at: r.get(11)?,
                    body: r.get(12)?,
                })
            })
            .collect::<Result<_, DbError>>()
            .map_err(StoreError::from)
    }

    /// Deliveries per state, for /metrics.
    pub fn delivery_counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = self.read()?.query(
            "SELECT state, COUNT(*) FROM deliveries GROUP BY state ORDER BY state",
            &[],
        )?;
        rows.iter()
            .map(|r| Ok((r.get(0)?, r.get(1)?)))
            .collect::<Result<_, DbError>>()
            .map_err(StoreError::from)
    }

    /// Sends a dead delivery again (its attempts start over). Whether it was dead.
    pub fn retry_delivery(&self, id: i64, now: i64) -> Result<bool, StoreError> {
        Ok(self.lock()?.execute(
            "UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = ?2 WHERE id = ?1 AND state = 'dead'",
            &values![id, now],
        )? > 0)
    }

    /// Tells of nodes that went stale since the last sweep (once per time a node goes
    /// stale: its next report clears it). Returns how many.
    pub fn tell_stale(&self, now: i64) -> Result<usize, StoreError> {
        let webhooks = self.webhooks.clone();
        let sql = format!(
            "SELECT cluster, name, last_seen, COALESCE(interval_s, 3600) FROM nodes
             WHERE stale_told = 0 AND ({}) ORDER BY cluster, name LIMIT 1000",
            STALE_SQL.replace("?now", "?1")
        );
        self.lock()?.transaction(|tx| {
            let rows = tx.query(&sql, &values![now])?;
            let mut events = Vec::with_capacity(rows.len());
            for row in &rows {
                let (cluster, node, last_seen, interval): (String, String, i64, i64) =
                    (row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?);
                // Unless it reported meanwhile (on another replica): then it is not stale.
                let marked = tx.execute(
                    "UPDATE nodes SET stale_told = 1 WHERE cluster = ?1 AND name = ?2 AND last_seen = ?3",
                    &values![&cluster, &node, last_seen],
                )?;
                if marked == 0 {
                    continue;
                }
                events.push(Event {
                    kind: event::STALE,
                    cluster,
                    node,
                    at: now,
                    subject: String::new(),
                    severity: None,
                    // The report it went stale after: one event per time it goes stale.
                    before: Some(last_seen.to_string()),
                    after: None,
                    detail: format!(
                        "no report for {} minutes (it reports every {} seconds)",
                        (now - last_seen) / 60,
                        interval
                    ),
                    report_id: None,
                    drop: None,
                });
            }
            enqueue(tx, &webhooks, &events, now)?;
            Ok::<_, StoreError>(events.len())
        })
    }
}
