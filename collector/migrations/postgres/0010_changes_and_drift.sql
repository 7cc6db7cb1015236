-- As SQLite's fifteenth. Changes between each node's consecutive reports, found at ingest (issue 16): checks that
-- flipped, score moves, listeners and images with a shell that came or went, agent and
-- kubelet versions. Kept as long as full reports are.
CREATE TABLE changes (
   id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
   at BIGINT NOT NULL,
   cluster TEXT COLLATE "C" NOT NULL,
   node TEXT COLLATE "C" NOT NULL,
   report_id TEXT NOT NULL,
   kind TEXT NOT NULL,
   subject TEXT COLLATE "C" NOT NULL,
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
-- What the next report is compared with: the body it had (an identical body changes
-- nothing), its host listeners and images with a shell, its kubelet version, and the peer
-- group (cluster and sorted roles) its settings are counted in (NULL: not counted).
ALTER TABLE nodes ADD COLUMN body_hash BYTEA;
ALTER TABLE nodes ADD COLUMN listeners TEXT NOT NULL DEFAULT '[]';
ALTER TABLE nodes ADD COLUMN shell_images TEXT NOT NULL DEFAULT '[]';
ALTER TABLE nodes ADD COLUMN kubelet_version TEXT;
ALTER TABLE nodes ADD COLUMN peer_group TEXT;
-- Its settings as its last report gave them (a JSON object of encoded values), compared
-- whole with the next report's before any row is read.
ALTER TABLE nodes ADD COLUMN settings TEXT;
-- Each node's judged settings (values JSON-encoded: a string, or null for unset), and per
-- cluster, peer group and setting how many counted nodes hold each value. Values are found
-- and keyed by their digest (the first 16 bytes of their SHA-256): a value may be a kilobyte
-- of any characters, more than an index entry holds.
CREATE TABLE node_settings (
   cluster TEXT COLLATE "C" NOT NULL,
   name TEXT COLLATE "C" NOT NULL,
   key TEXT COLLATE "C" NOT NULL,
   value TEXT NOT NULL,
   digest BYTEA NOT NULL,
   PRIMARY KEY (cluster, name, key)
);
CREATE INDEX node_settings_by_value ON node_settings (cluster, key, digest);
CREATE TABLE drift_values (
   cluster TEXT COLLATE "C" NOT NULL,
   peer_group TEXT COLLATE "C" NOT NULL,
   key TEXT COLLATE "C" NOT NULL,
   digest BYTEA NOT NULL,
   value TEXT NOT NULL,
   nodes BIGINT NOT NULL,
   PRIMARY KEY (cluster, peer_group, key, digest)
);
CREATE TABLE drift_groups (
   cluster TEXT COLLATE "C" NOT NULL,
   peer_group TEXT COLLATE "C" NOT NULL,
   nodes BIGINT NOT NULL,
   PRIMARY KEY (cluster, peer_group)
);
