-- Video library (issue 10): uploaded videos, their HLS renditions and the transcode job queue.
-- Every row belongs to an app; deleting the app deletes its videos' rows (the media files are removed by m3w).

CREATE TABLE videos (
  id            TEXT PRIMARY KEY,                 -- random, URL-safe; also the name of its folder
  app_id        TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
  title         TEXT NOT NULL,
  status        TEXT NOT NULL,                    -- uploading | queued | processing | ready | failed
  error         TEXT,
  upload_length INTEGER,                          -- bytes announced by a tus upload
  source_bytes  INTEGER,
  duration_ms   INTEGER,
  width         INTEGER,
  height        INTEGER,
  source_info   TEXT,                             -- JSON summary of ffprobe's answer
  created_at    INTEGER NOT NULL,                 -- epoch ms
  updated_at    INTEGER NOT NULL
);
CREATE INDEX videos_app_created ON videos(app_id, created_at, id);

CREATE TABLE video_renditions (
  video_id          TEXT NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
  app_id            TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
  height            INTEGER NOT NULL,
  width             INTEGER NOT NULL,
  video_bitrate     INTEGER NOT NULL,             -- target bits/s (copy: the source's)
  mode              TEXT NOT NULL,                -- encode | copy
  status            TEXT NOT NULL,                -- queued | processing | ready | failed
  bandwidth         INTEGER,                      -- measured peak bits/s over a segment, once ready
  average_bandwidth INTEGER,
  codecs            TEXT,
  PRIMARY KEY (video_id, height)
);

-- One job per rendition, plus one for the poster and the seek-preview sprite.
CREATE TABLE video_jobs (
  id          INTEGER PRIMARY KEY,
  app_id      TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
  video_id    TEXT NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
  kind        TEXT NOT NULL,                      -- rendition | thumbnails
  height      INTEGER,                            -- rendition jobs
  priority    INTEGER NOT NULL,                   -- lower first: the lowest rendition, then thumbnails, then up
  status      TEXT NOT NULL,                      -- queued | running | done | failed
  attempts    INTEGER NOT NULL DEFAULT 0,
  progress    REAL NOT NULL DEFAULT 0,
  error       TEXT,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);
CREATE INDEX video_jobs_queue ON video_jobs(status, priority, id);
CREATE INDEX video_jobs_video ON video_jobs(video_id);
