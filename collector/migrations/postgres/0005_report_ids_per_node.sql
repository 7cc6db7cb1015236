-- As SQLite's tenth: report ids are unique per node, not across the fleet.
ALTER TABLE reports DROP CONSTRAINT reports_pkey;
ALTER TABLE reports ADD PRIMARY KEY (cluster, node, id);
