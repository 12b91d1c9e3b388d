-- The revocation log: one row per event that ends tokens, served to resource servers in id order
-- (GET /o/revocations/). Appends are serialized (see db/revocation_log.rs) so that ids commit in order.
CREATE TABLE revocation_events (
    id BIGSERIAL PRIMARY KEY,
    created_at BIGINT NOT NULL,
    event TEXT NOT NULL
);
CREATE INDEX revocation_events_created_at ON revocation_events (created_at);
