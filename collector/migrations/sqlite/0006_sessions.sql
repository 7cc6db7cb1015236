-- Dashboard sessions, shared by every replica and kept across restarts; only the
-- SHA-256 of a session id is stored, like tokens.
CREATE TABLE sessions (
   hash TEXT PRIMARY KEY,
   token_id INTEGER NOT NULL,
   expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
