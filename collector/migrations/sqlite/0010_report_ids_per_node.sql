-- Report ids are unique per node, not across the fleet: a node that stored an id first must
-- not turn another node's report with that id into a silent duplicate. SQLite cannot change a
-- primary key in place, so the table is rebuilt once (a copy of every report row; bodies are
-- in report_bodies and not copied).
CREATE TABLE reports_per_node (
   id TEXT NOT NULL,
   cluster TEXT NOT NULL,
   node TEXT NOT NULL,
   received_at INTEGER NOT NULL,
   score INTEGER,
   body TEXT NOT NULL,
   body_hash BLOB,
   started_at TEXT,
   duration_ms INTEGER,
   PRIMARY KEY (cluster, node, id)
);
INSERT INTO reports_per_node (id, cluster, node, received_at, score, body, body_hash, started_at, duration_ms)
   SELECT id, cluster, node, received_at, score, body, body_hash, started_at, duration_ms FROM reports;
DROP TABLE reports;
ALTER TABLE reports_per_node RENAME TO reports;
CREATE INDEX reports_by_time ON reports (received_at);
CREATE INDEX reports_by_body ON reports (body_hash);
