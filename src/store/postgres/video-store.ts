// The Postgres side of the video library, the SQLite adapter's video-store.ts in Postgres spelling (row mapping
// and the status rule shared with it): a job is claimed (FOR UPDATE SKIP LOCKED, so two claimers never take the
// same job) and finished in one transaction each, and every change to a job recomputes its video's status in
// the same transaction.
import type pg from 'pg';
import {
  RENDITION_STATUS,
  statusFromJobs,
  toJob,
  toRendition,
  toVideo,
  type JobRow,
  type RenditionRow,
  type VideoRow,
} from '../sqlite/video-store.ts';
import type {
  JobOutcome,
  NewRendition,
  NewVideo,
  ProbedSource,
  RenditionRecord,
  VideoJob,
  VideoListQuery,
  VideoRecord,
  VideoStore,
} from '../video-types.ts';
import { q, transaction, type Queryable } from './database.ts';

export class PostgresVideoStore implements VideoStore {
  constructor(
    private readonly pool: pg.Pool,
    /** Names this instance's claims (video_jobs.claimed_by), as in job_runs. */
    private readonly instanceId: string,
  ) {}

  /** Recomputes a video's status from its jobs, in the caller's transaction. */
  private async refreshStatus(c: Queryable, videoId: string, now: number): Promise<void> {
    const jobs = (
      await c.query<JobRow>('SELECT * FROM video_jobs WHERE video_id = $1 ORDER BY priority, id', [videoId])
    ).rows;
    if (jobs.length === 0) return;
    const { status, error } = statusFromJobs(jobs);
    await c.query('UPDATE videos SET status = $1, error = $2, updated_at = $3 WHERE id = $4', [
      status,
      error,
      now,
      videoId,
    ]);
  }

  private async syncRendition(c: Queryable, job: JobRow): Promise<void> {
    if (job.kind === 'rendition' && job.height !== null)
      await c.query('UPDATE video_renditions SET status = $1 WHERE video_id = $2 AND height = $3', [
        RENDITION_STATUS[job.status],
        job.video_id,
        job.height,
      ]);
  }

  async createVideo(v: NewVideo): Promise<VideoRecord> {
    const r = await q<VideoRow>(
      this.pool,
      'createVideo',
      `INSERT INTO videos (id, app_id, title, status, upload_length, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *`,
      [v.id, v.appId, v.title, v.status, v.uploadLength, v.createdAt, v.createdAt],
    );
    return toVideo(r.rows[0]!);
  }

  async getVideo(id: string): Promise<VideoRecord | null> {
    const r = await q<VideoRow>(this.pool, 'getVideo', 'SELECT * FROM videos WHERE id = $1', [id]);
    return r.rows[0] ? toVideo(r.rows[0]) : null;
  }

  async listVideos(query: VideoListQuery): Promise<{ videos: VideoRecord[]; hasMore: boolean }> {
    const r = query.before
      ? await q<VideoRow>(
          this.pool,
          'listVideos',
          `SELECT * FROM videos WHERE app_id = $1 AND (created_at < $2 OR (created_at = $2 AND id COLLATE "C" < $3))
           ORDER BY created_at DESC, id COLLATE "C" DESC LIMIT $4`,
          [query.appId, query.before.createdAt, query.before.id, query.limit + 1],
        )
      : await q<VideoRow>(
          this.pool,
          'listVideos',
          'SELECT * FROM videos WHERE app_id = $1 ORDER BY created_at DESC, id COLLATE "C" DESC LIMIT $2',
          [query.appId, query.limit + 1],
        );
    return { videos: r.rows.slice(0, query.limit).map(toVideo), hasMore: r.rows.length > query.limit };
  }

  async renameVideo(id: string, title: string, now: number): Promise<VideoRecord | null> {
    const r = await q<VideoRow>(
      this.pool,
      'renameVideo',
      'UPDATE videos SET title = $1, updated_at = $2 WHERE id = $3 RETURNING *',
      [title, now, id],
    );
    return r.rows[0] ? toVideo(r.rows[0]) : null;
  }

