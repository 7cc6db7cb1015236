-- How many distinct nodes an agent token may create (NULL: no limit), and which token created
-- each node, so one stolen token cannot fill the fleet with nodes.
ALTER TABLE tokens ADD COLUMN max_nodes INTEGER;
ALTER TABLE nodes ADD COLUMN created_by INTEGER;
CREATE INDEX nodes_by_creator ON nodes (created_by) WHERE created_by IS NOT NULL;
