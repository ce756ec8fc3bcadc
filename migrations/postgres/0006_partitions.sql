-- Partitioning of the large tables (issue 12): sessions by the UTC day of the session start, the minute rollups
-- (qoe_minutes, stream_minutes) by day, the hourly ones (qoe_hours, stream_hours) by month, each range-partitioned
-- on its epoch-ms column with a DEFAULT partition for rows outside every partition. m3w creates partitions ahead
-- (m3w_upkeep_partitions, run by a singleton job) and retention drops whole expired partitions.
--
-- The existing tables are converted with their rows: renamed away, a partitioned table of the same columns
-- created, partitions made for the periods that hold rows (sessions and minutes back to 400 days, hours back to
-- 10 years; older rows go to DEFAULT) and ahead of now, the rows copied, the old table dropped, then keys and
-- indexes built once over the copied rows.
--
-- A unique key of a partitioned table must hold the partition key: sessions are unique on (app_id, session_id,
-- session_start_ms) here. That (app_id, session_id) stays unique is the ingest's job (session-ingest.ts: its
-- transactions run one at a time and a re-sent session whose start moved replaces the stored row).

-- Creates the missing day (or month) partitions of `parent` covering [from_ms, to_ms), UTC. Rows of such a period
-- already in the DEFAULT partition move into the new partition (ATTACH refuses while DEFAULT holds them).
CREATE FUNCTION m3w_add_partitions(parent text, key text, monthly boolean, from_ms bigint, to_ms bigint)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  step interval := CASE WHEN monthly THEN interval '1 month' ELSE interval '1 day' END;
  t timestamp := date_trunc(CASE WHEN monthly THEN 'month' ELSE 'day' END, to_timestamp(from_ms / 1000.0) AT TIME ZONE 'UTC');
  lo bigint;
  hi bigint;
  part text;
  made integer := 0;
BEGIN
  WHILE t < to_timestamp(to_ms / 1000.0) AT TIME ZONE 'UTC' LOOP
    part := parent || to_char(t, CASE WHEN monthly THEN '"_m"YYYYMM' ELSE '"_d"YYYYMMDD' END);
    IF to_regclass(quote_ident(part)) IS NULL THEN
      lo := (extract(epoch FROM t) * 1000)::bigint;
      hi := (extract(epoch FROM t + step) * 1000)::bigint;
      EXECUTE format('CREATE TABLE %I (LIKE %I)', part, parent);
      EXECUTE format('WITH moved AS (DELETE FROM %I WHERE %I >= %s AND %I < %s RETURNING *) INSERT INTO %I SELECT * FROM moved',
        parent || '_default', key, lo, key, hi, part);
      EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%s) TO (%s)', parent, part, lo, hi);
      made := made + 1;
    END IF;
    t := t + step;
  END LOOP;
  RETURN made;
END
$$;

-- Partitions for the periods in [from_ms, to_ms) that have rows in the DEFAULT partition, which move into them:
-- rows written for a day before its partition existed (an import, migrate-store, a long outage of upkeep).
CREATE FUNCTION m3w_adopt_default_rows(parent text, key text, monthly boolean, from_ms bigint, to_ms bigint)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  p bigint;
  made integer := 0;
BEGIN
  FOR p IN EXECUTE format(
    'SELECT DISTINCT (extract(epoch FROM date_trunc(%L, to_timestamp(%I / 1000.0) AT TIME ZONE ''UTC'')) * 1000)::bigint
       FROM %I WHERE %I >= %s AND %I < %s',
    CASE WHEN monthly THEN 'month' ELSE 'day' END, key, parent || '_default', key, from_ms, key, to_ms)
  LOOP
    made := made + m3w_add_partitions(parent, key, monthly, p, p + 1);
  END LOOP;
  RETURN made;
END
$$;

-- What upkeep keeps in place around `now_ms`: partitions for today and the days up to 8 days ahead, for this month
-- and the next 2; and for rows that sit in DEFAULT although their day (back 400 days) or month (back 10 years)
-- could have one.
CREATE FUNCTION m3w_upkeep_partitions(now_ms bigint) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  day_ahead bigint := now_ms + 8 * 86400000::bigint;
  month_ahead bigint := now_ms + 62 * 86400000::bigint;
  days_back bigint := now_ms - 400 * 86400000::bigint;
  months_back bigint := now_ms - 3653 * 86400000::bigint;
  made integer := 0;
  t record;
