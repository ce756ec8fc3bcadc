-- Messages between m3w instances on one schema (issue 12): "sessions were stored", a moment, a watch-party room's
-- command, chat line or presence. A publisher inserts its messages and sends one NOTIFY (payload: its instance id,
-- never the message); every other instance reads the rows it has not seen (by seq, gaps re-asked for a while since
-- concurrent inserts commit out of seq order), on the NOTIFY or at the latest by its 2 s poll. Rows live a minute.
CREATE TABLE instance_events (
  seq       BIGSERIAL PRIMARY KEY,
  at        TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
  instance  TEXT NOT NULL,
  topic     TEXT NOT NULL,
  app_id    TEXT NOT NULL,
  payload   TEXT NOT NULL
);
CREATE INDEX instance_events_at ON instance_events(at);
