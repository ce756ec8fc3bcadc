-- Apps (tenants), their API keys, and SDK playback sessions.

CREATE TABLE apps (
  id          TEXT PRIMARY KEY,              -- slug, e.g. "default"
  name        TEXT NOT NULL,
  created_at  INTEGER NOT NULL               -- epoch ms
);

CREATE TABLE api_keys (
  id            INTEGER PRIMARY KEY,
  app_id        TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
  name          TEXT NOT NULL,
  prefix        TEXT NOT NULL UNIQUE,        -- shown to people; never enough to authenticate
  key_hash      TEXT NOT NULL UNIQUE,        -- sha256 hex of the whole key
  scopes        TEXT NOT NULL,               -- comma-separated: ingest,read
  created_at    INTEGER NOT NULL,
  last_used_at  INTEGER,
  revoked_at    INTEGER
);
CREATE INDEX api_keys_app ON api_keys(app_id);

-- One row per (app, sessionId). Every SessionSummary field has a typed column;
-- payload keeps the complete JSON as sent, unknown fields included.
CREATE TABLE sessions (
  id                         INTEGER PRIMARY KEY,
  app_id                     TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
  session_id                 TEXT NOT NULL,
  timestamp                  INTEGER NOT NULL,
  session_start_date_iso     TEXT NOT NULL,
  session_start_ms           INTEGER NOT NULL,
  session_duration_ms        INTEGER NOT NULL,
  startup_time_ms            INTEGER,
  rebuffer_time_ms           INTEGER,
  play_time_ms               INTEGER,
  total_dropped_frames       INTEGER,
  total_seek_time_ms         INTEGER,
  rebuffer_count             INTEGER,
  total_seek_count           INTEGER,
  error_count                INTEGER,
  rebuffer_ratio             REAL,
  mean_video_format_bitrate  INTEGER,
  content_id                 TEXT,
  content_title              TEXT,
  stream_type                TEXT,
  player_name                TEXT,
  player_version             TEXT,
  app_version                TEXT,
  device_model               TEXT,
  os                         TEXT,
  os_version                 TEXT,
  country                    TEXT,
  cdn                        TEXT,
  error_code                 TEXT,
  custom                     TEXT,             -- JSON object or NULL
  received_at                INTEGER NOT NULL,
  payload                    TEXT NOT NULL,    -- JSON as sent
  UNIQUE (app_id, session_id)
);
-- Time-range queries per app (dashboards, rollups, retention).
CREATE INDEX sessions_app_time ON sessions(app_id, timestamp);
-- Error analysis: only the (few) sessions that had errors.
CREATE INDEX sessions_app_errors ON sessions(app_id, timestamp, error_code) WHERE error_count > 0;
