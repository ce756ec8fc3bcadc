-- Fingerprints of the keys each running instance keeps in its data directory (auth-ed25519.pem, media-url-key,
-- alerts.key). Instances on one schema must hold the same ones, or a login, a signed media URL or a sealed channel
-- secret made by one fails on another. An instance records its own at start-up (refused if they differ from a live
-- instance's), refreshes updated_at while it runs and deletes its rows when it stops; rows not refreshed for a few
-- minutes belong to an instance that died and no longer count. A fingerprint never gives the key away: SHA-256 of
-- the public key, or a keyed hash of a secret key.
CREATE TABLE key_fingerprints (
  instance    TEXT NOT NULL,
  key_name    TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (instance, key_name)
);
