-- Disabled accounts (`auth-server user disable`): when the account was disabled, epoch seconds; 0 means
-- enabled. A disabled account cannot sign in; disabling also ended its tokens, sessions and codes.
ALTER TABLE users ADD COLUMN disabled_at BIGINT NOT NULL DEFAULT 0;
