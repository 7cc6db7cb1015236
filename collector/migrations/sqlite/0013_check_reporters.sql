-- How many nodes report each check, kept at ingest like failing_nodes: a check the collector's
-- catalogue does not know is removed when no node reports it any more, without scanning every
-- node's rows to find out.
ALTER TABLE checks ADD COLUMN reporting_nodes INTEGER NOT NULL DEFAULT 0;
UPDATE checks SET reporting_nodes = (SELECT COUNT(*) FROM node_checks WHERE node_checks.check_id = checks.id);
