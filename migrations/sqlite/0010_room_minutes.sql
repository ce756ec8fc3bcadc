-- Room analytics (issue 11, the chat half of the stream metrics): one row per room and minute with the members
-- connected (peak), chat messages, unique chatters, the minute's top emotes (JSON [{"emote","count"}]) and the
-- mean sentiment of its messages (null when no scorer ran or nobody chatted). A room's rows go with the room,
-- and with its app.
CREATE TABLE room_minutes (
  room_id          TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
  app_id           TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
  minute           INTEGER NOT NULL,                 -- epoch ms, multiple of 60000
  viewers          INTEGER NOT NULL,                 -- most members connected at once in the minute
  messages         INTEGER NOT NULL,
  unique_chatters  INTEGER NOT NULL,
  top_emotes       TEXT NOT NULL DEFAULT '[]',
  sentiment        REAL,
  sentiment_n      INTEGER NOT NULL DEFAULT 0,        -- messages the sentiment is the mean of
  PRIMARY KEY (room_id, minute)
) WITHOUT ROWID;
-- Moments look for the rooms with figures in a window; retention deletes by time.
CREATE INDEX room_minutes_time ON room_minutes(minute);
