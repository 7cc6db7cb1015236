-- A check the catalogue does not know is described to the fleet as most nodes describe it:
-- each distinct description of a check, with how many nodes' latest reports give it, and for
-- each node's row the digest of the description it gave.
CREATE TABLE check_descriptions (
   check_id TEXT NOT NULL,
   digest BLOB NOT NULL,
   title TEXT NOT NULL,
   area TEXT NOT NULL,
   severity TEXT NOT NULL,
   remediation TEXT NOT NULL,
   rationale TEXT NOT NULL,
   nodes INTEGER NOT NULL,
   first_seen INTEGER NOT NULL,
   PRIMARY KEY (check_id, digest)
);
ALTER TABLE node_checks ADD COLUMN described BLOB;
