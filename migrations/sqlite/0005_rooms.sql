-- Watch-party rooms (issue 11): rooms with their playback state, their members (kept so that a restart or a
-- reconnect restores identity and role) and their chat. Every row belongs to an app; deleting the app deletes
-- its rooms. A room whose video is deleted keeps its members and chat, without a video.

CREATE TABLE rooms (
  id                 TEXT PRIMARY KEY,               -- random, URL-safe
  app_id             TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
  name               TEXT NOT NULL,
  video_id           TEXT REFERENCES videos(id) ON DELETE SET NULL,
  owner_user_id      INTEGER NOT NULL,               -- who created it (hostUserId until a hand-over)
  host_member_id     TEXT,                           -- the member holding the host role; null: none yet
  host_user_id       INTEGER,                        -- that member's user, for the REST view
  locked             INTEGER NOT NULL DEFAULT 0,
  chat_enabled       INTEGER NOT NULL DEFAULT 1,
  wait_for_buffering INTEGER,                        -- null: automatic (on for rooms of up to 5)
  position           REAL NOT NULL DEFAULT 0,        -- seconds into the video at state_at
  paused             INTEGER NOT NULL DEFAULT 1,
  rate               REAL NOT NULL DEFAULT 1,
  state_at           INTEGER NOT NULL,               -- server epoch ms the position refers to
  seq                INTEGER NOT NULL DEFAULT 0,     -- last command's sequence number
  created_at         INTEGER NOT NULL,
  updated_at         INTEGER NOT NULL
);
CREATE INDEX rooms_app_created ON rooms(app_id, created_at, id);

-- identity: "u:<userId>" for accounts, "g:<hash of the guest token>" for guests.
CREATE TABLE room_members (
  room_id      TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
  app_id       TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
  id           TEXT NOT NULL,
  identity     TEXT NOT NULL,
  user_id      INTEGER,
  name         TEXT NOT NULL,
  kind         TEXT NOT NULL,                        -- admin | member | guest
  joined_at    INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL,
  kicked       INTEGER NOT NULL DEFAULT 0,           -- a kicked identity may not come back
  PRIMARY KEY (room_id, id)
);
CREATE UNIQUE INDEX room_members_identity ON room_members(room_id, identity);

CREATE TABLE room_chat (
  id             INTEGER PRIMARY KEY,
  room_id        TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
  app_id         TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
  member_id      TEXT NOT NULL,
  name           TEXT NOT NULL,
  text           TEXT NOT NULL,
  video_position REAL NOT NULL,                      -- seconds into the video when it was sent
  at             INTEGER NOT NULL,
  deleted        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX room_chat_room ON room_chat(room_id, id);
