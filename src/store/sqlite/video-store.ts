// The SQLite side of the video library: videos, renditions and the transcode job queue. A job is claimed
// and finished in one transaction each, and every change to a job recomputes its video's status in the same
// transaction, so the status a client reads never disagrees with the jobs.
import type Database from 'better-sqlite3';
import type {
  JobOutcome,
  NewRendition,
  NewVideo,
  ProbedSource,
  RenditionRecord,
  VideoJob,
  VideoListQuery,
  VideoRecord,
  VideoStatus,
  VideoStore,
} from '../video-types.ts';
import { run } from './run-query.ts';

export interface VideoRow {
  id: string;
  app_id: string;
  title: string;
  status: VideoStatus;
  error: string | null;
  upload_length: number | null;
  source_bytes: number | null;
  duration_ms: number | null;
  width: number | null;
  height: number | null;
  source_info: string | null;
  created_at: number;
  updated_at: number;
}

export const toVideo = (r: VideoRow): VideoRecord => ({
  id: r.id,
  appId: r.app_id,
  title: r.title,
  status: r.status,
  error: r.error,
  uploadLength: r.upload_length,
  sourceBytes: r.source_bytes,
  durationMs: r.duration_ms,
  width: r.width,
  height: r.height,
  sourceInfo: r.source_info,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export interface RenditionRow {
  video_id: string;
  app_id: string;
  height: number;
  width: number;
  video_bitrate: number;
  mode: 'encode' | 'copy';
  status: RenditionRecord['status'];
  bandwidth: number | null;
  average_bandwidth: number | null;
  codecs: string | null;
}

export const toRendition = (r: RenditionRow): RenditionRecord => ({
  videoId: r.video_id,
  appId: r.app_id,
  height: r.height,
  width: r.width,
  videoBitrate: r.video_bitrate,
  mode: r.mode,
  status: r.status,
  bandwidth: r.bandwidth,
  averageBandwidth: r.average_bandwidth,
  codecs: r.codecs,
});

export interface JobRow {
  id: number;
  app_id: string;
  video_id: string;
  kind: VideoJob['kind'];
  height: number | null;
  priority: number;
  status: VideoJob['status'];
  attempts: number;
  progress: number;
  error: string | null;
  created_at: number;
  updated_at: number;
}

export const toJob = (r: JobRow): VideoJob => ({
  id: r.id,
  appId: r.app_id,
  videoId: r.video_id,
  kind: r.kind,
  height: r.height,
  priority: r.priority,
  status: r.status,
  attempts: r.attempts,
  progress: r.progress,
  error: r.error,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export const RENDITION_STATUS = { queued: 'queued', running: 'processing', done: 'ready', failed: 'failed' } as const;

/** The video's status from its jobs: what a client sees. */
export function statusFromJobs(jobs: JobRow[]): { status: VideoStatus; error: string | null } {
  if (jobs.length === 0) return { status: 'uploading', error: null };
  const count = (s: JobRow['status']) => jobs.filter((j) => j.status === s).length;
  if (count('done') === jobs.length) return { status: 'ready', error: null };
  if (count('running') > 0) return { status: 'processing', error: null };
  const failed = jobs.find((j) => j.status === 'failed');
  if (failed && count('queued') === 0) return { status: 'failed', error: failed.error };
  if (count('done') > 0 || failed) return { status: 'processing', error: null };
  return { status: 'queued', error: null };
}

export class SqliteVideoStore implements VideoStore {
  private readonly s;

  constructor(private readonly db: Database.Database) {
    this.s = {
      insertVideo: db.prepare(
        `INSERT INTO videos (id, app_id, title, status, upload_length, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING *`,
      ),
      getVideo: db.prepare('SELECT * FROM videos WHERE id = ?'),
      listFirst: db.prepare('SELECT * FROM videos WHERE app_id = ? ORDER BY created_at DESC, id DESC LIMIT ?'),
      listAfter: db.prepare(
        `SELECT * FROM videos WHERE app_id = ? AND (created_at < ? OR (created_at = ? AND id < ?))
         ORDER BY created_at DESC, id DESC LIMIT ?`,
      ),
      rename: db.prepare('UPDATE videos SET title = ?, updated_at = ? WHERE id = ? RETURNING *'),
      touch: db.prepare('UPDATE videos SET updated_at = ? WHERE id = ?'),
      probed: db.prepare(
        `UPDATE videos SET source_bytes = ?, duration_ms = ?, width = ?, height = ?, source_info = ?,
         updated_at = ? WHERE id = ? AND status = 'uploading'`,
      ),
      setStatus: db.prepare('UPDATE videos SET status = ?, error = ?, updated_at = ? WHERE id = ?'),
      deleteVideo: db.prepare('DELETE FROM videos WHERE id = ?'),
      insertRendition: db.prepare(
        `INSERT INTO video_renditions (video_id, app_id, height, width, video_bitrate, mode, status)
         VALUES (?, ?, ?, ?, ?, ?, 'queued')`,
      ),
      renditionStatus: db.prepare('UPDATE video_renditions SET status = ? WHERE video_id = ? AND height = ?'),
      renditionReady: db.prepare(
        `UPDATE video_renditions SET status = 'ready', bandwidth = ?, average_bandwidth = ?, codecs = ?
         WHERE video_id = ? AND height = ?`,
      ),
      renditions: db.prepare('SELECT * FROM video_renditions WHERE video_id = ? ORDER BY height'),
      insertJob: db.prepare(
        `INSERT INTO video_jobs (app_id, video_id, kind, height, priority, status, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, 'queued', ?, ?)`,
      ),
      jobs: db.prepare('SELECT * FROM video_jobs WHERE video_id = ? ORDER BY priority, id'),
      job: db.prepare('SELECT * FROM video_jobs WHERE id = ?'),
      nextJob: db.prepare(
        `SELECT j.* FROM video_jobs j JOIN videos v ON v.id = j.video_id
         WHERE j.status = 'queued' ORDER BY v.created_at, v.id, j.priority, j.id LIMIT 1`,
      ),
      markRunning: db.prepare(
        `UPDATE video_jobs SET status = 'running', attempts = attempts + 1, progress = 0, updated_at = ?
         WHERE id = ? AND status = 'queued' RETURNING *`,
      ),
      progress: db.prepare("UPDATE video_jobs SET progress = ?, updated_at = ? WHERE id = ? AND status = 'running'"),
      finish: db.prepare(
        `UPDATE video_jobs SET status = ?, progress = ?, error = ?, updated_at = ?
         WHERE id = ? AND status = 'running' RETURNING *`,
      ),
      running: db.prepare("SELECT * FROM video_jobs WHERE status = 'running'"),
      requeue: db.prepare("UPDATE video_jobs SET status = 'queued', progress = 0, updated_at = ? WHERE id = ?"),
      failedJobs: db.prepare("SELECT * FROM video_jobs WHERE video_id = ? AND status = 'failed'"),
      retry: db.prepare(
        "UPDATE video_jobs SET status = 'queued', attempts = 0, progress = 0, error = NULL, updated_at = ? WHERE id = ?",
      ),
      staleUploads: db.prepare("SELECT * FROM videos WHERE status = 'uploading' AND updated_at < ?"),
      ids: db.prepare('SELECT id FROM videos').pluck(),
      appIds: db.prepare('SELECT id FROM videos WHERE app_id = ?').pluck(),
    };
  }

  /** Recomputes a video's status from its jobs; returns nothing (same transaction as the change). */
  private refreshStatus(videoId: string, now: number): void {
    const jobs = this.s.jobs.all(videoId) as JobRow[];
    if (jobs.length === 0) return;
    const { status, error } = statusFromJobs(jobs);
    this.s.setStatus.run(status, error, now, videoId);
  }

  private syncRendition(job: JobRow): void {
    if (job.kind === 'rendition' && job.height !== null)
      this.s.renditionStatus.run(RENDITION_STATUS[job.status], job.video_id, job.height);
  }

  async createVideo(v: NewVideo): Promise<VideoRecord> {
    return run('createVideo', () =>
      toVideo(
        this.s.insertVideo.get(v.id, v.appId, v.title, v.status, v.uploadLength, v.createdAt, v.createdAt) as VideoRow,
      ),
    );
  }

  async getVideo(id: string): Promise<VideoRecord | null> {
    const r = run('getVideo', () => this.s.getVideo.get(id)) as VideoRow | undefined;
    return r ? toVideo(r) : null;
  }

  async listVideos(q: VideoListQuery): Promise<{ videos: VideoRecord[]; hasMore: boolean }> {
    const rows = run('listVideos', () =>
      q.before
        ? this.s.listAfter.all(q.appId, q.before.createdAt, q.before.createdAt, q.before.id, q.limit + 1)
        : this.s.listFirst.all(q.appId, q.limit + 1),
    ) as VideoRow[];
    return { videos: rows.slice(0, q.limit).map(toVideo), hasMore: rows.length > q.limit };
  }

  async renameVideo(id: string, title: string, now: number): Promise<VideoRecord | null> {
    const r = run('renameVideo', () => this.s.rename.get(title, now, id)) as VideoRow | undefined;
    return r ? toVideo(r) : null;
  }

  async touchVideo(id: string, now: number): Promise<void> {
    run('touchVideo', () => this.s.touch.run(now, id));
  }

  async queueVideo(
    id: string,
    p: ProbedSource,
    renditions: readonly NewRendition[],
    now: number,
  ): Promise<VideoRecord | null> {
    return run('queueVideo', () =>
      this.db.transaction(() => {
        const v = this.s.getVideo.get(id) as VideoRow | undefined;
        if (v?.status !== 'uploading') return null;
        this.s.probed.run(p.sourceBytes, p.durationMs, p.width, p.height, p.sourceInfo, now, id);
        const sorted = [...renditions].sort((a, b) => a.height - b.height);
        sorted.forEach((r, i) => {
          this.s.insertRendition.run(id, v.app_id, r.height, r.width, r.videoBitrate, r.mode);
          // The lowest rendition first (playable soonest), then the poster and sprite, then upwards.
          this.s.insertJob.run(v.app_id, id, 'rendition', r.height, i === 0 ? 0 : i + 1, now, now);
        });
        this.s.insertJob.run(v.app_id, id, 'thumbnails', null, 1, now, now);
        this.refreshStatus(id, now);
        return toVideo(this.s.getVideo.get(id) as VideoRow);
      })(),
    );
  }

  async deleteVideo(id: string): Promise<boolean> {
    return run('deleteVideo', () => this.s.deleteVideo.run(id).changes > 0);
  }

  async listRenditions(videoId: string): Promise<RenditionRecord[]> {
    return (run('listRenditions', () => this.s.renditions.all(videoId)) as RenditionRow[]).map(toRendition);
  }

  async listVideoJobs(videoId: string): Promise<VideoJob[]> {
    return (run('listVideoJobs', () => this.s.jobs.all(videoId)) as JobRow[]).map(toJob);
  }

  async claimVideoJob(now: number): Promise<VideoJob | null> {
    return run('claimVideoJob', () =>
      this.db.transaction(() => {
        const next = this.s.nextJob.get() as JobRow | undefined;
        if (!next) return null;
        const job = this.s.markRunning.get(now, next.id) as JobRow;
        this.syncRendition(job);
        this.refreshStatus(job.video_id, now);
        return toJob(job);
      })(),
    );
  }

  async setVideoJobProgress(jobId: number, progress: number, now: number): Promise<void> {
    run('setVideoJobProgress', () => this.s.progress.run(Math.max(0, Math.min(1, progress)), now, jobId));
  }

  async finishVideoJob(jobId: number, outcome: JobOutcome, now: number): Promise<VideoJob | null> {
    return run('finishVideoJob', () =>
      this.db.transaction(() => {
        const status = outcome.ok ? 'done' : outcome.retry ? 'queued' : 'failed';
        const job = this.s.finish.get(status, outcome.ok ? 1 : 0, outcome.ok ? null : outcome.error, now, jobId) as
          | JobRow
          | undefined;
        if (!job) return null;
        if (outcome.ok && outcome.rendition && job.height !== null) {
          const r = outcome.rendition;
          this.s.renditionReady.run(r.bandwidth, r.averageBandwidth, r.codecs, job.video_id, job.height);
        } else this.syncRendition(job);
        this.refreshStatus(job.video_id, now);
        return toJob(job);
      })(),
    );
  }

  async requeueRunningVideoJobs(now: number): Promise<VideoJob[]> {
    return run('requeueRunningVideoJobs', () =>
      this.db.transaction(() => {
        const rows = this.s.running.all() as JobRow[];
        for (const r of rows) {
          this.s.requeue.run(now, r.id);
          this.syncRendition({ ...r, status: 'queued' });
          this.refreshStatus(r.video_id, now);
        }
        return rows.map(toJob);
      })(),
    );
  }

  /** One process: a running job is this process's, never abandoned by another. */
  async requeueAbandonedVideoJobs(_staleBefore: number, _now: number): Promise<VideoJob[]> {
    return [];
  }

  async retryFailedVideoJobs(videoId: string, now: number): Promise<number> {
    return run('retryFailedVideoJobs', () =>
      this.db.transaction(() => {
        const rows = this.s.failedJobs.all(videoId) as JobRow[];
        for (const r of rows) {
          this.s.retry.run(now, r.id);
          this.syncRendition({ ...r, status: 'queued' });
        }
        if (rows.length > 0) this.refreshStatus(videoId, now);
        return rows.length;
      })(),
    );
  }

  async listStaleUploads(before: number): Promise<VideoRecord[]> {
    return (run('listStaleUploads', () => this.s.staleUploads.all(before)) as VideoRow[]).map(toVideo);
  }

  async listVideoIds(appId?: string): Promise<string[]> {
    return run('listVideoIds', () => (appId ? this.s.appIds.all(appId) : this.s.ids.all())) as string[];
  }
}
