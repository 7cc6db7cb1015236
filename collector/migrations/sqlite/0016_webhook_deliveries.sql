-- Webhook deliveries (issue 16): written in the transaction that found the event, so an
-- accepted notification survives a restart; each sent until its receiver takes it (at least
-- once, under a stable idempotency key) or dead-lettered after its attempts.
CREATE TABLE deliveries (
   id INTEGER PRIMARY KEY AUTOINCREMENT,
   webhook TEXT NOT NULL,
   event TEXT NOT NULL,
   idempotency_key TEXT NOT NULL,
   cluster TEXT NOT NULL,
   node TEXT NOT NULL,
   body TEXT NOT NULL,
   created_at INTEGER NOT NULL,
   state TEXT NOT NULL,
   attempts INTEGER NOT NULL DEFAULT 0,
   next_attempt_at INTEGER NOT NULL,
   last_error TEXT,
   delivered_at INTEGER,
   UNIQUE (webhook, idempotency_key)
);
CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at);
CREATE INDEX deliveries_by_time ON deliveries (created_at);
-- Whether the node's going stale has been told (cleared by its next report).
ALTER TABLE nodes ADD COLUMN stale_told INTEGER NOT NULL DEFAULT 0;
