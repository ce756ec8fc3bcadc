// The video library: accepts uploaded files (probe, plan the ladder, queue the jobs), answers a video's status,
// generates its playlists per request with signed URLs, deletes and retries, and recovers after a crash
// (interrupted jobs re-queued, their partial files removed, finished tus uploads that were never queued queued).
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { chmod, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { RenditionRecord, Store, VideoRecord } from '../store/index.ts';
import { discoverFfmpeg, type FfmpegInfo } from './ffmpeg-discovery.ts';
import { parseMediaPlaylist } from './hls-output.ts';
import { ffmpegUnavailableHint, MediaError } from './media-error.ts';
import { ensureRoom, MediaPaths } from './media-paths.ts';
import { multipartBoundary, receiveMultipart } from './multipart-upload.ts';
import { probeSource, type SourceInfo } from './probe-source.ts';
import { planLadder } from './rendition-ladder.ts';
import type { SpritePlan } from './transcode-args.ts';
import { ABANDONED_JOB_MS, TranscodeRunner } from './transcode-runner.ts';
import { UrlSigner } from './url-signer.ts';

export interface MediaConfig {
  dataDirPath: string;
  ffmpegPath: string | null;
  maxUploadBytes: number;
  minFreeDiskBytes: number;
  maxDurationHours: number;
  playbackUrlTtlSeconds: number;
  transcode: { encoder: string; preset: string; concurrency: number; stallSeconds: number };
}

export interface MediaLog {
  info(fields: Record<string, unknown>, msg: string): void;
  warn(fields: Record<string, unknown>, msg: string): void;
}

/** The status of a video as the API and the live topic show it. */
export interface VideoView {
  id: string;
  appId: string;
  title: string;
  status: VideoRecord['status'];
  progress: number;
  error?: string;
  durationMs: number | null;
  width: number | null;
  height: number | null;
  renditions: Array<{
    height: number;
    bandwidth: number | null;
    codecs: string | null;
    status: RenditionRecord['status'];
  }>;
  posterUrl: string | null;
  createdAt: number;
}

/** Signs a path for the current viewer (the route knows who that is). */
export type SignPath = (pathname: string) => string;

const TITLE_MAX = 200;
const STALE_UPLOAD_MS = 24 * 3600_000;

export const UNTITLED = 'Untitled video';

/** A title as given; when absent, `fallback` (uploads) or a 400 (renaming). */
export function cleanTitle(raw: unknown, fallback?: string): string {
  if ((raw === undefined || raw === null || raw === '') && fallback !== undefined) return fallback;
  if (typeof raw !== 'string') throw new MediaError('INVALID_SCHEMA', 'title must be a string');
  const t = raw.replace(/[\u0000-\u001f\u007f]/g, ' ').trim();
  if (t.length === 0 || t.length > TITLE_MAX)
    throw new MediaError('INVALID_SCHEMA', `title must be 1 to ${TITLE_MAX} characters`);
  return t;
}

/** A title from a client's file name: the name only, never a path, without its extension. */
export function titleFromFilename(name: string | null | undefined): string | undefined {
  if (!name) return undefined;
  const base = name
    .split(/[\\/]/)
    .pop()!
    .replace(/\.[A-Za-z0-9]{1,5}$/, '')
    .replace(/[\u0000-\u001f\u007f]/g, ' ')
    .trim();
  return base ? base.slice(0, TITLE_MAX) : undefined;
}

export class VideoLibrary {
  readonly paths: MediaPaths;
  readonly signer: UrlSigner;
  private readonly runner: TranscodeRunner;
  private readonly events = new EventEmitter();
  private ffmpegInfo: Promise<FfmpegInfo | null> | null = null;

  constructor(
    private readonly store: Store,
    readonly config: MediaConfig,
    private readonly log: MediaLog,
  ) {
    this.paths = new MediaPaths(config.dataDirPath);
    this.signer = new UrlSigner(config.dataDirPath);
    this.events.setMaxListeners(0);
    this.runner = new TranscodeRunner({
      store,
      paths: this.paths,
      ffmpeg: async () => {
        const info = await this.ffmpeg();
        return info ? { path: info.ffmpeg.path, encoder: info.encoder } : null;
      },
      preset: config.transcode.preset,
      concurrency: config.transcode.concurrency,
      stallSeconds: config.transcode.stallSeconds,
      changed: (id) => this.changed(id),
      log: (level, msg, fields) => this.log[level](fields, msg),
    });
  }

  /** ffmpeg and ffprobe as found (discovered once, in the background from start-up). */
  ffmpeg(): Promise<FfmpegInfo | null> {
    this.ffmpegInfo ??= discoverFfmpeg({ ffmpegPath: this.config.ffmpegPath, encoder: this.config.transcode.encoder });
    return this.ffmpegInfo;
  }

  async requireFfmpeg(): Promise<FfmpegInfo> {
    const info = await this.ffmpeg();
    if (!info)
      throw new MediaError(
        'FFMPEG_UNAVAILABLE',
        `video upload needs ffmpeg and ffprobe: ${ffmpegUnavailableHint(this.config.ffmpegPath)}`,
      );
    return info;
  }

  async start(): Promise<void> {
    await this.paths.ensure();
    // Not awaited: the test encodes take a moment and m3w starts without ffmpeg anyway.
    void this.ffmpeg().then((info) => {
      if (info)
        this.log.info(
          { ffmpeg: info.ffmpeg.path, source: info.ffmpeg.source, version: info.ffmpeg.version, encoder: info.encoder },
          'ffmpeg found',
        );
      else if (this.config.ffmpegPath === 'none') this.log.info({}, 'ffmpegPath is "none": video upload is off');
      else this.log.warn({ hint: ffmpegUnavailableHint(null) }, 'ffmpeg not found: video upload is off');
    });
    await this.recover();
    this.runner.start();
  }

  async stop(): Promise<void> {
    await this.runner.stop();
  }

  /**
   * After a crash: jobs left running go back to the queue without their partial files; dead uploads go. With
   * several instances sharing the database and mediaDir, the others are working meanwhile: only this instance's
   * jobs and those a dead instance abandoned are re-queued, and files are removed only once they are old enough
   * that no live instance can be writing them.
   */
  private async recover(): Promise<void> {
    const now = Date.now();
    const shared = this.store.sharedByInstances;
    const requeued = await this.store.videos.requeueRunningVideoJobs(now);
    for (const j of requeued) await this.paths.removePartials(j.videoId);
    // A dead instance's partial folders stay: other jobs of the same video may be running elsewhere.
    requeued.push(...(await this.store.videos.requeueAbandonedVideoJobs(now - ABANDONED_JOB_MS, now)));
    if (requeued.length > 0) this.log.info({ jobs: requeued.length }, 'interrupted transcode jobs re-queued');
    const settled = async (file: string) => !shared || (await stat(file)).mtimeMs < now - STALE_UPLOAD_MS;
    // Multipart uploads cannot resume: a .part file is an interrupted one.
    for (const name of await readdir(this.paths.uploads)) {
      const file = path.join(this.paths.uploads, name);
      if (name.endsWith('.part') && (await settled(file).catch(() => false))) await rm(file, { force: true });
    }
    for (const v of await this.store.videos.listStaleUploads(now - STALE_UPLOAD_MS)) await this.remove(v.id);
    // Folders whose video row is gone (its app was deleted, or a crash between the two deletes).
    const known = new Set(await this.store.videos.listVideoIds());
    for (const name of await readdir(this.paths.videos)) {
      const dir = path.join(this.paths.videos, name);
      if (!known.has(name) && (await settled(dir).catch(() => false))) await rm(dir, { recursive: true, force: true });
    }
    // A tus upload that finished just before the crash, before its video was queued (finished like any other, so
    // its tus metadata file goes too; with several instances: one untouched for a while, not one another instance
    // is accepting right now).
    for (const v of await this.store.videos.listStaleUploads(shared ? now - ABANDONED_JOB_MS : now + 1)) {
      const size = await stat(this.paths.tusFile(v.id)).then(
        (s) => s.size,
        () => -1,
      );
      if (v.uploadLength !== null && size === v.uploadLength)
        await this.finishUpload(v.id).catch((err) =>
          this.log.warn({ videoId: v.id, err: (err as Error).message }, 'finished upload refused after restart'),
        );
    }
  }

  newVideoId(): string {
    return randomBytes(12).toString('base64url');
  }

  onChange(listener: (videoId: string) => void): () => void {
    this.events.on('change', listener);
    return () => this.events.off('change', listener);
  }

  private changed(videoId: string): void {
    this.events.emit('change', videoId);
  }

  /**
   * The simple upload: a multipart body streamed to disk, then `appFor(fields)` says which app it is for
   * (and throws when the caller may not upload there); then it is probed and queued.
   */
  async uploadMultipart(
    body: ReadableStream<Uint8Array> | null,
    contentType: string | null,
    contentLength: number | null,
    appFor: (fields: Record<string, string>) => Promise<string>,
  ): Promise<VideoRecord> {
    await this.requireFfmpeg();
    multipartBoundary(contentType); // a wrong request is refused before the disk is looked at
    if (contentLength !== null && contentLength > this.config.maxUploadBytes + 64 * 1024)
      throw new MediaError(
        'PAYLOAD_TOO_LARGE',
        `the upload (${contentLength} bytes) is over the limit of ${this.config.maxUploadBytes} bytes (maxUploadBytes)`,
      );
    await ensureRoom(this.paths.uploads, contentLength ?? 0, this.config.minFreeDiskBytes);
    const id = this.newVideoId();
    const incoming = this.paths.incoming(id);
    const { fields, fileBytes } = await receiveMultipart(body, contentType, incoming, {
      maxFileBytes: this.config.maxUploadBytes,
      diskDir: this.paths.uploads,
      keepFreeBytes: this.config.minFreeDiskBytes,
    });
    try {
      if (fileBytes === null) throw new MediaError('INVALID_SCHEMA', 'file: the form has no "file" part');
      const appId = await appFor(fields);
      const title = cleanTitle(fields.title, UNTITLED);
      const video = await this.store.videos.createVideo({
        id,
        appId,
        title,
        status: 'uploading',
        uploadLength: fileBytes,
        createdAt: Date.now(),
      });
      return await this.acceptSource(video, incoming);
    } catch (err) {
      await rm(incoming, { force: true });
      throw err;
    }
  }

  /** A tus upload is created: its video row, status "uploading". */
  async createUpload(id: string, appId: string, title: string, uploadLength: number | null): Promise<VideoRecord> {
    return this.store.videos.createVideo({
      id,
      appId,
      title,
      status: 'uploading',
      uploadLength,
      createdAt: Date.now(),
    });
  }

  /** A tus upload finished: probe and queue it (its bytes are deleted when refused). */
  async finishUpload(id: string): Promise<VideoRecord> {
    const video = await this.store.videos.getVideo(id);
    if (!video) throw new MediaError('NOT_FOUND', 'no such upload');
    await rm(`${this.paths.tusFile(id)}.json`, { force: true });
    return this.acceptSource(video, this.paths.tusFile(id));
  }

  /** Probes an uploaded file and queues its jobs; refuses it (file and row removed) when it is no usable video. */
  private async acceptSource(video: VideoRecord, file: string): Promise<VideoRecord> {
    try {
      const ff = await this.requireFfmpeg();
      const size = (await stat(file)).size;
      if (size === 0) throw new MediaError('INVALID_SCHEMA', 'file: the upload is empty (0 bytes)');
      const src = await probeSource(ff.ffprobe.path, file, this.config.maxDurationHours);
      await this.paths.makeVideoDir(video.id);
      const source = this.paths.source(video.id);
      await rename(file, source);
      await chmod(source, 0o600);
      const ladder = planLadder(src);
      const queued = await this.store.videos.queueVideo(
        video.id,
        {
          sourceBytes: size,
          durationMs: src.durationMs,
          width: src.width,
          height: src.height,
          sourceInfo: JSON.stringify(src),
        },
        ladder,
        Date.now(),
      );
      if (!queued) throw new MediaError('NOT_FOUND', 'the video was deleted during its upload');
      this.log.info(
        { videoId: video.id, appId: video.appId, renditions: ladder.map((r) => `${r.height}p:${r.mode}`).join(',') },
        'video queued',
      );
      this.runner.notify();
      this.changed(video.id);
      return queued;
    } catch (err) {
      await rm(file, { force: true });
      await this.remove(video.id);
      throw err;
    }
  }

  /** A tus upload received bytes: it is not abandoned. */
  touch(id: string): Promise<void> {
    return this.store.videos.touchVideo(id, Date.now());
  }

  get(id: string): Promise<VideoRecord | null> {
    return this.store.videos.getVideo(id);
  }

  list(appId: string, limit: number, before?: { createdAt: number; id: string }) {
    return this.store.videos.listVideos({ appId, limit, before });
  }

  async rename(id: string, title: unknown): Promise<VideoRecord | null> {
    const v = await this.store.videos.renameVideo(id, cleanTitle(title), Date.now());
    if (v) this.changed(id);
    return v;
  }

  /** Deletes a video: its running ffmpeg is killed, every file and row removed. */
  async remove(id: string): Promise<boolean> {
    this.runner.cancelVideo(id);
    const existed = await this.store.videos.deleteVideo(id);
    await this.paths.removeVideo(id);
    this.changed(id);
    return existed;
  }

  /**
   * An app is being deleted (`deleteRows` removes its rows, videos included): its ffmpeg runs are stopped and the
   * files of its videos and uploads in progress removed now, not at the next start.
   */
  async removeApp(appId: string, deleteRows: () => Promise<void>): Promise<void> {
    const ids = await this.store.videos.listVideoIds(appId);
    await deleteRows();
    for (const id of ids) {
      this.runner.cancelVideo(id);
      await this.paths.removeVideo(id);
      this.changed(id);
    }
  }

  async retry(id: string): Promise<number> {
    const n = await this.store.videos.retryFailedVideoJobs(id, Date.now());
    if (n > 0) {
      this.runner.notify();
      this.changed(id);
    }
    return n;
  }

  async view(video: VideoRecord, sign: SignPath | null): Promise<VideoView> {
    const [renditions, jobs] = await Promise.all([
      this.store.videos.listRenditions(video.id),
      this.store.videos.listVideoJobs(video.id),
    ]);
    let progress = 0;
    if (video.status === 'ready') progress = 1;
    else if (video.status === 'uploading') {
      const size = await stat(this.paths.tusFile(video.id)).then(
        (s) => s.size,
        () => 0,
      );
      progress = video.uploadLength ? Math.min(1, size / video.uploadLength) : 0;
    } else if (jobs.length > 0) {
      const live = this.runner.progressOf(video.id);
      const sum = jobs.reduce(
        (acc, j) => acc + (j.status === 'done' ? 1 : j.status === 'running' ? (live.get(j.id) ?? j.progress) : 0),
        0,
      );
      progress = Math.round((sum / jobs.length) * 1000) / 1000;
    }
    const thumbsDone = jobs.some((j) => j.kind === 'thumbnails' && j.status === 'done');
    return {
      id: video.id,
      appId: video.appId,
      title: video.title,
      status: video.status,
      progress,
      ...(video.error ? { error: video.error } : {}),
      durationMs: video.durationMs,
      width: video.width,
      height: video.height,
      renditions: renditions.map((r) => ({
        height: r.height,
        bandwidth: r.bandwidth,
        codecs: r.codecs,
        status: r.status,
      })),
      posterUrl: thumbsDone && sign ? sign(`/media/${video.id}/thumbs/poster.jpg`) : null,
      createdAt: video.createdAt,
    };
  }

  /** The master playlist with the renditions ready now (progressive publish), or null when none is. */
  async masterPlaylist(video: VideoRecord, sign: SignPath): Promise<string | null> {
    const ready = (await this.store.videos.listRenditions(video.id)).filter((r) => r.status === 'ready');
    if (ready.length === 0) return null;
    const src = video.sourceInfo ? (JSON.parse(video.sourceInfo) as SourceInfo) : null;
    const fps = src ? Math.min(src.fps, 60).toFixed(3) : null;
    const lines = ['#EXTM3U', '#EXT-X-VERSION:7', '#EXT-X-INDEPENDENT-SEGMENTS'];
    for (const r of ready.sort((a, b) => a.height - b.height)) {
      const attrs = [
        `BANDWIDTH=${r.bandwidth}`,
        `AVERAGE-BANDWIDTH=${r.averageBandwidth}`,
        `RESOLUTION=${r.width}x${r.height}`,
        `CODECS="${r.codecs}"`,
        ...(fps ? [`FRAME-RATE=${fps}`] : []),
      ];
      lines.push(`#EXT-X-STREAM-INF:${attrs.join(',')}`, sign(`/media/${video.id}/${r.height}p/index.m3u8`));
    }
    return `${lines.join('\n')}\n`;
  }

  private readonly playlistCache = new Map<string, { mtimeMs: number; text: string }>();

  /** A rendition's VOD playlist with its init and segment URLs signed; null when the rendition is not ready. */
  async mediaPlaylist(videoId: string, rendition: string, sign: SignPath): Promise<string | null> {
    const file = path.join(this.paths.videoDir(videoId), rendition, 'index.m3u8');
    let text: string;
    try {
      const s = await stat(file);
      const hit = this.playlistCache.get(file);
      if (hit && hit.mtimeMs === s.mtimeMs) text = hit.text;
      else {
        text = await readFile(file, 'utf8');
        if (this.playlistCache.size > 500) this.playlistCache.clear();
        this.playlistCache.set(file, { mtimeMs: s.mtimeMs, text });
      }
    } catch {
      return null;
    }
    const base = `/media/${videoId}/${rendition}/`;
    const safe = /^[A-Za-z0-9_.-]{1,64}$/;
    return text
      .split('\n')
      .map((line) => {
        if (line.startsWith('#EXT-X-MAP:'))
          return line.replace(/URI="([^"]+)"/, (_m, uri: string) =>
            safe.test(uri) ? `URI="${sign(base + uri)}"` : _m,
          );
        if (line && !line.startsWith('#') && safe.test(line.trim())) return sign(base + line.trim());
        return line;
      })
      .join('\n');
  }

  /** The WebVTT thumbnails track for the seek preview, pointing into the signed sprite. */
  async thumbnailsTrack(videoId: string, sign: SignPath): Promise<string | null> {
    let plan: SpritePlan;
    try {
      plan = JSON.parse(
        await readFile(path.join(this.paths.thumbnailsDir(videoId), 'sprite.json'), 'utf8'),
      ) as SpritePlan;
    } catch {
      return null;
    }
    const sprite = sign(`/media/${videoId}/thumbs/sprite.jpg`);
    const ts = (s: number) => {
      const h = Math.floor(s / 3600);
      const m = Math.floor((s % 3600) / 60);
      const sec = s % 60;
      return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${sec.toFixed(3).padStart(6, '0')}`;
    };
    const out = ['WEBVTT', ''];
    for (let i = 0; i < plan.count; i++) {
      const x = (i % plan.columns) * plan.thumbWidth;
      const y = Math.floor(i / plan.columns) * plan.thumbHeight;
      out.push(
        `${ts(i * plan.intervalSec)} --> ${ts((i + 1) * plan.intervalSec)}`,
        `${sprite}#xywh=${x},${y},${plan.thumbWidth},${plan.thumbHeight}`,
        '',
      );
    }
    return out.join('\n');
  }

  /** Checks a media playlist's segment list (tests and repair). */
  static segmentsOf(playlist: string): string[] {
    return parseMediaPlaylist(playlist).entries.map((e) => e.uri);
  }
}
