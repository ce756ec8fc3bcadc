-- Guest tokens revoked before they expire (SQLite's 0011). The id is the first 22 characters of the base64url
-- SHA-256 of the token (the id its signed playback URLs carry); rows are purged once the token has expired.
CREATE TABLE revoked_guest_tokens (
  token_id    TEXT PRIMARY KEY,
  resource    TEXT NOT NULL,
  expires_at  BIGINT NOT NULL,
  revoked_at  BIGINT NOT NULL
);
CREATE INDEX revoked_guest_tokens_expiry ON revoked_guest_tokens(expires_at);