  async touchVideo(id: string, now: number): Promise<void> {
    await q(this.pool, 'touchVideo', 'UPDATE videos SET updated_at = $1 WHERE id = $2', [now, id]);
  }

  async queueVideo(
    id: string,
    p: ProbedSource,
    renditions: readonly NewRendition[],
    now: number,
  ): Promise<VideoRecord | null> {
    return transaction(this.pool, 'queueVideo', async (c) => {
      const v = (await c.query<VideoRow>('SELECT * FROM videos WHERE id = $1 FOR UPDATE', [id])).rows[0];
      if (v?.status !== 'uploading') return null;
      await c.query(
        `UPDATE videos SET source_bytes = $1, duration_ms = $2, width = $3, height = $4, source_info = $5,
         updated_at = $6 WHERE id = $7 AND status = 'uploading'`,
        [p.sourceBytes, p.durationMs, p.width, p.height, p.sourceInfo, now, id],
      );
      const insertJob = (kind: string, height: number | null, priority: number) =>
        c.query(
          `INSERT INTO video_jobs (app_id, video_id, kind, height, priority, status, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, 'queued', $6, $7)`,
          [v.app_id, id, kind, height, priority, now, now],
        );
      const sorted = [...renditions].sort((a, b) => a.height - b.height);
      for (const [i, r] of sorted.entries()) {
        await c.query(
          `INSERT INTO video_renditions (video_id, app_id, height, width, video_bitrate, mode, status)
           VALUES ($1, $2, $3, $4, $5, $6, 'queued')`,
          [id, v.app_id, r.height, r.width, r.videoBitrate, r.mode],
        );
        // The lowest rendition first (playable soonest), then the poster and sprite, then upwards.
        await insertJob('rendition', r.height, i === 0 ? 0 : i + 1);
      }
      await insertJob('thumbnails', null, 1);
      await this.refreshStatus(c, id, now);
      return toVideo((await c.query<VideoRow>('SELECT * FROM videos WHERE id = $1', [id])).rows[0]!);
    });
  }

  async deleteVideo(id: string): Promise<boolean> {
    return ((await q(this.pool, 'deleteVideo', 'DELETE FROM videos WHERE id = $1', [id])).rowCount ?? 0) > 0;
  }

  async listRenditions(videoId: string): Promise<RenditionRecord[]> {
    const r = await q<RenditionRow>(
      this.pool,
      'listRenditions',
      'SELECT * FROM video_renditions WHERE video_id = $1 ORDER BY height',
      [videoId],
    );
    return r.rows.map(toRendition);
  }

  async listVideoJobs(videoId: string): Promise<VideoJob[]> {
    const r = await q<JobRow>(
      this.pool,
      'listVideoJobs',
      'SELECT * FROM video_jobs WHERE video_id = $1 ORDER BY priority, id',
      [videoId],
    );
    return r.rows.map(toJob);
  }

  async claimVideoJob(now: number): Promise<VideoJob | null> {
    return transaction(this.pool, 'claimVideoJob', async (c) => {
      const next = (
        await c.query<JobRow>(
          `SELECT j.* FROM video_jobs j JOIN videos v ON v.id = j.video_id
           WHERE j.status = 'queued' ORDER BY v.created_at, v.id COLLATE "C", j.priority, j.id LIMIT 1
           FOR UPDATE OF j SKIP LOCKED`,
        )
      ).rows[0];
      if (!next) return null;
      const job = (
        await c.query<JobRow>(
          `UPDATE video_jobs SET status = 'running', attempts = attempts + 1, progress = 0, updated_at = $1,
             claimed_by = $3
           WHERE id = $2 AND status = 'queued' RETURNING *`,
          [now, next.id, this.instanceId],
        )
      ).rows[0]!;
      await this.syncRendition(c, job);
      await this.refreshStatus(c, job.video_id, now);
      return toJob(job);
    });
  }

  async setVideoJobProgress(jobId: number, progress: number, now: number): Promise<void> {
    await q(
      this.pool,
      'setVideoJobProgress',
      "UPDATE video_jobs SET progress = $1, updated_at = $2 WHERE id = $3 AND status = 'running'",
      [Math.max(0, Math.min(1, progress)), now, jobId],
    );
  }

