-- As SQLite's fourteenth: each node's description of a check the catalogue does not know,
-- counted, so the fleet is told what most nodes say.
CREATE TABLE check_descriptions (
   check_id TEXT COLLATE "C" NOT NULL,
   digest BYTEA NOT NULL,
   title TEXT NOT NULL,
   area TEXT NOT NULL,
   severity TEXT NOT NULL,
   remediation TEXT NOT NULL,
   rationale TEXT NOT NULL,
   nodes BIGINT NOT NULL,
   first_seen BIGINT NOT NULL,
   PRIMARY KEY (check_id, digest)
);
ALTER TABLE node_checks ADD COLUMN described BYTEA;
