CREATE TABLE tokens (
   id INTEGER PRIMARY KEY,
   hash TEXT NOT NULL UNIQUE,
   role TEXT NOT NULL,
   name TEXT NOT NULL,
   scope_cluster TEXT,
   scope_nodes TEXT,
   created_at INTEGER NOT NULL,
   revoked_at INTEGER
);
CREATE TABLE reports (
   id TEXT PRIMARY KEY,
   cluster TEXT NOT NULL,
   node TEXT NOT NULL,
   received_at INTEGER NOT NULL,
   score INTEGER,
   body TEXT NOT NULL
);
CREATE INDEX reports_by_node ON reports (cluster, node, received_at);
CREATE INDEX reports_by_time ON reports (received_at);
CREATE TABLE nodes (
   cluster TEXT NOT NULL,
   name TEXT NOT NULL,
   first_seen INTEGER NOT NULL,
   last_seen INTEGER NOT NULL,
   roles TEXT NOT NULL,
   labels TEXT NOT NULL,
   agent_version TEXT NOT NULL,
   interval_s INTEGER,
   score INTEGER,
   failing INTEGER NOT NULL,
   last_report TEXT NOT NULL,
   PRIMARY KEY (cluster, name)
);
CREATE INDEX nodes_by_score ON nodes (score);
CREATE TABLE node_checks (
   cluster TEXT NOT NULL,
   name TEXT NOT NULL,
   check_id TEXT NOT NULL,
   status TEXT NOT NULL,
   severity TEXT NOT NULL,
   message TEXT NOT NULL,
   PRIMARY KEY (cluster, name, check_id)
);
CREATE INDEX node_checks_by_check ON node_checks (check_id, status);
CREATE TABLE score_history (
   cluster TEXT NOT NULL,
   name TEXT NOT NULL,
   at INTEGER NOT NULL,
   score INTEGER,
   report_id TEXT NOT NULL
);
CREATE INDEX score_history_by_node ON score_history (cluster, name, at);
CREATE TABLE checks (
   id TEXT PRIMARY KEY,
   title TEXT NOT NULL,
   area TEXT NOT NULL,
   severity TEXT NOT NULL,
   remediation TEXT NOT NULL,
   failing_nodes INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE score_buckets (
   bucket INTEGER PRIMARY KEY,
   nodes INTEGER NOT NULL
);
CREATE TABLE fleet_daily (
   day INTEGER PRIMARY KEY,
   score_sum INTEGER NOT NULL,
   reports INTEGER NOT NULL
);
