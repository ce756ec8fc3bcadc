-- A QoE rollup mark names the session writer that left it, so that a writer's flush clears only its own marks.
-- Two writers can share the file (the server, and `m3w import media3watch` run beside it): clearing every mark
-- dropped the server's marks for deltas it still held in memory, and a crash of the server then lost them.
-- Marks from before this migration belong to no writer ('') and are repaired at the next start as before.
CREATE TABLE qoe_dirty_by_writer (
  app_id  TEXT NOT NULL,
  minute  INTEGER NOT NULL,
  writer  TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (app_id, minute, writer)
) WITHOUT ROWID;
INSERT INTO qoe_dirty_by_writer (app_id, minute) SELECT app_id, minute FROM qoe_dirty;
DROP TABLE qoe_dirty;
ALTER TABLE qoe_dirty_by_writer RENAME TO qoe_dirty;
