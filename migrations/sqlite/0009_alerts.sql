-- Alerts: notification channels (settings sealed with the data directory's key), alert rules with their
-- state, the history of their transitions, and the delivery outbox (kept until delivered or given up, so a
-- restart loses nothing pending). Every row belongs to an app.

CREATE TABLE notification_channels (
  id          INTEGER PRIMARY KEY,
  app_id      TEXT NOT NULL,
  name        TEXT NOT NULL,
  type        TEXT NOT NULL,             -- webhook | slack | discord | ntfy | email
  sealed      TEXT NOT NULL,             -- the settings as JSON, AES-256-GCM sealed (never stored in clear)
  created_at  INTEGER NOT NULL
);
CREATE INDEX notification_channels_app ON notification_channels(app_id, id);

CREATE TABLE alert_rules (
  id                INTEGER PRIMARY KEY,
  app_id            TEXT NOT NULL,
  name              TEXT NOT NULL,
  metric            TEXT NOT NULL,
  op                TEXT NOT NULL,       -- above | below
  threshold         REAL NOT NULL,
  window_minutes    INTEGER NOT NULL,
  min_sessions      INTEGER NOT NULL,
  cooldown_minutes  INTEGER NOT NULL,
  channel_ids       TEXT NOT NULL,       -- JSON array of notification_channels ids
  filter_dimension  TEXT,
  filter_value      TEXT,
  enabled           INTEGER NOT NULL DEFAULT 1,
  state             TEXT NOT NULL DEFAULT 'ok',   -- ok | firing | resolved
  state_since       INTEGER,
  last_value        REAL,
  last_evaluated_at INTEGER,
  last_fired_at     INTEGER,
  created_at        INTEGER NOT NULL,
  updated_at        INTEGER NOT NULL
);
CREATE INDEX alert_rules_app ON alert_rules(app_id, id);

CREATE TABLE alert_events (
  id         INTEGER PRIMARY KEY,
  app_id     TEXT NOT NULL,
  rule_id    INTEGER NOT NULL,
  rule_name  TEXT NOT NULL,
  metric     TEXT NOT NULL,
  state      TEXT NOT NULL,              -- firing | resolved
  value      REAL,
  threshold  REAL NOT NULL,
  at         INTEGER NOT NULL
);
CREATE INDEX alert_events_app ON alert_events(app_id, at);
CREATE INDEX alert_events_rule ON alert_events(rule_id, at);

CREATE TABLE notification_outbox (
  id               INTEGER PRIMARY KEY,
  app_id           TEXT NOT NULL,
  event_id         INTEGER,              -- NULL for a test message
  channel_id       INTEGER NOT NULL,
  payload          TEXT NOT NULL,        -- the alert as JSON, rendered for the channel's type when sent
  status           TEXT NOT NULL,        -- pending | sending | delivered | failed
  attempts         INTEGER NOT NULL DEFAULT 0,
  attempt_log      TEXT NOT NULL DEFAULT '[]',  -- JSON [{at, ok, status, error}]
  next_attempt_at  INTEGER NOT NULL,
  delivered_at     INTEGER,
  created_at       INTEGER NOT NULL
);
CREATE INDEX notification_outbox_due ON notification_outbox(status, next_attempt_at);
CREATE INDEX notification_outbox_event ON notification_outbox(event_id);
CREATE INDEX notification_outbox_app ON notification_outbox(app_id, id);
