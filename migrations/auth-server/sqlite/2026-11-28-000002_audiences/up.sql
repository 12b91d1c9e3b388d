-- Audiences (RFC 8707 resource indicators): the APIs tokens may be minted for, the ones a client may ask
-- for (space-separated identifiers; empty: any registered one), and whom each token is for (NULL: the
-- default audience, tokens.default_audience or the issuer).
CREATE TABLE resources (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    identifier TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
ALTER TABLE clients ADD COLUMN audiences TEXT NOT NULL DEFAULT '';
ALTER TABLE access_tokens ADD COLUMN audience TEXT;
ALTER TABLE refresh_tokens ADD COLUMN audience TEXT;
