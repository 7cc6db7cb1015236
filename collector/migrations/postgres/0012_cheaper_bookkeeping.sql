-- As SQLite's seventeenth. Cheaper bookkeeping at ingest (issue 16).
--
-- What a node's check rows and kept state are of (a hash of its report's body and of the
-- collector's catalogue) moves from node_state to the nodes row, which every report reads
-- anyway: a report the same as the last one is then known so from one row, and node_state is
-- read only for a report that changed. NULL compares with nothing: each node's next report
-- is compared in full.
ALTER TABLE nodes ADD COLUMN state_hash BYTEA;
ALTER TABLE node_state DROP COLUMN body_hash;
-- A node's settings are kept once per distinct set (most nodes of a peer group hold the same
-- set; a node's first report no longer writes kilobytes of them): by the first 16 bytes of the
-- SHA-256 of the set as one JSON object of encoded values, with the set's digests for the
-- drift examples (16 bytes a setting, sorted), and how many nodes' states hold it (a set
-- none holds is removed).
ALTER TABLE node_state DROP COLUMN settings;
ALTER TABLE node_state ADD COLUMN settings_set BYTEA;
CREATE TABLE setting_sets (
   hash BYTEA PRIMARY KEY,
   settings TEXT NOT NULL,
   digests BYTEA NOT NULL,
   nodes BIGINT NOT NULL
);
-- Drift examples from one row per counted node, its peer group and set of settings, which
-- the drift page searches for the holders of a minority value: node_settings held a row per
-- node and setting, so a node's first report wrote a hundred index entries, most of them for
-- values most of its peers hold and no one looks up.
DROP TABLE node_settings;
CREATE TABLE drift_members (
   cluster TEXT COLLATE "C" NOT NULL,
   name TEXT COLLATE "C" NOT NULL,
   peer_group TEXT COLLATE "C" NOT NULL,
   settings_set BYTEA NOT NULL,
   PRIMARY KEY (cluster, name)
);
CREATE INDEX drift_members_by_group ON drift_members (cluster, peer_group, name);
-- The counts are made again from each node's next report (which keeps its settings anew):
-- until then the drift list is short, never wrong.
DELETE FROM drift_values;
DELETE FROM drift_groups;
UPDATE nodes SET peer_group = NULL;
