// m3w's browser QoE reporter: attached to a <video> (and optionally the page's hls.js), it measures one playback
// session the way the Media3Watch SDKs do and posts it as a SessionSummary to m3w's POST /v1/sessions — on end,
// every 30 s while playing, and when the page is hidden. Each report carries the same sessionId and a newer
// timestamp, so the server keeps the latest. No dependency: it is served alone at /sdk/m3w-web.js (window.M3W).

import type { SessionSummary } from '../../src/wire/session-summary.ts';

/**
 * The SessionSummary fields this reporter fills, each always present (null when unknown), and `custom` when the
 * page gives it. The type is the server's schema (src/wire/session-summary.ts), imported, so the two cannot drift.
 */
export type SessionReport = Required<
  Pick<
    SessionSummary,
    | 'sessionId'
    | 'timestamp'
    | 'sessionStartDateIso'
    | 'sessionDurationMs'
    | 'startupTimeMs'
    | 'rebufferTimeMs'
    | 'playTimeMs'
    | 'rebufferCount'
    | 'rebufferRatio'
    | 'totalSeekCount'
    | 'totalSeekTimeMs'
    | 'totalDroppedFrames'
    | 'meanVideoFormatBitrate'
    | 'errorCount'
    | 'errorCode'
    | 'contentId'
    | 'contentTitle'
    | 'streamType'
    | 'playerName'
    | 'playerVersion'
    | 'os'
    | 'deviceModel'
  >
> &
  Pick<SessionSummary, 'custom'>;

/** The slice of an hls.js instance the reporter reads; any hls.js 1.x fits. */
export interface HlsLike {
  levels?: Array<{ bitrate?: number } | undefined>;
  currentLevel?: number;
  on(event: string, fn: (event: string, data: unknown) => void): void;
  off(event: string, fn: (event: string, data: unknown) => void): void;
}

/** How reports are authenticated: an app's ingest key (third-party pages) or m3w's short-lived playback token. */
export type ReporterAuth = { apiKey: string } | { token: string };

export interface ReporterOptions {
  /** Where to post: m3w's POST /v1/sessions URL. Defaults to /v1/sessions on the origin that served this SDK. */
  endpoint?: string;
  auth: ReporterAuth;
  /** Called when the server refuses the credential (401), e.g. an expired playback token; resolve a fresh one. */
  refreshAuth?: () => Promise<ReporterAuth | null>;
  contentId?: string | null;
  contentTitle?: string | null;
  hls?: HlsLike | null;
  /** The current video bitrate in bit/s when there is no hls.js (e.g. native HLS with one known rendition). */
  bitrate?: () => number | null | undefined;
  playerName?: string;
  playerVersion?: string | null;
  custom?: Record<string, string | number | boolean> | null;
  /** Default 30 000 ms. */
  reportIntervalMs?: number;
  /** Sees every report after it was posted (status 0 when the network failed); for pages and tests. */
  onReport?: (report: SessionReport, status: number) => void;
}

export interface Reporter {
  readonly sessionId: string;
  /** The session as it would be reported now. */
  snapshot(): SessionReport;
  /** Posts the current summary now. */
  report(): Promise<number>;
  /** Replaces the credential (a renewed playback token) for the reports that follow. */
  setAuth(auth: ReporterAuth): void;
  /** Posts a last summary (unless nothing was played) and stops listening. */
  detach(): Promise<void>;
}

/** A playhead that has not moved for this long while it should is a stall, even without a `waiting` event. */
const STALL_AFTER_MS = 500;
const TICK_MS = 100;
const SCRIPT_ORIGIN = (() => {
  try {
    const src = (document.currentScript as HTMLScriptElement | null)?.src;
    return src ? new URL(src).origin : null;
  } catch {
    return null;
  }
})();

