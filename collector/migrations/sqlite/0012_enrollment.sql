-- Enrollment: an enrollment token may be traded this many more times (NULL: until it expires
-- or is revoked) for a token bound to one node, and a node token names the node it was
-- enrolled for: one live token per enrolled node.
ALTER TABLE tokens ADD COLUMN uses_left INTEGER;
ALTER TABLE tokens ADD COLUMN enrolled_node TEXT;
CREATE UNIQUE INDEX tokens_enrolled ON tokens (scope_cluster, enrolled_node)
   WHERE enrolled_node IS NOT NULL AND revoked_at IS NULL;
