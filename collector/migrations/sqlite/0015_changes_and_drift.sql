-- Changes between each node's consecutive reports, found at ingest (issue 16): checks that
-- flipped, score moves, listeners and images with a shell that came or went, agent and
-- kubelet versions. Kept as long as full reports are.
CREATE TABLE changes (
   id INTEGER PRIMARY KEY AUTOINCREMENT,
   at INTEGER NOT NULL,
   cluster TEXT NOT NULL,
   node TEXT NOT NULL,
   report_id TEXT NOT NULL,
   kind TEXT NOT NULL,
   subject TEXT NOT NULL,
   severity TEXT,
   direction TEXT NOT NULL,
   before TEXT,
   after TEXT,
   detail TEXT NOT NULL
);
CREATE INDEX changes_by_time ON changes (at);
CREATE INDEX changes_by_node ON changes (cluster, node, id);
CREATE INDEX changes_by_subject ON changes (subject, id);
CREATE INDEX changes_by_direction ON changes (direction, id);
CREATE INDEX changes_by_cluster ON changes (cluster, id);
CREATE INDEX changes_by_kind ON changes (kind, id);
CREATE INDEX changes_by_severity ON changes (severity, id);
-- The nodes' kubelet versions, and the peer group (cluster and sorted roles) each node's
-- settings are counted in (NULL: not counted, as a stale node).
ALTER TABLE nodes ADD COLUMN kubelet_version TEXT;
ALTER TABLE nodes ADD COLUMN peer_group TEXT;
-- What a node's next report is compared with, written only when a report's body differs from
-- the last (the nodes row is rewritten by every report, this one rarely): the body's hash
-- (an identical body changes nothing), its host listeners and images with a shell, and its
-- settings as one JSON object of encoded values.
CREATE TABLE node_state (
   cluster TEXT NOT NULL,
   name TEXT NOT NULL,
   body_hash BLOB NOT NULL,
   listeners TEXT NOT NULL,
   shell_images TEXT NOT NULL,
   settings TEXT NOT NULL,
   PRIMARY KEY (cluster, name)
);
-- Which node holds which value of each setting (values JSON-encoded: a string, or null for
-- unset), for the nodes of a drifting value; and per cluster, peer group and setting how many
-- counted nodes hold each value. Values are keyed by their digest (the first 16 bytes of their
-- SHA-256): a value may be a kilobyte of any characters, more than an index entry holds. The
-- node's own values are in node_state, so this is looked up by value alone: one index.
CREATE TABLE node_settings (
   cluster TEXT NOT NULL,
   key TEXT NOT NULL,
   digest BLOB NOT NULL,
   name TEXT NOT NULL,
   PRIMARY KEY (cluster, key, digest, name)
) WITHOUT ROWID;
CREATE TABLE drift_values (
   cluster TEXT NOT NULL,
   peer_group TEXT NOT NULL,
   key TEXT NOT NULL,
   digest BLOB NOT NULL,
   value TEXT NOT NULL,
   nodes INTEGER NOT NULL,
   PRIMARY KEY (cluster, peer_group, key, digest)
);
CREATE TABLE drift_groups (
   cluster TEXT NOT NULL,
   peer_group TEXT NOT NULL,
   nodes INTEGER NOT NULL,
   PRIMARY KEY (cluster, peer_group)
);
