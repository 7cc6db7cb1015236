-- Report bodies deduplicated by content: a node whose findings and inventory have not
-- changed sends the same body every interval, and it is kept once. The per-report parts
-- (id, start time, duration) move to the report row.
CREATE TABLE report_bodies (
   hash BLOB PRIMARY KEY,
   body BLOB NOT NULL
);
ALTER TABLE reports ADD COLUMN body_hash BLOB;
ALTER TABLE reports ADD COLUMN started_at TEXT;
ALTER TABLE reports ADD COLUMN duration_ms INTEGER;
CREATE INDEX reports_by_body ON reports (body_hash);
