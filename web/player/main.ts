// The player pages: /watch/<id> for signed-in viewers (session cookie) and /embed/<id>?token=… for guests on
// other sites (a guest token for video:<id>). Asks m3w for a signed playlist URL, plays it with hls.js (loaded
// only here, never in the dashboard), and reports the session's QoE with the m3w-web reporter under the short-
// lived playback credential the server hands out with the URL — no key in the page.
import './player.css';
import Hls from 'hls.js/light';
import type { PlaybackGrant as Playback } from '../../src/wire/playback.ts';
import type { Video } from '../../src/wire/videos.ts';
import { attach, type Reporter, type ReporterAuth } from '../sdk/m3w-web.ts';

/** What the player reads of GET /api/v1/videos/{id} (a guest may not read it: then nothing). */
type VideoInfo = Partial<Pick<Video, 'appId' | 'title' | 'posterUrl' | 'renditions'>>;

class PlaybackRefused extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const match = /^\/(watch|embed)\/([A-Za-z0-9_-]{1,64})\/?$/.exec(location.pathname);
const mode = match?.[1] as 'watch' | 'embed' | undefined;
const videoId = match?.[2] ?? '';
const guestToken = new URLSearchParams(location.search).get('token');
const stage = document.getElementById('player')!;
const titleEl = document.getElementById('title');
const backLink = document.getElementById('back') as HTMLAnchorElement | null;
// Framed (an embed on another site, or the dashboard's video page): nothing but the video.
if (mode === 'embed' || window.self !== window.top) document.documentElement.classList.add('embedded');

function say(text: string, link?: { href: string; label: string }): void {
  const box = document.createElement('div');
  box.className = 'message';
  box.setAttribute('role', 'alert');
  const p = document.createElement('p');
  p.textContent = text;
  box.append(p);
  if (link) {
    const a = document.createElement('a');
    a.href = link.href;
    a.textContent = link.label;
    box.append(a);
  }
  stage.replaceChildren(box);
}

function csrfToken(): string {
  const m = /(?:^|;\s*)m3w_csrf=([^;]*)/.exec(document.cookie);
  return m ? decodeURIComponent(m[1]!) : '';
}

/** A call as this viewer: the guest token on /embed, the session cookie (and CSRF header) on /watch. */
async function call(method: 'GET' | 'POST', path: string): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (mode === 'embed') headers.authorization = `Bearer ${guestToken}`;
  else if (method !== 'GET') headers['x-csrf-token'] = csrfToken();
  if (method === 'POST') headers['content-type'] = 'application/json';
  const send = () =>
    fetch(path, {
      method,
      headers,
      credentials: mode === 'embed' ? 'omit' : 'same-origin',
      body: method === 'POST' ? '{}' : undefined,
    });
  let res = await send();
  // An expired access cookie: refresh the session once, as the dashboard does.
  if (res.status === 401 && mode === 'watch') {
    const refreshed = await fetch('/api/v1/auth/refresh', {
      method: 'POST',
      headers: { 'x-csrf-token': csrfToken(), 'content-type': 'application/json' },
      credentials: 'same-origin',
      body: '{}',
    });
    if (refreshed.ok) res = await send();
  }
  return res;
}

async function requestPlayback(): Promise<Playback> {
  const res = await call('POST', `/api/v1/videos/${encodeURIComponent(videoId)}/playback`);
  if (!res.ok) {
    let message = `m3w answered ${res.status}`;
    try {
      message = ((await res.json()) as { error?: { message?: string } }).error?.message ?? message;
    } catch {}
    throw new PlaybackRefused(res.status, message);
  }
  return (await res.json()) as Playback;
}

async function videoInfo(): Promise<VideoInfo | null> {
  // A guest token may play the video but not read its record (it would answer 401, an error in the console
  // of every site that embeds it); the embed shows no title anyway.
  if (mode === 'embed') return null;
  try {
    const res = await call('GET', `/api/v1/videos/${encodeURIComponent(videoId)}`);
    return res.ok ? ((await res.json()) as VideoInfo) : null;
  } catch {
    return null;
  }
}

function refused(err: unknown): void {
  if (err instanceof PlaybackRefused && err.status === 401 && mode === 'watch')
    say('Sign in to watch this video.', {
      href: `/login?next=${encodeURIComponent(location.pathname)}`,
      label: 'Sign in',
    });
  else if (err instanceof PlaybackRefused && err.status === 401)
    say('This link has expired or is not valid. Ask whoever shared it for a new one.');
  else if (err instanceof PlaybackRefused && (err.status === 404 || err.status === 403))
    say('There is no such video, or you may not watch it.');
  else if (err instanceof PlaybackRefused && err.status === 409) say(`Not ready to play yet: ${err.message}`);
  else say(`The video could not be loaded: ${(err as Error).message}`);
}