function randomId(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/** The OS family from the user agent: enough for Breakdowns, without fingerprinting. */
export function osFromUserAgent(ua: string): string | null {
  if (/Android/i.test(ua)) return 'Android';
  if (/iPhone|iPad|iPod/i.test(ua)) return 'iOS';
  if (/CrOS/i.test(ua)) return 'ChromeOS';
  if (/Windows/i.test(ua)) return 'Windows';
  if (/Mac OS X|Macintosh/i.test(ua)) return 'macOS';
  if (/Linux/i.test(ua)) return 'Linux';
  return null;
}

function mediaErrorCode(video: HTMLVideoElement): string {
  const code = video.error?.code;
  const names: Record<number, string> = {
    1: 'MEDIA_ERR_ABORTED',
    2: 'MEDIA_ERR_NETWORK',
    3: 'MEDIA_ERR_DECODE',
    4: 'MEDIA_ERR_SRC_NOT_SUPPORTED',
  };
  return (code && names[code]) || 'MEDIA_ERR_UNKNOWN';
}

/** Starts measuring `video` now. Attach before calling play() (or before autoplay starts) to measure startup. */
export function attach(video: HTMLVideoElement, options: ReporterOptions): Reporter {
  const sessionId = randomId();
  const startedAt = Date.now();
  const endpoint = options.endpoint ?? `${SCRIPT_ORIGIN ?? location.origin}/v1/sessions`;
  const interval = options.reportIntervalMs ?? 30_000;
  let auth = options.auth;

  // Clocks: performance.now() for durations (monotonic), Date.now() only for wall-clock fields.
  const now = () => performance.now();
  let playRequestedAt: number | null = null;
  let positionAtPlay = 0;
  let startupTimeMs: number | null = null;
  let started = false;
  let lastTickAt = now();
  let lastPosition = video.currentTime;
  let lastMovedAt = now();
  let stallStartedAt: number | null = null;
  let rebufferTimeMs = 0;
  let rebufferCount = 0;
  let playTimeMs = 0;
  let bitrateTimeMs = 0;
  let bitrateWeighted = 0;
  let seekStartedAt: number | null = null;
  let totalSeekCount = 0;
  let totalSeekTimeMs = 0;
  let droppedBase = 0;
  let droppedLast = 0;
  let errorCount = 0;
  let errorCode: string | null = null;
  let lastReportAt = 0;
  let lastTimestamp = 0;
  let detached = false;

  const currentBitrate = (): number | null => {
    const hls = options.hls;
    if (hls?.levels && typeof hls.currentLevel === 'number' && hls.currentLevel >= 0) {
      const b = hls.levels[hls.currentLevel]?.bitrate;
      if (typeof b === 'number' && b > 0) return b;
    }
    const b = options.bitrate?.();
    return typeof b === 'number' && b > 0 ? b : null;
  };

  const droppedFrames = (): number | null => {
    if (typeof video.getVideoPlaybackQuality !== 'function') return null;
    const d = video.getVideoPlaybackQuality().droppedVideoFrames;
    // A new source resets the element's counter; keep what was counted before.
    if (d < droppedLast) droppedBase += droppedLast;
    droppedLast = d;
    return droppedBase + d;
  };

  const endStall = (at: number) => {
    if (stallStartedAt === null) return;
    rebufferTimeMs += Math.max(0, at - stallStartedAt);
    stallStartedAt = null;
  };

  const markStarted = (at: number) => {
    if (started) return;
    started = true;
    if (playRequestedAt !== null) startupTimeMs = Math.max(0, Math.round(at - playRequestedAt));
    lastMovedAt = at;
    lastTickAt = at;
    // A first report as soon as it plays, so a session whose page dies without a pagehide still counts.
    void send(false);
  };

  // The heart of it: sample the playhead. Moving → playing (time and bitrate accrue); stuck while it should
  // move → a stall, counted from the moment it was last seen moving.
  const tick = () => {
    const t = now();
    const position = video.currentTime;
    const shouldMove = !video.paused && !video.seeking && !video.ended;
    const moved = position !== lastPosition;
    if (!started) {
      if (playRequestedAt !== null && moved && !video.paused && position > positionAtPlay) markStarted(t);
    } else if (moved && !video.seeking) {
      if (stallStartedAt !== null) endStall(t);
      else if (shouldMove) {
        const dt = t - lastTickAt;
        playTimeMs += dt;
        const b = currentBitrate();
        if (b !== null) {
          bitrateWeighted += b * dt;
          bitrateTimeMs += dt;
        }
      }
      lastMovedAt = t;
    } else if (shouldMove && stallStartedAt === null && t - lastMovedAt >= STALL_AFTER_MS) {
      stallStartedAt = lastMovedAt;
      rebufferCount++;
    } else if (!shouldMove) {
      endStall(t);
      lastMovedAt = t;
    }
    lastPosition = position;
    lastTickAt = t;
    if (started && shouldMove && Date.now() - lastReportAt >= interval) void send(false);
  };

  const snapshot = (): SessionReport => {
    const t = now();
    const rebuffer = Math.round(rebufferTimeMs + (stallStartedAt !== null ? t - stallStartedAt : 0));
    const play = Math.round(playTimeMs);
    const dropped = droppedFrames();
    const timestamp = Math.max(Date.now(), lastTimestamp + 1);
    lastTimestamp = timestamp;
    const duration = video.duration;
    return {
      sessionId,
      timestamp,
      sessionStartDateIso: new Date(startedAt).toISOString(),
      sessionDurationMs: Math.max(1, timestamp - startedAt),
      startupTimeMs,
      rebufferTimeMs: rebuffer,
      playTimeMs: play,
      rebufferCount,
      rebufferRatio: play + rebuffer > 0 ? rebuffer / (play + rebuffer) : null,
      totalSeekCount,
      totalSeekTimeMs: Math.round(totalSeekTimeMs),
      totalDroppedFrames: dropped,
      meanVideoFormatBitrate: bitrateTimeMs > 0 ? Math.round(bitrateWeighted / bitrateTimeMs) : null,
      errorCount,
      errorCode,
      contentId: options.contentId ?? null,
      contentTitle: options.contentTitle ?? null,
      streamType: Number.isFinite(duration) ? 'vod' : duration === Number.POSITIVE_INFINITY ? 'live' : null,
      playerName: options.playerName ?? 'm3w-web',
      playerVersion: options.playerVersion ?? null,
      os: osFromUserAgent(navigator.userAgent),
      deviceModel: null,
      ...(options.custom ? { custom: options.custom } : {}),
    };
  };

  const post = (report: SessionReport, keepalive: boolean): Promise<number> => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if ('apiKey' in auth) headers['x-api-key'] = auth.apiKey;
    else headers.authorization = `Bearer ${auth.token}`;
    // fetch with keepalive, not sendBeacon: a beacon cannot carry the Authorization or X-API-Key header, and
    // keepalive requests outlive the page just the same.
    return fetch(endpoint, {
      method: 'POST',
      headers,
      body: JSON.stringify(report),
      keepalive,
      credentials: 'omit',
      mode: 'cors',
    }).then(
      (r) => r.status,
      () => 0,
    );
  };

  async function send(leaving: boolean): Promise<number> {
    lastReportAt = Date.now();
    const report = snapshot();
    let status = await post(report, leaving);
    if (status === 401 && !leaving && options.refreshAuth) {
      const fresh = await options.refreshAuth().catch(() => null);
      if (fresh) {
        auth = fresh;
        status = await post({ ...report, timestamp: Math.max(Date.now(), ++lastTimestamp) }, false);
      }
    }
    options.onReport?.(report, status);
    return status;
  }

  const played = () => started || errorCount > 0 || playRequestedAt !== null;

  const on: Record<string, (ev: Event) => void> = {
    play: () => {
      if (playRequestedAt === null) {
        playRequestedAt = now();
        positionAtPlay = video.currentTime;
      }
      lastMovedAt = now();
    },
    seeking: () => {
      endStall(now());
      if (seekStartedAt === null) seekStartedAt = now();
      totalSeekCount++;
    },
    seeked: () => {
      if (seekStartedAt !== null) totalSeekTimeMs += now() - seekStartedAt;
      seekStartedAt = null;
      lastMovedAt = now();
      lastPosition = video.currentTime;
    },
    pause: () => {
      endStall(now());
    },
    ended: () => {
      tick();
      endStall(now());
      void send(false);
    },
    error: () => {
      errorCount++;
      errorCode = mediaErrorCode(video);
      void send(false);
    },
  };
  for (const [name, fn] of Object.entries(on)) video.addEventListener(name, fn);
  // Attached late: playing already (startup unknown, so null rather than a wrong figure), or about to start.
  if (!video.paused && video.currentTime > 0) {
    started = true;
    lastReportAt = Date.now();
  } else if (!video.paused) on.play!(new Event('play'));

  const onHlsError = (_event: string, data: unknown) => {
    const d = data as { fatal?: boolean; details?: string; type?: string };
    if (!d?.fatal) return; // hls.js recovers from the others by itself
    errorCount++;
    errorCode = `hls:${d.details ?? d.type ?? 'error'}`.slice(0, 128);
    void send(false);
  };
  options.hls?.on('hlsError', onHlsError);

  const onHide = () => {
    if (document.visibilityState === 'hidden' && played()) void send(true);
  };
  const onPageHide = () => {
    if (played()) void send(true);
  };
  document.addEventListener('visibilitychange', onHide);
  window.addEventListener('pagehide', onPageHide);

  // requestVideoFrameCallback times the first frame exactly; the interval does the rest (and covers browsers
  // without it). Background tabs slow the interval down, which only coarsens, not skews, the figures.
  const timer = setInterval(tick, TICK_MS);
  const v = video as HTMLVideoElement & {
    requestVideoFrameCallback?: (cb: (now: number, meta: { mediaTime: number }) => void) => number;
  };
  const onFrame = (_t: number, meta: { mediaTime: number }) => {
    if (detached || started) return;
    if (playRequestedAt !== null && !video.paused && meta.mediaTime > positionAtPlay) {
      markStarted(now());
      lastPosition = video.currentTime;
    } else v.requestVideoFrameCallback?.(onFrame);
  };
  v.requestVideoFrameCallback?.(onFrame);

  return {
    sessionId,
    snapshot,
    report: () => send(false),
    setAuth(next) {
      auth = next;
    },
    async detach() {
      if (detached) return;
      detached = true;
      clearInterval(timer);
      for (const [name, fn] of Object.entries(on)) video.removeEventListener(name, fn);
      options.hls?.off('hlsError', onHlsError);
      document.removeEventListener('visibilitychange', onHide);
      window.removeEventListener('pagehide', onPageHide);
      if (played()) await send(false);
    },
  };
}
