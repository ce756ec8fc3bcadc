-- People and their access: users, app grants, login sessions (refresh-token families), the first-run
-- setup token, the audit log; API keys gain rotation (expires_at) and a per-key rate limit.

CREATE TABLE users (
  id                   INTEGER PRIMARY KEY,
  email                TEXT NOT NULL UNIQUE COLLATE NOCASE,
  password_hash        TEXT NOT NULL,        -- scrypt$<log2 N>$<r>$<p>$<salt b64>$<hash b64>
  role                 TEXT NOT NULL CHECK (role IN ('admin', 'member')),
  disabled_at          INTEGER,
  created_at           INTEGER NOT NULL,
  password_changed_at  INTEGER NOT NULL
);

-- Which apps a member may read (admins see every app).
CREATE TABLE user_apps (
  user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  app_id      TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
  granted_at  INTEGER NOT NULL,
  PRIMARY KEY (user_id, app_id)
);

-- One row per login: the refresh-token family. Access tokens carry its id (sid), so revoking the family
-- ends the login at once, access token included.
CREATE TABLE auth_sessions (
  id          TEXT PRIMARY KEY,              -- random, also the JWT "sid"
  user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL,
  revoked_at  INTEGER,
  address     TEXT,
  user_agent  TEXT
);
CREATE INDEX auth_sessions_user ON auth_sessions(user_id);

CREATE TABLE refresh_tokens (
  token_hash  TEXT PRIMARY KEY,              -- sha256 hex; the token is 256 random bits
  session_id  TEXT NOT NULL REFERENCES auth_sessions(id) ON DELETE CASCADE,
  created_at  INTEGER NOT NULL,
  rotated_at  INTEGER                        -- set when exchanged; presenting it again revokes the family
);
CREATE INDEX refresh_tokens_session ON refresh_tokens(session_id);

CREATE TABLE setup_tokens (
  token_hash  TEXT PRIMARY KEY,
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL,
  used_at     INTEGER
);

CREATE TABLE audit_log (
  id           INTEGER PRIMARY KEY,
  at           INTEGER NOT NULL,
  action       TEXT NOT NULL,
  actor_id     INTEGER,
  actor_email  TEXT,
  address      TEXT,
  target       TEXT,
  detail       TEXT                          -- JSON object or NULL
);

ALTER TABLE api_keys ADD COLUMN expires_at INTEGER;   -- set by rotation: the old key works until then
ALTER TABLE api_keys ADD COLUMN rate_limit INTEGER;   -- requests per window; NULL = the configured default
