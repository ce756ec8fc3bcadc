-- Room analytics (SQLite's 0010): one row per room and minute with the members connected (peak), chat messages,
-- unique chatters, the minute's top emotes (JSON [{"emote","count"}]) and the mean sentiment of its messages.
-- A room's rows go with the room, and with its app.
CREATE TABLE room_minutes (
  room_id          TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
  app_id           TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
  minute           BIGINT NOT NULL,
  viewers          INTEGER NOT NULL,
  messages         INTEGER NOT NULL,
  unique_chatters  INTEGER NOT NULL,
  top_emotes       TEXT NOT NULL DEFAULT '[]',
  sentiment        DOUBLE PRECISION,
  sentiment_n      INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (room_id, minute)
);
CREATE INDEX room_minutes_time ON room_minutes(minute);
