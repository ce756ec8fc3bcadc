// The transcode queue's workers: `concurrency` loops that each claim a job from the store, run ffmpeg at low
// priority into a .partial folder, and publish it by renaming the folder into place, so a rendition is either
// absent or complete. Progress comes from `-progress pipe:1`; a watchdog kills an ffmpeg whose progress stops
// advancing for stallSeconds. A failed attempt is retried (up to 2 times), then the job fails with ffmpeg's
// last error lines. Deleting a video kills its running ffmpeg at once.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { setPriority } from 'node:os';
import path from 'node:path';
import type { RenditionRecord, Store, VideoJob } from '../store/index.ts';
import { codecsFromInit, measureRendition } from './hls-output.ts';
import type { MediaPaths } from './media-paths.ts';
import type { SourceInfo } from './probe-source.ts';
import { planSprite, posterArgs, renditionArgs, spriteArgs } from './transcode-args.ts';

export const MAX_ATTEMPTS = 3;
/** Several instances: a running job nobody touched for this long belongs to a dead instance and is re-queued. */
export const ABANDONED_JOB_MS = 60_000;
/** Several instances: a running job is touched this often (progress saved) to show its instance is alive. */
const HEARTBEAT_MS = 15_000;
/** ffmpeg runs at this nice value, so transcoding never starves the server (or a Raspberry Pi's desktop). */
const NICE = 10;
const STDERR_LINES = 8;

export interface RunnerOptions {
  store: Store;
  paths: MediaPaths;
  ffmpeg: () => Promise<{ path: string; encoder: string } | null>;
  preset: string;
  concurrency: number;
  stallSeconds: number;
  /** A video's status or progress changed. */
  changed(videoId: string): void;
  log(level: 'info' | 'warn', msg: string, fields: Record<string, unknown>): void;
}

interface Running {
  job: VideoJob;
  child: ChildProcess | null;
  cancelled: boolean;
  progress: number;
}

class StalledError extends Error {}

async function privatise(dir: string): Promise<void> {
  await chmod(dir, 0o700);
  for (const name of await readdir(dir)) await chmod(path.join(dir, name), 0o600);
}

export class TranscodeRunner {
  private readonly running = new Map<number, Running>();
  private wake: (() => void) | null = null;
  private stopped = false;
  private loops: Promise<void>[] = [];
  private lastAdoption = 0;

  constructor(private readonly o: RunnerOptions) {}

  start(): void {
    for (let i = 0; i < this.o.concurrency; i++) this.loops.push(this.loop());
  }

  /** Something was queued: idle workers look now. */
  notify(): void {
    this.wake?.();
  }

  /** Progress of the running jobs of a video (0..1 each), by job id. */
  progressOf(videoId: string): Map<number, number> {
    const out = new Map<number, number>();
    for (const r of this.running.values()) if (r.job.videoId === videoId) out.set(r.job.id, r.progress);
    return out;
  }

  /** Kills a video's running ffmpeg (the video is being deleted). */
  cancelVideo(videoId: string): void {
    for (const r of this.running.values())
      if (r.job.videoId === videoId) {
        r.cancelled = true;
        r.child?.kill('SIGKILL');
      }
  }

