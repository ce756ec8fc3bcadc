-- Streaming analytics gets an app boundary: every play session, stream rollup and stream moment belongs to
-- the app of the key that sent it. Rows stored before this belong to the default app (the only app the
-- bootstrap ingest key could post for). Webhook idempotency becomes (app, id, event): the same play id from
-- two apps is two sessions.

-- The default app exists from the first start on; created here too for a database that has stream rows but
-- (restored from an old backup) no apps row, so the rows below are never orphaned.
INSERT INTO apps (id, name, created_at)
  SELECT 'default', 'Default app', CAST(strftime('%s', 'now') AS INTEGER) * 1000
  WHERE NOT EXISTS (SELECT 1 FROM apps WHERE id = 'default')
    AND (EXISTS (SELECT 1 FROM play_sessions) OR EXISTS (SELECT 1 FROM stream_minutes)
         OR EXISTS (SELECT 1 FROM stream_hours) OR EXISTS (SELECT 1 FROM moments WHERE app_id IS NULL));

CREATE TABLE play_sessions_new (
  app_id        TEXT NOT NULL,
  id            TEXT NOT NULL,
  server        TEXT NOT NULL,
  channel       TEXT NOT NULL,
  country       TEXT NOT NULL,
  protocol      TEXT NOT NULL,
  device        TEXT NOT NULL,
  user_id       TEXT,
  user_name     TEXT,
  address       TEXT,
  user_agent    TEXT,
  opened_at     INTEGER NOT NULL,
  closed_at     INTEGER,
  start_bytes   INTEGER,
  close_bytes   INTEGER,
  reason        TEXT,
  started_seen  INTEGER NOT NULL DEFAULT 0,
  closed_seen   INTEGER NOT NULL DEFAULT 0,
  received_at   INTEGER NOT NULL,
  start_event   TEXT,
  close_event   TEXT,
  PRIMARY KEY (app_id, id)
) WITHOUT ROWID;
INSERT INTO play_sessions_new
  SELECT 'default', id, server, channel, country, protocol, device, user_id, user_name, address, user_agent, opened_at,
         closed_at, start_bytes, close_bytes, reason, started_seen, closed_seen, received_at, start_event, close_event
  FROM play_sessions;
DROP TABLE play_sessions;
ALTER TABLE play_sessions_new RENAME TO play_sessions;
CREATE INDEX play_sessions_open ON play_sessions(opened_at) WHERE closed_at IS NULL;
CREATE INDEX play_sessions_closed ON play_sessions(closed_at) WHERE closed_at IS NOT NULL;

CREATE TABLE stream_minutes_new (
  app_id              TEXT NOT NULL,
  dimension           TEXT NOT NULL,
  value               TEXT NOT NULL,
  minute              INTEGER NOT NULL,
  sessions_started    INTEGER NOT NULL,
  sessions_closed     INTEGER NOT NULL,
  total_bytes         INTEGER NOT NULL,
  watch_time_seconds  REAL NOT NULL,
  unique_users        INTEGER NOT NULL,
  peak_concurrent     INTEGER NOT NULL,
  PRIMARY KEY (app_id, dimension, value, minute)
) WITHOUT ROWID;
INSERT INTO stream_minutes_new SELECT 'default', * FROM stream_minutes;
DROP TABLE stream_minutes;
ALTER TABLE stream_minutes_new RENAME TO stream_minutes;
-- Window rewrites and retention go by time; breakdowns and "values seen" by app, dimension and time.
CREATE INDEX stream_minutes_time ON stream_minutes(minute);
CREATE INDEX stream_minutes_app ON stream_minutes(app_id, dimension, minute);

CREATE TABLE stream_hours_new (
  app_id              TEXT NOT NULL,
  dimension           TEXT NOT NULL,
  value               TEXT NOT NULL,
  hour                INTEGER NOT NULL,
  sessions_started    INTEGER NOT NULL,
  sessions_closed     INTEGER NOT NULL,
  total_bytes         INTEGER NOT NULL,
  watch_time_seconds  REAL NOT NULL,
  unique_users        INTEGER NOT NULL,
  peak_concurrent     INTEGER NOT NULL,
  PRIMARY KEY (app_id, dimension, value, hour)
) WITHOUT ROWID;
INSERT INTO stream_hours_new SELECT 'default', * FROM stream_hours;
DROP TABLE stream_hours;
ALTER TABLE stream_hours_new RENAME TO stream_hours;
CREATE INDEX stream_hours_time ON stream_hours(hour);
CREATE INDEX stream_hours_app ON stream_hours(app_id, dimension, hour);

-- Stream moments (viewer spikes and drops) were stored with no app; they are the default app's.
UPDATE moments SET app_id = 'default' WHERE app_id IS NULL;