  async finishVideoJob(jobId: number, outcome: JobOutcome, now: number): Promise<VideoJob | null> {
    return transaction(this.pool, 'finishVideoJob', async (c) => {
      const status = outcome.ok ? 'done' : outcome.retry ? 'queued' : 'failed';
      const job = (
        await c.query<JobRow>(
          `UPDATE video_jobs SET status = $1, progress = $2, error = $3, updated_at = $4
           WHERE id = $5 AND status = 'running' RETURNING *`,
          [status, outcome.ok ? 1 : 0, outcome.ok ? null : outcome.error, now, jobId],
        )
      ).rows[0];
      if (!job) return null;
      if (outcome.ok && outcome.rendition && job.height !== null) {
        const r = outcome.rendition;
        await c.query(
          `UPDATE video_renditions SET status = 'ready', bandwidth = $1, average_bandwidth = $2, codecs = $3
           WHERE video_id = $4 AND height = $5`,
          [r.bandwidth, r.averageBandwidth, r.codecs, job.video_id, job.height],
        );
      } else await this.syncRendition(c, job);
      await this.refreshStatus(c, job.video_id, now);
      return toJob(job);
    });
  }

  /** This instance's running jobs only: other instances' are running. */
  requeueRunningVideoJobs(now: number): Promise<VideoJob[]> {
    return this.requeue('requeueRunningVideoJobs', 'claimed_by = $1', [this.instanceId], now);
  }

  /** Another instance's running jobs it stopped touching (it died); claims from before claimed_by count too. */
  requeueAbandonedVideoJobs(staleBefore: number, now: number): Promise<VideoJob[]> {
    return this.requeue(
      'requeueAbandonedVideoJobs',
      'claimed_by IS DISTINCT FROM $1 AND updated_at < $2',
      [this.instanceId, staleBefore],
      now,
    );
  }

  private async requeue(operation: string, which: string, params: unknown[], now: number): Promise<VideoJob[]> {
    return transaction(this.pool, operation, async (c) => {
      const rows = (
        await c.query<JobRow>(
          `SELECT * FROM video_jobs WHERE status = 'running' AND ${which} ORDER BY id FOR UPDATE SKIP LOCKED`,
          params,
        )
      ).rows;
      for (const r of rows) {
        await c.query("UPDATE video_jobs SET status = 'queued', progress = 0, updated_at = $1 WHERE id = $2", [
          now,
          r.id,
        ]);
        await this.syncRendition(c, { ...r, status: 'queued' });
        await this.refreshStatus(c, r.video_id, now);
      }
      return rows.map(toJob);
    });
  }

  async retryFailedVideoJobs(videoId: string, now: number): Promise<number> {
    return transaction(this.pool, 'retryFailedVideoJobs', async (c) => {
      const rows = (
        await c.query<JobRow>("SELECT * FROM video_jobs WHERE video_id = $1 AND status = 'failed' FOR UPDATE", [
          videoId,
        ])
      ).rows;
      for (const r of rows) {
        await c.query(
          "UPDATE video_jobs SET status = 'queued', attempts = 0, progress = 0, error = NULL, updated_at = $1 WHERE id = $2",
          [now, r.id],
        );
        await this.syncRendition(c, { ...r, status: 'queued' });
      }
      if (rows.length > 0) await this.refreshStatus(c, videoId, now);
      return rows.length;
    });
  }

  async listStaleUploads(before: number): Promise<VideoRecord[]> {
    const r = await q<VideoRow>(
      this.pool,
      'listStaleUploads',
      "SELECT * FROM videos WHERE status = 'uploading' AND updated_at < $1",
      [before],
    );
    return r.rows.map(toVideo);
  }

  async listVideoIds(appId?: string): Promise<string[]> {
    const r = appId
      ? await q<{ id: string }>(this.pool, 'listVideoIds', 'SELECT id FROM videos WHERE app_id = $1', [appId])
      : await q<{ id: string }>(this.pool, 'listVideoIds', 'SELECT id FROM videos');
    return r.rows.map((x) => x.id);
  }
}
