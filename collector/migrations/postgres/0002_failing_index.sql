-- As SQLite's seventh.
DROP INDEX node_checks_by_check;
CREATE INDEX node_checks_failing ON node_checks (check_id, cluster, name) WHERE status = 'fail';
DROP INDEX reports_by_node;
