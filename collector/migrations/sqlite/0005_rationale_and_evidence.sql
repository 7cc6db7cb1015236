-- Why a check matters, and the evidence of each node failing it (for failing and erring
-- checks only: nothing shows the evidence of a pass without the whole report).
ALTER TABLE checks ADD COLUMN rationale TEXT NOT NULL DEFAULT '';
ALTER TABLE node_checks ADD COLUMN evidence TEXT NOT NULL DEFAULT '';
