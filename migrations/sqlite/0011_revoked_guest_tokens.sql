-- Guest tokens revoked before they expire (issue 10: revoking a viewer's token stops its playback at once). A
-- guest token is a signed JWT with no row of its own; its id here is the first 22 characters of the base64url
-- SHA-256 of the token, the same id its signed playback URLs carry. A row is useless once the token has expired
-- and is purged then.
CREATE TABLE revoked_guest_tokens (
  token_id    TEXT PRIMARY KEY,
  resource    TEXT NOT NULL,                    -- room:<id> | video:<id>
  expires_at  INTEGER NOT NULL,                 -- the token's own expiry, epoch ms
  revoked_at  INTEGER NOT NULL
);
CREATE INDEX revoked_guest_tokens_expiry ON revoked_guest_tokens(expires_at);
