// The video-library part of the Store contract: videos, their renditions and the transcode job queue.
// Adapters expose it as `store.videos`. Every row carries its app; callers scope reads by it.

export type VideoStatus = 'uploading' | 'queued' | 'processing' | 'ready' | 'failed';
export type RenditionStatus = 'queued' | 'processing' | 'ready' | 'failed';
export type VideoJobStatus = 'queued' | 'running' | 'done' | 'failed';
export type VideoJobKind = 'rendition' | 'thumbnails';

export interface VideoRecord {
  id: string;
  appId: string;
  title: string;
  status: VideoStatus;
  error: string | null;
  uploadLength: number | null;
  sourceBytes: number | null;
  durationMs: number | null;
  width: number | null;
  height: number | null;
  /** JSON written by the media part (codecs, frame rate, bitrate of the source). */
  sourceInfo: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface NewVideo {
  id: string;
  appId: string;
  title: string;
  status: 'uploading';
  uploadLength: number | null;
  createdAt: number;
}

export interface RenditionRecord {
  videoId: string;
  appId: string;
  height: number;
  width: number;
  videoBitrate: number;
  mode: 'encode' | 'copy';
  status: RenditionStatus;
  bandwidth: number | null;
  averageBandwidth: number | null;
  codecs: string | null;
}

export type NewRendition = Pick<RenditionRecord, 'height' | 'width' | 'videoBitrate' | 'mode'>;

export interface VideoJob {
  id: number;
  appId: string;
  videoId: string;
  kind: VideoJobKind;
  height: number | null;
  priority: number;
  status: VideoJobStatus;
  attempts: number;
  progress: number;
  error: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface ProbedSource {
  sourceBytes: number;
  durationMs: number;
  width: number;
  height: number;
  sourceInfo: string;
}

/** What a finished attempt of a job left. */
export type JobOutcome =
  | { ok: true; rendition?: { bandwidth: number; averageBandwidth: number; codecs: string } }
  /** retry: the job goes back to the queue (attempts left); else it fails for good. */
  | { ok: false; error: string; retry: boolean };

export interface VideoListQuery {
  appId: string;
  limit: number;
  /** Where the previous page ended (newest first). */
  before?: { createdAt: number; id: string };
}

export interface VideoStore {
  createVideo(v: NewVideo): Promise<VideoRecord>;
  getVideo(id: string): Promise<VideoRecord | null>;
  listVideos(query: VideoListQuery): Promise<{ videos: VideoRecord[]; hasMore: boolean }>;
  renameVideo(id: string, title: string, now: number): Promise<VideoRecord | null>;
  /** The upload was accepted: records the probe, the planned renditions and one job each (plus thumbnails). */
  queueVideo(
    id: string,
    probed: ProbedSource,
    renditions: readonly NewRendition[],
    now: number,
  ): Promise<VideoRecord | null>;
  /** Deletes the video with its renditions and jobs. */
  deleteVideo(id: string): Promise<boolean>;
  listRenditions(videoId: string): Promise<RenditionRecord[]>;
  listVideoJobs(videoId: string): Promise<VideoJob[]>;
  /** Takes the next queued job (lowest priority value, oldest video first) and marks it running, in one step. */
  claimVideoJob(now: number): Promise<VideoJob | null>;
  setVideoJobProgress(jobId: number, progress: number, now: number): Promise<void>;
  /** Ends the running attempt of a job and recomputes its video's status. */
  finishVideoJob(jobId: number, outcome: JobOutcome, now: number): Promise<VideoJob | null>;
  /**
   * This instance's running jobs go back to the queue (at start-up after a crash, at shutdown); returns them. On
   * SQLite (one process) that is every running job; where several instances share the database, only the jobs this
   * one claimed (another's are running).
   */
  requeueRunningVideoJobs(now: number): Promise<VideoJob[]>;
  /**
   * Running jobs of another instance that were last touched (claimed or given progress) before `staleBefore` go
   * back to the queue: their instance died. Returns them; always none on SQLite (one process).
   */
  requeueAbandonedVideoJobs(staleBefore: number, now: number): Promise<VideoJob[]>;
  /** Failed jobs of a video go back to the queue with fresh attempts; returns how many. */
  retryFailedVideoJobs(videoId: string, now: number): Promise<number>;
  /** Videos still uploading that were last touched before `before` (abandoned uploads). */
  listStaleUploads(before: number): Promise<VideoRecord[]>;
  /** Every video id of an app (removing its files when the app goes). */
  listVideoIds(appId?: string): Promise<string[]>;
  touchVideo(id: string, now: number): Promise<void>;
}