  /** Stops the workers; running jobs are killed and go back to the queue for the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const r of this.running.values()) {
      r.cancelled = true;
      r.child?.kill('SIGKILL');
    }
    this.wake?.();
    await Promise.all(this.loops);
  }

  /** Several instances: jobs a dead instance left running go back to the queue, looked for twice a lease. */
  private async adoptAbandoned(): Promise<void> {
    const now = Date.now();
    if (!this.o.store.sharedByInstances || now - this.lastAdoption < ABANDONED_JOB_MS / 2) return;
    this.lastAdoption = now;
    const jobs = await this.o.store.videos.requeueAbandonedVideoJobs(now - ABANDONED_JOB_MS, now);
    if (jobs.length > 0) this.o.log('info', 'abandoned transcode jobs re-queued', { jobs: jobs.map((j) => j.id) });
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      let job: VideoJob | null = null;
      try {
        await this.adoptAbandoned();
        job = await this.o.store.videos.claimVideoJob(Date.now());
      } catch (err) {
        this.o.log('warn', 'transcode queue unavailable', { err });
      }
      if (!job) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 2000);
          this.wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        continue;
      }
      this.o.changed(job.videoId);
      await this.runJob(job);
    }
  }

  private async runJob(job: VideoJob): Promise<void> {
    const r: Running = { job, child: null, cancelled: false, progress: 0 };
    this.running.set(job.id, r);
    const name = job.kind === 'rendition' ? `${job.height}p` : 'thumbs';
    const partial = this.o.paths.partialDir(job.videoId, name);
    // Several instances: keep the job visibly alive (ffmpeg's progress alone pauses between steps).
    const heartbeat = this.o.store.sharedByInstances
      ? setInterval(
          () => void this.o.store.videos.setVideoJobProgress(job.id, r.progress, Date.now()).catch(() => {}),
          HEARTBEAT_MS,
        )
      : null;
    heartbeat?.unref();
    try {
      const ff = await this.o.ffmpeg();
      if (!ff) throw new Error('ffmpeg is not available');
      const video = await this.o.store.videos.getVideo(job.videoId);
      if (!video?.sourceInfo) throw new Error('the video is gone');
      const src = JSON.parse(video.sourceInfo) as SourceInfo;
      const source = this.o.paths.source(job.videoId);
      await mkdir(partial, { mode: 0o700 });
      let rendition: { bandwidth: number; averageBandwidth: number; codecs: string } | undefined;
      if (job.kind === 'rendition') {
        const planned = (await this.o.store.videos.listRenditions(job.videoId)).find(
          (x: RenditionRecord) => x.height === job.height,
        );
        if (!planned) throw new Error(`no planned rendition ${job.height}p`);
        await this.ffmpeg(
          r,
          ff.path,
          renditionArgs({
            source,
            outDir: partial,
            src,
            rendition: planned,
            encoder: ff.encoder,
            preset: this.o.preset,
          }),
          src.durationMs,
        );
        const m = await measureRendition(partial);
        const init = await readFile(path.join(partial, 'init.mp4'));
        rendition = {
          bandwidth: m.bandwidth,
          averageBandwidth: m.averageBandwidth,
          codecs: codecsFromInit(init, src.audio?.profile, src.audio !== null),
        };
      } else {
        await this.ffmpeg(r, ff.path, posterArgs(source, path.join(partial, 'poster.jpg'), src), 0);
        const plan = planSprite(src);
        await this.ffmpeg(r, ff.path, spriteArgs(source, path.join(partial, 'sprite.jpg'), plan), src.durationMs);
        await writeFile(path.join(partial, 'sprite.json'), JSON.stringify(plan), { mode: 0o600 });
      }
      if (r.cancelled) throw new Error('cancelled');
      await privatise(partial);
      const final = path.join(this.o.paths.videoDir(job.videoId), name);
      await rm(final, { recursive: true, force: true });
      await rename(partial, final);
      await this.o.store.videos.finishVideoJob(job.id, { ok: true, rendition }, Date.now());
      this.o.log('info', 'transcode job done', { videoId: job.videoId, job: name, attempt: job.attempts });
    } catch (err) {
      await rm(partial, { recursive: true, force: true }).catch(() => {});
      if (r.cancelled && this.stopped) {
        // Shutting down: the job goes back to the queue for the next start, like after a crash.
        await this.o.store.videos.requeueRunningVideoJobs(Date.now()).catch(() => {});
      } else if (!r.cancelled) {
        const message = err instanceof Error ? err.message : String(err);
        const retry = job.attempts < MAX_ATTEMPTS;
        this.o.log('warn', 'transcode job failed', { videoId: job.videoId, job: name, attempt: job.attempts, message });
        await this.o.store.videos
          .finishVideoJob(job.id, { ok: false, error: message.slice(0, 2000), retry }, Date.now())
          .catch(() => {});
      }
    } finally {
      if (heartbeat) clearInterval(heartbeat);
      this.running.delete(job.id);
      this.o.changed(job.videoId);
    }
  }

  /** Runs ffmpeg; resolves on success, rejects with its last error lines (or a stall) otherwise. */
  private ffmpeg(r: Running, file: string, args: string[], durationMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      if (r.cancelled) return reject(new Error('cancelled'));
      const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      r.child = child;
      try {
        if (child.pid) setPriority(child.pid, NICE);
      } catch {}
      const stderr: string[] = [];
      let lastOutTime = -1;
      let lastAdvance = Date.now();
      let lastSaved = 0;
      let stalled = false;
      let pending = '';
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => {
        pending += chunk;
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) {
          const m = /^out_time_(?:us|ms)=(\d+)/.exec(line);
          if (!m) continue;
          const us = Number(m[1]);
          if (us > lastOutTime) {
            lastOutTime = us;
            lastAdvance = Date.now();
            if (durationMs > 0) r.progress = Math.min(1, us / 1000 / durationMs);
            if (Date.now() - lastSaved > 1000) {
              lastSaved = Date.now();
              void this.o.store.videos.setVideoJobProgress(r.job.id, r.progress, lastSaved).catch(() => {});
              this.o.changed(r.job.videoId);
            }
          }
        }
      });
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (chunk: string) => {
        for (const line of chunk.split('\n')) if (line.trim()) stderr.push(line.trim());
        if (stderr.length > STDERR_LINES) stderr.splice(0, stderr.length - STDERR_LINES);
      });
      const watchdog = setInterval(() => {
        if (Date.now() - lastAdvance > this.o.stallSeconds * 1000) {
          stalled = true;
          child.kill('SIGKILL');
        }
      }, 1000);
      child.on('error', (err) => {
        clearInterval(watchdog);
        reject(err);
      });
      child.on('close', (code, signal) => {
        clearInterval(watchdog);
        r.child = null;
        if (stalled)
          return reject(new StalledError(`ffmpeg made no progress for ${this.o.stallSeconds} s and was stopped`));
        if (code === 0) return resolve();
        const why = stderr.join('\n') || `ffmpeg exited with ${signal ?? `code ${code}`}`;
        reject(new Error(why));
      });
    });
  }
}
