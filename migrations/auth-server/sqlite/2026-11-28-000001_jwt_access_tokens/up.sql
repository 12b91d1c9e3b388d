-- JWT access tokens (RFC 9068): a client chooses the format of its access tokens. Either way the token's
-- SHA-256 digest is what access_tokens stores, so introspection and revocation treat both alike.
ALTER TABLE clients ADD COLUMN access_token_format TEXT NOT NULL DEFAULT 'opaque'
    CHECK (access_token_format IN ('opaque', 'jwt'));