async function start(): Promise<void> {
  if (!mode) return say('No such video page.');
  // Opened on its own (a shared /watch link): a way back to the video's page in the dashboard.
  if (backLink && mode === 'watch') backLink.href = `/videos/${encodeURIComponent(videoId)}`;
  if (mode === 'embed' && !guestToken) return say('This embed link has no token: it should end with ?token=…');
  let playback: Playback;
  const info = await Promise.all([requestPlayback(), videoInfo()]).catch((err) => {
    refused(err);
    return null;
  });
  if (!info) return;
  [playback] = info;
  const meta = info[1];
  if (backLink && meta?.appId)
    backLink.href = `/videos/${encodeURIComponent(videoId)}?app=${encodeURIComponent(meta.appId)}`;
  if (meta?.title) {
    document.title = `${meta.title} · m3w`;
    if (titleEl) titleEl.textContent = meta.title;
  }

  const video = document.createElement('video');
  video.controls = true;
  video.playsInline = true;
  video.preload = 'metadata';
  if (meta?.posterUrl) video.poster = meta.posterUrl;
  const params = new URLSearchParams(location.search);
  if (params.get('autoplay') === '1') {
    video.autoplay = true;
    video.muted = params.get('muted') !== '0';
  }
  stage.replaceChildren(video);

  let hls: Hls | null = null;
  let reporter: Reporter | null = null;
  const refreshAuth = async (): Promise<ReporterAuth | null> => {
    const fresh = await requestPlayback().catch(() => null);
    return fresh?.qoe ? { token: fresh.qoe.token } : null;
  };
  const report = (h: Hls | null) => {
    if (!playback.qoe) return;
    reporter = attach(video, {
      endpoint: playback.qoe.endpoint,
      auth: { token: playback.qoe.token },
      refreshAuth,
      contentId: videoId,
      contentTitle: meta?.title ?? null,
      hls: h,
      playerName: 'm3w-player',
      playerVersion: Hls.version,
      custom: { page: mode },
    });
    video.dataset.sessionId = reporter.sessionId;
    renewBefore(playback.qoe.expiresAt);
  };
  // The QoE token is short-lived: renew it ahead of time, so that even the report sent while the page is being
  // left (which cannot wait for a renewal) carries a valid one.
  let renewal: ReturnType<typeof setTimeout> | undefined;
  const renewBefore = (expiresAt: number) => {
    clearTimeout(renewal);
    const inMs = Math.max(10_000, expiresAt - Date.now() - 60_000);
    renewal = setTimeout(
      async () => {
        const fresh = await requestPlayback().catch(() => null);
        if (fresh?.qoe && reporter) {
          reporter.setAuth({ token: fresh.qoe.token });
          renewBefore(fresh.qoe.expiresAt);
        } else renewBefore(Date.now() + 120_000);
      },
      Math.min(inMs, 2 ** 31 - 1),
    );
  };

  if (Hls.isSupported()) {
    // fMP4 segments need no transmuxing, so no worker (and no blob: worker in the CSP).
    hls = new Hls({ enableWorker: false, startLevel: -1, capLevelToPlayerSize: true });
    report(hls);
    let retried = false;
    hls.on(Hls.Events.ERROR, (_e, data) => {
      if (!data.fatal || !hls) return;
      if (data.type === Hls.ErrorTypes.MEDIA_ERROR && !retried) {
        retried = true;
        hls.recoverMediaError();
      } else if (data.type === Hls.ErrorTypes.NETWORK_ERROR && !retried) {
        // Most likely the signed URLs expired (a long pause): ask for fresh ones and carry on where it was.
        retried = true;
        const at = video.currentTime;
        void requestPlayback().then(
          (fresh) => {
            playback = fresh;
            hls?.loadSource(fresh.url);
            hls?.startLoad(at);
            setTimeout(() => (retried = false), 10_000);
          },
          (err) => refused(err),
        );
      } else say(`Playback failed (${data.details}).`);
    });
    hls.loadSource(playback.url);
    hls.attachMedia(video);
  } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
    // Safari on iPhone: no MediaSource, but HLS natively.
    report(null);
    video.src = playback.url;
  } else return say('This browser cannot play HLS video.');

  // Leaving for good (back/forward cache aside): a last report, then let go of the player.
  window.addEventListener('pagehide', (ev) => {
    if (ev.persisted) return;
    void reporter?.detach();
  });
}

void start();
