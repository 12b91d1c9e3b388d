-- The revocation log: one row per event that ends tokens, served to resource servers in id order
-- (GET /o/revocations/). AUTOINCREMENT: an id is never handed out twice, even after the newest rows were
-- pruned, so a resource server's Last-Event-ID always means the same place in the log.
CREATE TABLE revocation_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at BIGINT NOT NULL,
    event TEXT NOT NULL
);
CREATE INDEX revocation_events_created_at ON revocation_events (created_at);
