-- Failing critical and high checks of each node, for the fleet's node list (nodes
-- reported before count 0 until their next report).
ALTER TABLE nodes ADD COLUMN failing_critical INTEGER NOT NULL DEFAULT 0;
ALTER TABLE nodes ADD COLUMN failing_high INTEGER NOT NULL DEFAULT 0;
