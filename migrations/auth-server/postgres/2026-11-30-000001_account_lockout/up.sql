-- Account lockout (auth-server/src/service/lockout.rs): wrong passwords in the current window, when that
-- window began, until when the account is locked, and how many locks in a row it has had (each doubles).
-- Epoch seconds; 0 means never.
ALTER TABLE users ADD COLUMN failed_logins BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN failures_since BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN locked_until BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN lockouts BIGINT NOT NULL DEFAULT 0;
