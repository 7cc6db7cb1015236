-- As SQLite's eleventh: per-token node limits.
ALTER TABLE tokens ADD COLUMN max_nodes BIGINT;
ALTER TABLE nodes ADD COLUMN created_by BIGINT;
CREATE INDEX nodes_by_creator ON nodes (created_by) WHERE created_by IS NOT NULL;
