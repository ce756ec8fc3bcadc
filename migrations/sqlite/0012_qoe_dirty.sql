-- QoE rollup deltas are kept in the session writer's memory across group commits and written every few
-- hundred milliseconds. Each group's transaction marks here the (app, minute) buckets whose deltas it left
-- pending (the hour of each minute is implied); the transaction that writes the deltas deletes the marks.
-- A mark found when the writer starts means a crash lost pending deltas: the writer recomputes those minute
-- rows and their hour rows from the sessions table before it takes any request.
CREATE TABLE qoe_dirty (
  app_id  TEXT NOT NULL,
  minute  INTEGER NOT NULL,
  PRIMARY KEY (app_id, minute)
) WITHOUT ROWID;
