-- Node check rows are looked up by check only to list the nodes failing it: the index
-- keeps those rows alone (a small part of all), in the order the list is shown. Full
-- reports are found by id only (a node's latest through its row), so the index by node
-- was written for every report and read by nothing.
DROP INDEX node_checks_by_check;
CREATE INDEX node_checks_failing ON node_checks (check_id, cluster, name) WHERE status = 'fail';
DROP INDEX reports_by_node;
