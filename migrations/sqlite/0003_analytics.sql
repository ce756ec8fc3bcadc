-- Analytics engine: raw play sessions from streaming-server webhooks, per-minute and per-hour rollups
-- (streams and SDK QoE), moments (anomalies) and the engine's own bookkeeping.

-- One row per play session id. started_seen / closed_seen make (id, event) idempotent and let a
-- play_closed that arrives first still yield one closed session.
CREATE TABLE play_sessions (
  id            TEXT PRIMARY KEY,
  server        TEXT NOT NULL,
  channel       TEXT NOT NULL,
  country       TEXT NOT NULL,             -- ISO alpha-2 upper-case, '' when unknown
  protocol      TEXT NOT NULL,
  device        TEXT NOT NULL,             -- classifyUserAgent(user_agent)
  user_id       TEXT,
  user_name     TEXT,
  address       TEXT,
  user_agent    TEXT,
  opened_at     INTEGER NOT NULL,          -- epoch ms
  closed_at     INTEGER,                   -- NULL while open
  start_bytes   INTEGER,                   -- bytes reported by play_started
  close_bytes   INTEGER,                   -- bytes reported by play_closed
  reason        TEXT,                      -- close reason; "stale" when closed by m3w
  started_seen  INTEGER NOT NULL DEFAULT 0,
  closed_seen   INTEGER NOT NULL DEFAULT 0,
  received_at   INTEGER NOT NULL,
  start_event   TEXT,                      -- raw JSON of play_started
  close_event   TEXT                       -- raw JSON of play_closed
) WITHOUT ROWID;                           -- looked up by id only: one b-tree instead of table + id index
-- Open sessions (restore the live tracker, stale close) and recently closed ones (rollups, retention).
CREATE INDEX play_sessions_open ON play_sessions(opened_at) WHERE closed_at IS NULL;
CREATE INDEX play_sessions_closed ON play_sessions(closed_at) WHERE closed_at IS NOT NULL;

-- Stream rollups: one row per (dimension, value, bucket). dimension is global (value ''), server,
-- channel, country, protocol or device. bandwidth_bps is derived on read (total_bytes * 8 / step).
CREATE TABLE stream_minutes (
  dimension           TEXT NOT NULL,
  value               TEXT NOT NULL,
  minute              INTEGER NOT NULL,    -- epoch ms, multiple of 60000
  sessions_started    INTEGER NOT NULL,
  sessions_closed     INTEGER NOT NULL,
  total_bytes         INTEGER NOT NULL,
  watch_time_seconds  REAL NOT NULL,
  unique_users        INTEGER NOT NULL,
  peak_concurrent     INTEGER NOT NULL,
  PRIMARY KEY (dimension, value, minute)
) WITHOUT ROWID;
CREATE INDEX stream_minutes_time ON stream_minutes(minute, dimension);

CREATE TABLE stream_hours (
  dimension           TEXT NOT NULL,
  value               TEXT NOT NULL,
  hour                INTEGER NOT NULL,    -- epoch ms, multiple of 3600000
  sessions_started    INTEGER NOT NULL,
  sessions_closed     INTEGER NOT NULL,
  total_bytes         INTEGER NOT NULL,
  watch_time_seconds  REAL NOT NULL,
  unique_users        INTEGER NOT NULL,
  peak_concurrent     INTEGER NOT NULL,
  PRIMARY KEY (dimension, value, hour)
) WITHOUT ROWID;
CREATE INDEX stream_hours_time ON stream_hours(hour, dimension);

-- Earliest minute touched by an event that arrived after its minute may have been rolled up.
CREATE TABLE stream_dirty (
  minute INTEGER PRIMARY KEY
);

-- QoE rollups of SDK sessions, per app, by the session's timestamp. dimension is global (value '') or a
-- SessionSummary field. Sums and counts are exact; startup_hist is a sparse log-scale histogram
-- (little-endian uint32 pairs: bucket, count) so percentiles merge across rows.
CREATE TABLE qoe_minutes (
  app_id                TEXT NOT NULL,
  dimension             TEXT NOT NULL,
  value                 TEXT NOT NULL,
  minute                INTEGER NOT NULL,
  sessions              INTEGER NOT NULL,
  sessions_with_errors  INTEGER NOT NULL,
  startup_sum           REAL NOT NULL,
  startup_count         INTEGER NOT NULL,
  rebuffer_sum          REAL NOT NULL,
  rebuffer_count        INTEGER NOT NULL,
  play_sum              REAL NOT NULL,
  play_count            INTEGER NOT NULL,
  dropped_sum           REAL NOT NULL,
  dropped_count         INTEGER NOT NULL,
  seeks_sum             REAL NOT NULL,
  seeks_count           INTEGER NOT NULL,
  bitrate_sum           REAL NOT NULL,
  bitrate_count         INTEGER NOT NULL,
  startup_hist          BLOB,
  PRIMARY KEY (app_id, dimension, value, minute)
) WITHOUT ROWID;
-- Breakdowns (every value of a dimension over a range) and retention, per app and dimension.
CREATE INDEX qoe_minutes_time ON qoe_minutes(app_id, dimension, minute);

CREATE TABLE qoe_hours (
  app_id                TEXT NOT NULL,
  dimension             TEXT NOT NULL,
  value                 TEXT NOT NULL,
  hour                  INTEGER NOT NULL,
  sessions              INTEGER NOT NULL,
  sessions_with_errors  INTEGER NOT NULL,
  startup_sum           REAL NOT NULL,
  startup_count         INTEGER NOT NULL,
  rebuffer_sum          REAL NOT NULL,
  rebuffer_count        INTEGER NOT NULL,
  play_sum              REAL NOT NULL,
  play_count            INTEGER NOT NULL,
  dropped_sum           REAL NOT NULL,
  dropped_count         INTEGER NOT NULL,
  seeks_sum             REAL NOT NULL,
  seeks_count           INTEGER NOT NULL,
  bitrate_sum           REAL NOT NULL,
  bitrate_count         INTEGER NOT NULL,
  startup_hist          BLOB,
  PRIMARY KEY (app_id, dimension, value, hour)
) WITHOUT ROWID;
CREATE INDEX qoe_hours_time ON qoe_hours(app_id, dimension, hour);

-- Anomalies found on the minute series. app_id is NULL for stream metrics.
CREATE TABLE moments (
  id          INTEGER PRIMARY KEY,
  app_id      TEXT,
  kind        TEXT NOT NULL,               -- spike | drop
  metric      TEXT NOT NULL,
  dimension   TEXT NOT NULL,
  value       TEXT NOT NULL,
  started_at  INTEGER NOT NULL,
  ended_at    INTEGER NOT NULL,            -- start of the last anomalous minute + 60000
  peak_value  REAL NOT NULL,
  baseline    REAL NOT NULL,
  z_score     REAL NOT NULL,
  threshold   REAL NOT NULL
);
CREATE INDEX moments_time ON moments(started_at);
CREATE INDEX moments_series ON moments(dimension, value, started_at);

-- Engine bookkeeping: last minute rolled up, last retention run, last live snapshot.
CREATE TABLE engine_state (
  key    TEXT PRIMARY KEY,
  value  INTEGER NOT NULL
);

-- Sessions stored before this migration get their QoE rollups from the session writer at its next start
-- (in chunks, resumable): this marks where it begins.
INSERT INTO engine_state (key, value) SELECT 'qoe.backfill_next_id', 0 WHERE EXISTS (SELECT 1 FROM sessions);
