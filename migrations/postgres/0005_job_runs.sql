-- Singleton jobs across instances (issue 12): each run of a job (the minute rollup, the stale-session reaper,
-- retention) claims its bucket here, so several m3w instances on one schema run each (job, bucket) once. Buckets
-- and times come from the database clock (epoch ms). A claim unfinished past its lease belongs to an instance
-- that died: the next run takes it over and redoes it (attempts counts the claims).
CREATE TABLE job_runs (
  job          TEXT NOT NULL,
  bucket       BIGINT NOT NULL,
  claimed_by   TEXT NOT NULL,
  claimed_at   BIGINT NOT NULL,
  finished_at  BIGINT,
  attempts     INTEGER NOT NULL DEFAULT 1,
  PRIMARY KEY (job, bucket)
);
CREATE INDEX job_runs_unfinished ON job_runs(job, bucket) WHERE finished_at IS NULL;

-- A dirty minute taken by a minute job stays (taken) until the job has written its rows, so a run that dies in
-- between leaves it for the next one; a new event for that minute clears the flag again.
ALTER TABLE stream_dirty ADD COLUMN taken BOOLEAN NOT NULL DEFAULT false;

-- Transcode jobs: which instance runs a job, so an instance puts back only its own at start-up and shutdown, and
-- the others adopt a job whose instance stopped giving it progress (it died).
ALTER TABLE video_jobs ADD COLUMN claimed_by TEXT;
