-- As SQLite's thirteenth: how many nodes report each check.
ALTER TABLE checks ADD COLUMN reporting_nodes BIGINT NOT NULL DEFAULT 0;
UPDATE checks SET reporting_nodes = (SELECT COUNT(*) FROM node_checks WHERE node_checks.check_id = checks.id);
