-- Counts kept at ingest and prune: COUNT(*) over months of reports is a full scan, too
-- slow for every scrape of /metrics.
CREATE TABLE counts (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT INTO counts (name, value) SELECT 'reports', COUNT(*) FROM reports;
