-- Sessions are found by key_hash, a 53-bit hash of (app_id, session_id) that m3w computes
-- (src/tools/session-key.ts; m3w_session_key() in SQL), instead of a unique index on the two strings. With
-- random sessionIds every insert lands on a random leaf of that index, and its entries were three times as
-- wide: at millions of sessions each committed group rewrote most of it. The hash index is not unique; the
-- writer looks a session up by hash and both strings before inserting, so a collision costs one extra row
-- read, never a lost or merged session. Every row is carried forward with its id.

-- This rebuild lists the columns of sessions as 0001 made them: a later column added by another migration
-- must be added here too, so the rebuild refuses to run (CHECK fails) rather than drop it silently.
CREATE TEMP TABLE m3w_0007_guard (columns INTEGER CHECK (columns = 32));
INSERT INTO m3w_0007_guard SELECT count(*) FROM pragma_table_info('sessions');
DROP TABLE m3w_0007_guard;

CREATE TABLE sessions_0007 (
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
  key_hash                   INTEGER NOT NULL  -- m3w_session_key(app_id, session_id)
);

INSERT INTO sessions_0007 (id, app_id, session_id, timestamp, session_start_date_iso, session_start_ms,
  session_duration_ms, startup_time_ms, rebuffer_time_ms, play_time_ms, total_dropped_frames, total_seek_time_ms,
  rebuffer_count, total_seek_count, error_count, rebuffer_ratio, mean_video_format_bitrate, content_id,
  content_title, stream_type, player_name, player_version, app_version, device_model, os, os_version, country, cdn,
  error_code, custom, received_at, payload, key_hash)
SELECT id, app_id, session_id, timestamp, session_start_date_iso, session_start_ms,
  session_duration_ms, startup_time_ms, rebuffer_time_ms, play_time_ms, total_dropped_frames, total_seek_time_ms,
  rebuffer_count, total_seek_count, error_count, rebuffer_ratio, mean_video_format_bitrate, content_id,
  content_title, stream_type, player_name, player_version, app_version, device_model, os, os_version, country, cdn,
  error_code, custom, received_at, payload, m3w_session_key(app_id, session_id)
FROM sessions;

DROP TABLE sessions;
ALTER TABLE sessions_0007 RENAME TO sessions;

-- Lookups by (app, sessionId): the writer's insert-or-replace and GET /v1/sessions/:sessionId.
CREATE INDEX sessions_key ON sessions(key_hash);
-- Time-range queries per app (dashboards, rollups, retention), as before.
CREATE INDEX sessions_app_time ON sessions(app_id, timestamp);
-- Error analysis: only the (few) sessions that had errors, as before.
CREATE INDEX sessions_app_errors ON sessions(app_id, timestamp, error_code) WHERE error_count > 0;
