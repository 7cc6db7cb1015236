-- As SQLite's twelfth: enrollment tokens and the nodes they enrolled.
ALTER TABLE tokens ADD COLUMN uses_left BIGINT;
ALTER TABLE tokens ADD COLUMN enrolled_node TEXT COLLATE "C";
CREATE UNIQUE INDEX tokens_enrolled ON tokens (scope_cluster, enrolled_node)
   WHERE enrolled_node IS NOT NULL AND revoked_at IS NULL;