BEGIN
  FOR t IN SELECT * FROM (VALUES ('sessions', 'session_start_ms', false), ('qoe_minutes', 'minute', false),
    ('stream_minutes', 'minute', false), ('qoe_hours', 'hour', true), ('stream_hours', 'hour', true)) AS x(tbl, key, monthly)
  LOOP
    made := made + m3w_add_partitions(t.tbl, t.key, t.monthly, now_ms, CASE WHEN t.monthly THEN month_ahead ELSE day_ahead END)
      + m3w_adopt_default_rows(t.tbl, t.key, t.monthly, CASE WHEN t.monthly THEN months_back ELSE days_back END,
          CASE WHEN t.monthly THEN month_ahead ELSE day_ahead END);
  END LOOP;
  RETURN made;
END
$$;

-- Only for this migration (dropped at its end): swaps `tbl` for a partitioned copy holding the same rows.
CREATE FUNCTION m3w_repartition_0006(tbl text, key text, monthly boolean, back interval) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  old text := tbl || '_0005';
  unit text := CASE WHEN monthly THEN 'month' ELSE 'day' END;
  now_ms bigint := (extract(epoch FROM now()) * 1000)::bigint;
  since bigint := (extract(epoch FROM now() - back) * 1000)::bigint;
  p bigint;
BEGIN
  EXECUTE format('ALTER TABLE %I RENAME TO %I', tbl, old);
  EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING IDENTITY) PARTITION BY RANGE (%I)', tbl, old, key);
  EXECUTE format('CREATE TABLE %I PARTITION OF %I DEFAULT', tbl || '_default', tbl);
  FOR p IN EXECUTE format(
    'SELECT DISTINCT (extract(epoch FROM date_trunc(%L, to_timestamp(%I / 1000.0) AT TIME ZONE ''UTC'')) * 1000)::bigint
       FROM %I WHERE %I >= %s AND %I < %s',
    unit, key, old, key, since, key, now_ms)
  LOOP
    PERFORM m3w_add_partitions(tbl, key, monthly, p, p + 1);
  END LOOP;
  EXECUTE format('INSERT INTO %I SELECT * FROM %I', tbl, old);
  EXECUTE format('DROP TABLE %I', old);
END
$$;

-- The identity sequence keeps its name on the new table; the old one goes with the old table.
ALTER SEQUENCE sessions_id_seq RENAME TO sessions_0005_id_seq;
SELECT m3w_repartition_0006('sessions', 'session_start_ms', false, interval '400 days');
SELECT m3w_repartition_0006('qoe_minutes', 'minute', false, interval '400 days');
SELECT m3w_repartition_0006('stream_minutes', 'minute', false, interval '400 days');
SELECT m3w_repartition_0006('qoe_hours', 'hour', true, interval '10 years');
SELECT m3w_repartition_0006('stream_hours', 'hour', true, interval '10 years');
DROP FUNCTION m3w_repartition_0006(text, text, boolean, interval);
SELECT m3w_upkeep_partitions((extract(epoch FROM now()) * 1000)::bigint);

-- New ids continue after the copied ones (listSessions pages by id).
SELECT setval(pg_get_serial_sequence('sessions', 'id'), max(id)) FROM sessions HAVING max(id) IS NOT NULL;

ALTER TABLE sessions ADD PRIMARY KEY (id, session_start_ms);
ALTER TABLE sessions ADD CONSTRAINT sessions_app_session_start UNIQUE (app_id, session_id, session_start_ms);
ALTER TABLE sessions ADD FOREIGN KEY (app_id) REFERENCES apps(id) ON DELETE CASCADE;
-- The adapter's look-ups by (app_id, session_id) across partitions use the unique key's first two columns.
CREATE INDEX sessions_app_time ON sessions(app_id, timestamp);
CREATE INDEX sessions_app_errors ON sessions(app_id, timestamp, error_code) WHERE error_count > 0;
CREATE INDEX sessions_time ON sessions(timestamp);

ALTER TABLE stream_minutes ADD PRIMARY KEY (app_id, dimension, value, minute);
CREATE INDEX stream_minutes_time ON stream_minutes(minute);
CREATE INDEX stream_minutes_app ON stream_minutes(app_id, dimension, minute);

ALTER TABLE stream_hours ADD PRIMARY KEY (app_id, dimension, value, hour);
CREATE INDEX stream_hours_time ON stream_hours(hour);
CREATE INDEX stream_hours_app ON stream_hours(app_id, dimension, hour);

ALTER TABLE qoe_minutes ADD PRIMARY KEY (app_id, dimension, value, minute);
CREATE INDEX qoe_minutes_time ON qoe_minutes(app_id, dimension, minute);

ALTER TABLE qoe_hours ADD PRIMARY KEY (app_id, dimension, value, hour);
CREATE INDEX qoe_hours_time ON qoe_hours(app_id, dimension, hour);
