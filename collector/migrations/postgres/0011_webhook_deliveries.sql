-- As SQLite's sixteenth. Webhook deliveries (issue 16): written in the transaction that found the event, so an
-- accepted notification survives a restart; each sent until its receiver takes it (at least
-- once, under a stable idempotency key) or dead-lettered after its attempts.
CREATE TABLE deliveries (
   id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
   webhook TEXT COLLATE "C" NOT NULL,
   event TEXT NOT NULL,
   idempotency_key TEXT COLLATE "C" NOT NULL,
   cluster TEXT COLLATE "C" NOT NULL,
   node TEXT COLLATE "C" NOT NULL,
   body TEXT NOT NULL,
   created_at BIGINT NOT NULL,
   state TEXT NOT NULL,
   attempts BIGINT NOT NULL DEFAULT 0,
   next_attempt_at BIGINT NOT NULL,
   last_error TEXT,
   delivered_at BIGINT,
   UNIQUE (webhook, idempotency_key)
);
CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at);
CREATE INDEX deliveries_by_time ON deliveries (created_at);
-- Whether the node's going stale has been told (cleared by its next report).
ALTER TABLE nodes ADD COLUMN stale_told BIGINT NOT NULL DEFAULT 0;
