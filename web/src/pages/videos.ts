// Videos: resumable upload (tus) with a progress bar, the app's videos with status, progress and rendition chips
// kept live over the WebSocket (video:<id>), retry and delete; /videos/<id> plays one (the /watch page in a
// frame, so hls.js never enters the dashboard's bundle), renames it, shares an embed code and links to its QoE
// sessions. When the server has no ffmpeg, the page says how to install it instead of offering a form.
import './videos.css';
import {
  type ApiError,
  ApiFailure,
  api,
  type GuestToken,
  get,
  type HealthDetails,
  qs,
  type Rendition,
  refreshSession,
  type Video,
  type VideoList,
  type VideoRetryAnswer,
  type VideoUpdate,
} from '../api.ts';
import type { PageContext } from '../context.ts';
import { copyButton, h, replace } from '../dom.ts';
import { fmtTime } from '../format.ts';

export type VideoStatus = Video['status'];
export type { Rendition, Video };

const STATUS_LABEL: Record<VideoStatus, string> = {
  uploading: 'Uploading',
  queued: 'Queued',
  processing: 'Transcoding',
  ready: 'Ready',
  failed: 'Failed',
};

const FFMPEG_HELP =
  'Install ffmpeg and restart m3w: on Debian or Ubuntu `sudo apt install ffmpeg`, on macOS `brew install ffmpeg`, ' +
  'or put an ffmpeg executable beside the m3w executable, or point `ffmpegPath` (M3W_FFMPEG) at one.';

function csrfToken(): string {
  const m = /(?:^|;\s*)m3w_csrf=([^;]*)/.exec(document.cookie);
  return m ? decodeURIComponent(m[1]!) : '';
}

function fmtDuration(ms: number | null | undefined): string {
  if (!ms) return '–';
  const s = Math.round(ms / 1000);
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return hh ? `${hh}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

function fmtBytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(1)} GB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MB`;
  return `${Math.max(1, Math.round(n / 1024))} KB`;
}

/** Merges a live update into the video: the server may send the whole video or just what changed. */
export function mergeVideo(v: Video, update: unknown): Video {
  if (typeof update !== 'object' || update === null) return v;
  const u = update as Partial<Video> & { video?: Partial<Video> };
  const patch = u.video && typeof u.video === 'object' ? u.video : u;
  const next = { ...v };
  for (const key of ['title', 'status', 'progress', 'error', 'durationMs', 'width', 'height', 'posterUrl'] as const)
    if (key in patch) (next as Record<string, unknown>)[key] = patch[key];
  if (Array.isArray(patch.renditions)) next.renditions = patch.renditions;
  return next;
}

/** The title a file gets when none is typed: its name without the extension ("Summer trip.mp4" → "Summer trip"). */
export function titleFromFileName(name: string): string {
  return name.replace(/\.[A-Za-z0-9]{1,5}$/, '').trim() || name;
}

function statusChip(v: Video): HTMLElement {
  const pct = Math.round((v.progress ?? 0) * 100);
  return h(
    'span',
    { class: `chip status-${v.status}`, 'data-status': v.status },
    STATUS_LABEL[v.status] ?? v.status,
    v.status === 'processing' || v.status === 'uploading' ? ` ${pct} %` : null,
  );
}

function renditionChips(v: Video): HTMLElement {
  const sorted = [...(v.renditions ?? [])].sort((a, b) => b.height - a.height);
  return h(
    'span',
    { class: 'renditions' },
    sorted.map((r) =>
      h(
        'span',
        {
          class: `chip rendition rendition-${r.status}`,
          title: `${r.height}p · ${Math.round((r.bandwidth ?? 0) / 1000)} kbit/s · ${r.codecs} · ${r.status}`,
        },
        `${r.height}p`,
        r.status === 'ready' ? ' ✓' : r.status === 'failed' ? ' ✕' : ' …',
      ),
    ),
  );
}

function playable(v: Video): boolean {
  return v.status === 'ready' || (v.renditions ?? []).some((r) => r.status === 'ready');
}

function settled(v: Video): boolean {
  return v.status === 'failed' || (v.status === 'ready' && (v.renditions ?? []).every((r) => r.status === 'ready'));
}

function ffmpegMissing(message?: string): HTMLElement {
  return h(
    'section',
    { class: 'card ffmpeg-missing', role: 'alert' },
    h('h2', {}, 'ffmpeg is needed to host video'),
    h('p', {}, message || 'This m3w server has no ffmpeg, so it cannot transcode uploads.'),
    h('p', {}, FFMPEG_HELP),
    h('p', { class: 'muted' }, 'Everything else in m3w works without it. `m3w doctor` says which ffmpeg it finds.'),
  );
}

/**
 * The server's install hint when it says it has no ffmpeg (GET /api/v1/health: ffmpeg.available false), else
 * null; an older server says nothing, and an upload's 503 FFMPEG_UNAVAILABLE still brings the explanation.
 */
async function ffmpegKnownMissing(): Promise<string | null> {
  try {
    const f = (await get<HealthDetails>('/api/v1/health')).ffmpeg;
    if (f?.available !== false) return null;
    return f.hint ?? '';
  } catch {
    return null;
  }
}

function uploadCard(ctx: PageContext, onCreated: () => void, onFfmpegMissing: (message: string) => void): HTMLElement {
  const file = h('input', { type: 'file', name: 'file', accept: 'video/*', required: true });
  const title = h('input', { name: 'title', placeholder: 'the file’s name if empty', maxlength: '200' });
  const bar = h('progress', { max: '1', value: '0', 'aria-label': 'Upload progress', hidden: true });
  const status = h('span', { class: 'muted', role: 'status' });
  const error = h('p', { class: 'error', role: 'alert' });
  const submit = h('button', { type: 'submit' }, 'Upload');
  const cancel = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Pause');
  const form = h(
    'form',
    { class: 'upload-form' },
    h('label', { class: 'field' }, h('span', {}, 'Video file'), file),
    h('label', { class: 'field' }, h('span', {}, 'Title'), title),
    h('div', { class: 'actions' }, submit, cancel),
    h('div', { class: 'upload-progress' }, bar, status),
    error,
  );

  let current: { abort(): Promise<void>; start(): void } | null = null;
  let paused = false;
  cancel.addEventListener('click', () => {
    if (!current) return;
    if (paused) {
      paused = false;
      cancel.textContent = 'Pause';
      status.textContent = 'Resuming…';
      current.start();
    } else {
      paused = true;
      cancel.textContent = 'Resume';
      status.textContent = 'Paused — the upload resumes where it stopped, even after a reload.';
      void current.abort();
    }
  });

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const chosen = file.files?.[0];
    error.textContent = '';
    if (!chosen) {
      error.textContent = 'Choose a video file first.';
      return;
    }
    if (!ctx.app) {
      error.textContent = 'Create an app in Settings first: videos belong to an app.';
      return;
    }
    submit.disabled = true;
    bar.hidden = false;
    bar.value = 0;
    status.textContent = 'Starting…';
    // Loaded on first use: the tus client is not part of the dashboard's first load.
    const { Upload } = await import('tus-js-client');
    const startedAt = performance.now();
    const upload = new Upload(chosen, {
      endpoint: '/api/v1/uploads',
      chunkSize: 8 * 1024 * 1024,
      retryDelays: [0, 1000, 3000, 5000, 10000, 20000],
      removeFingerprintOnSuccess: true,
      metadata: { filename: chosen.name, title: title.value.trim() || titleFromFileName(chosen.name), appId: ctx.app },
      // The CSRF header on every request (cookies ride along on this origin); read fresh, it may rotate.
      onBeforeRequest(req) {
        req.setHeader('x-csrf-token', csrfToken());
      },
      onShouldRetry(err) {
        const s = err.originalResponse?.getStatus() ?? 0;
        // An expired access cookie mid-upload: refresh it and go on (the retry delay covers the refresh).
        if (s === 401) {
          void refreshSession();
          return true;
        }
        // Permanent refusals (no ffmpeg, disk full, bad file) are shown at once; the network and busy servers retried.
        if ((err.originalResponse?.getBody() ?? '').includes('"code"')) return false;
        return s === 0 || s === 409 || s === 423 || s === 502 || s === 503 || s === 504;
      },
      onUploadUrlAvailable() {
        onCreated();
      },
      onProgress(sent, total) {
        bar.value = total ? sent / total : 0;
        const secs = (performance.now() - startedAt) / 1000;
        const rate = secs > 0.5 ? ` · ${fmtBytes(sent / secs)}/s` : '';
        status.textContent = `${Math.floor((sent / total) * 100)} % of ${fmtBytes(total)}${rate}`;
      },
      onSuccess() {
        current = null;
        submit.disabled = false;
        cancel.hidden = true;
        bar.value = 1;
        status.textContent = `Uploaded ${chosen.name}; transcoding follows below.`;
        form.reset();
        onCreated();
      },
      onError(err) {
        current = null;
        submit.disabled = false;
        cancel.hidden = true;
        bar.hidden = true;
        status.textContent = '';
        const res = (err as { originalResponse?: { getStatus(): number; getBody(): string } | null }).originalResponse;
        let code = '';
        let message = err.message;
        try {
          const e = JSON.parse(res?.getBody() ?? '') as ApiError;
          code = e.error?.code ?? '';
          message = e.error?.message ?? message;
        } catch {}
        if (code === 'FFMPEG_UNAVAILABLE') return onFfmpegMissing(message);
        // Said as what happened to this file; the server's message names the problem.
        error.textContent = res
          ? `“${chosen.name}” was not accepted: ${message}`
          : `Uploading “${chosen.name}” failed: ${message}. Check the connection and upload it again; it resumes where it stopped.`;
      },
    });
    current = upload;
    paused = false;
    cancel.hidden = false;
    cancel.textContent = 'Pause';
    // A file uploaded before (same name, size, date) continues where it stopped instead of starting over.
    const previous = await upload.findPreviousUploads().catch(() => []);
    if (previous[0]) upload.resumeFromPreviousUpload(previous[0]);
    upload.start();
  });
  return h('section', { class: 'card' }, h('h2', {}, 'Upload a video'), form);
}

function notHosted(main: HTMLElement): void {
  replace(
    main,
    h('h1', {}, 'Videos'),
    h(
      'section',
      { class: 'card' },
      h('h2', {}, 'Video hosting is not available'),
      h('p', {}, 'This m3w server does not host video yet (its /api/v1/videos answers 404). Update m3w to use it.'),
    ),
  );
}

async function listPage(ctx: PageContext): Promise<void> {
  const { main, app, live } = ctx;
  const rows = new Map<
    string,
    { video: Video; row: HTMLTableRowElement; unsubscribe: () => void; followed: boolean }
  >();
  const tbody = h('tbody');
  const listBox = h('div', { class: 'table-wrap' }, h('p', { class: 'loading' }, 'Loading…'));
  const more = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Load more');
  const uploadSlot = h('div');
  let next: string | null = null;

  const showFfmpegMissing = (message?: string) => replace(uploadSlot, ffmpegMissing(message));

  const drawRow = (v: Video, row: HTMLTableRowElement) => {
    const retry = h('button', { type: 'button', class: 'secondary', hidden: v.status !== 'failed' }, 'Retry');
    retry.addEventListener('click', async () => {
      retry.disabled = true;
      try {
        const res = await api<VideoRetryAnswer>('POST', `/api/v1/videos/${encodeURIComponent(v.id)}/retry`, {});
        update(res.video);
      } catch (err) {
        retry.disabled = false;
        if (err instanceof ApiFailure && err.code === 'FFMPEG_UNAVAILABLE') showFfmpegMissing(err.message);
        else alert(`Could not retry “${v.title}”: ${(err as Error).message}`);
      }
    });
    const del = h('button', { type: 'button', class: 'danger' }, 'Delete');
    del.addEventListener('click', async () => {
      if (!confirm(`Delete “${v.title}” and all its files? Links to it stop working.`)) return;
      del.disabled = true;
      try {
        await api('DELETE', `/api/v1/videos/${encodeURIComponent(v.id)}`);
        remove(v.id);
      } catch (err) {
        del.disabled = false;
        alert(`Could not delete “${v.title}”: ${(err as Error).message}`);
      }
    });
    const progress =
      v.status === 'processing' || v.status === 'uploading'
        ? h('progress', { max: '1', value: String(v.progress ?? 0), 'aria-label': `Progress of ${v.title}` })
        : null;
    replace(
      row,
      h(
        'td',
        { class: 'video-title' },
        h('a', { href: `/videos/${encodeURIComponent(v.id)}${qs({ app })}` }, v.title || v.id),
        v.error ? h('div', { class: 'error small' }, v.error) : null,
      ),
      h('td', {}, statusChip(v), progress),
      h('td', {}, renditionChips(v)),
      h('td', { class: 'num' }, fmtDuration(v.durationMs)),
      h('td', {}, fmtTime(v.createdAt)),
      h('td', { class: 'actions' }, retry, del),
    );
    row.dataset.status = v.status;
  };

  const remove = (id: string) => {
    const e = rows.get(id);
    if (!e) return;
    e.unsubscribe();
    rows.delete(id);
    e.row.remove();
    showListOrEmpty();
  };

  // Follows a video over the WebSocket while it changes; a retried video (failed, so no longer followed) is
  // followed again, so its chips go live once more.
  const follow = (entry: { video: Video; unsubscribe: () => void; followed: boolean }) => {
    if (entry.followed || settled(entry.video)) return;
    entry.followed = true;
    const id = entry.video.id;
    entry.unsubscribe = live.subscribe(
      `video:${id}`,
      (data) => {
        const e = rows.get(id);
        if (!e) return;
        // Deleted elsewhere (another tab, the API), or refused once uploaded (not a video): it leaves the list.
        if ((data as VideoUpdate).status === 'deleted') remove(id);
        else update(mergeVideo(e.video, data));
      },
      // Refused by the server (gone, and m3w restarted since, or the app's grant was revoked): it leaves too.
      () => remove(id),
    );
  };

  const update = (v: Video) => {
    const entry = rows.get(v.id);
    if (!entry) return;
    entry.video = v;
    drawRow(v, entry.row);
    if (settled(v)) {
      entry.unsubscribe();
      entry.unsubscribe = () => {};
      entry.followed = false;
    } else follow(entry);
  };

  const add = (v: Video, atTop = false) => {
    if (rows.has(v.id)) return update(v);
    const row = h('tr', { 'data-video-id': v.id });
    const entry = { video: v, row, unsubscribe: () => {}, followed: false };
    rows.set(v.id, entry);
    follow(entry);
    drawRow(v, row);
    if (atTop) tbody.prepend(row);
    else tbody.append(row);
  };
  ctx.onLeave(() => {
    for (const e of rows.values()) e.unsubscribe();
  });

  const table = h(
    'table',
    { class: 'videos' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ['Title', 'Status', 'Renditions', 'Duration', 'Uploaded', ''].map((c, i) =>
          h('th', { scope: 'col', class: i === 3 ? 'num' : '' }, c),
        ),
      ),
    ),
    tbody,
  );

  // The table while there are videos; the empty state (never an empty table) when the last one goes.
  const empty = h(
    'p',
    { class: 'muted empty' },
    'No videos yet. Upload one above: m3w transcodes it to adaptive HLS, and it plays here as soon as its first rendition is ready.',
  );
  function showListOrEmpty(): void {
    const want = rows.size ? table : empty;
    if (listBox.firstElementChild !== want || listBox.childElementCount !== 1) replace(listBox, want);
  }

  const fetchPage = async (): Promise<Video[]> => {
    // `next` goes back as ?before= for the following page.
    const res = await get<VideoList>(`/api/v1/videos${qs({ app, before: next })}`);
    next = res.next;
    more.hidden = next === null;
    return res.videos;
  };

  // New uploads: reload the first page and put what is new on top.
  const refresh = async () => {
    try {
      const res = await get<VideoList>(`/api/v1/videos${qs({ app })}`);
      for (const v of [...res.videos].reverse()) add(v, true);
      showListOrEmpty();
    } catch {}
  };

  replace(
    main,
    h('div', { class: 'page-head' }, h('h1', {}, 'Videos')),
    uploadSlot,
    h('section', { class: 'card' }, h('h2', {}, 'Library'), listBox, more),
  );

  let items: Video[];
  try {
    items = await fetchPage();
  } catch (err) {
    // The route itself missing (a server without video hosting) is the catch-all's "no such route".
    if (err instanceof ApiFailure && err.status === 404 && /no such route/.test(err.message)) return notHosted(main);
    if (err instanceof ApiFailure && err.code === 'FFMPEG_UNAVAILABLE') {
      showFfmpegMissing(err.message);
      replace(listBox, h('p', { class: 'muted' }, 'No videos.'));
      return;
    }
    replace(listBox, h('p', { class: 'error', role: 'alert' }, `Could not load videos: ${(err as Error).message}`));
    return;
  }
  const missing = await ffmpegKnownMissing();
  if (missing !== null) showFfmpegMissing(missing && `This m3w server has no ffmpeg: ${missing}`);
  else
    replace(
      uploadSlot,
      uploadCard(ctx, () => void refresh(), showFfmpegMissing),
    );
  for (const v of items) add(v);
  showListOrEmpty();
  more.addEventListener('click', async () => {
    more.disabled = true;
    try {
      for (const v of await fetchPage()) add(v);
    } catch (err) {
      listBox.append(h('p', { class: 'error', role: 'alert' }, (err as Error).message));
    } finally {
      more.disabled = false;
    }
  });
}

async function detailPage(ctx: PageContext, id: string): Promise<void> {
  const { main, app, live } = ctx;
  replace(main, h('p', { class: 'loading' }, 'Loading…'));
  let v: Video;
  try {
    v = await get<Video>(`/api/v1/videos/${encodeURIComponent(id)}${qs({ app })}`);
  } catch (err) {
    replace(
      main,
      h(
        'p',
        { class: 'error', role: 'alert' },
        err instanceof ApiFailure && err.status === 404 ? `No video “${id}” in app ${app}.` : (err as Error).message,
      ),
      h('a', { href: `/videos${qs({ app })}` }, 'Back to videos'),
    );
    return;
  }
  const playerSlot = h('div', { class: 'player-slot' });
  const facts = h('dl', { class: 'fields' });
  const head = h('h1', {}, v.title || v.id);
  const drawPlayer = () => {
    if (playerSlot.querySelector('iframe')) return;
    if (!playable(v)) {
      replace(
        playerSlot,
        h(
          'p',
          { class: 'muted' },
          v.status === 'failed'
            ? 'Transcoding failed: nothing to play.'
            : 'Playable as soon as its first rendition is ready…',
        ),
      );
      return;
    }
    replace(
      playerSlot,
      h('iframe', {
        src: `/watch/${encodeURIComponent(v.id)}`,
        title: `Player: ${v.title}`,
        allow: 'autoplay; fullscreen; picture-in-picture',
        allowfullscreen: true,
        class: 'player-frame',
      }),
    );
  };
  const drawFacts = () => {
    head.textContent = v.title || v.id;
    retry.hidden = v.status !== 'failed';
    replace(
      facts,
      h('dt', {}, 'Status'),
      h('dd', {}, statusChip(v), v.error ? h('span', { class: 'error' }, ` ${v.error}`) : null),
      h('dt', {}, 'Renditions'),
      h('dd', {}, renditionChips(v)),
      h('dt', {}, 'Source'),
      h('dd', {}, v.width && v.height ? `${v.width}×${v.height} · ${fmtDuration(v.durationMs)}` : '–'),
      h('dt', {}, 'Uploaded'),
      h('dd', {}, fmtTime(v.createdAt)),
      h('dt', {}, 'Id'),
      h('dd', {}, h('code', {}, v.id)),
    );
    drawPlayer();
  };
  // Followed while it changes, and again after a retry.
  let stop: (() => void) | null = null;
  const follow = () => {
    if (stop || settled(v)) return;
    const gone = () =>
      replace(
        main,
        h('p', { role: 'alert' }, 'This video was deleted. '),
        h('a', { href: `/videos${qs({ app })}` }, 'All videos'),
      );
    stop = live.subscribe(
      `video:${v.id}`,
      (data) => {
        if ((data as VideoUpdate).status === 'deleted') return gone();
        v = mergeVideo(v, data);
        drawFacts();
        if (settled(v)) {
          stop?.();
          stop = null;
        }
      },
      gone,
    );
  };
  ctx.onLeave(() => stop?.());
  follow();

  const rename = h('input', { name: 'title', id: 'video-title', value: v.title, maxlength: '200' });
  const renameStatus = h('span', { class: 'muted', role: 'status' });
  const renameError = h('p', { class: 'error', role: 'alert' });
  const renameForm = h(
    'form',
    { class: 'inline-form rename-form' },
    h('label', { for: 'video-title' }, 'Title'),
    rename,
    h('button', { type: 'submit' }, 'Rename'),
    renameStatus,
    renameError,
  );
  rename.addEventListener('input', () => {
    renameStatus.textContent = '';
  });
  renameForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    renameError.textContent = '';
    renameStatus.textContent = '';
    const wanted = rename.value.trim();
    if (!wanted) {
      renameError.textContent = 'A title cannot be empty.';
      return;
    }
    try {
      const fresh = await api<Video | undefined>('PATCH', `/api/v1/videos/${encodeURIComponent(v.id)}`, {
        title: wanted,
      });
      v = fresh ?? { ...v, title: wanted };
      drawFacts();
      renameStatus.textContent = 'Saved.';
    } catch (err) {
      renameError.textContent = `Could not rename: ${(err as Error).message}`;
    }
  });

  const retry = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Retry transcoding');
  retry.addEventListener('click', async () => {
    retry.disabled = true;
    try {
      const res = await api<VideoRetryAnswer>('POST', `/api/v1/videos/${encodeURIComponent(v.id)}/retry`, {});
      v = res.video;
      drawFacts();
      follow();
    } catch (err) {
      renameError.textContent = `Could not retry: ${(err as Error).message}`;
    } finally {
      retry.disabled = false;
    }
  });
  const del = h('button', { type: 'button', class: 'danger' }, 'Delete video');
  del.addEventListener('click', async () => {
    if (!confirm(`Delete “${v.title}” and all its files? Links to it stop working.`)) return;
    del.disabled = true;
    try {
      await api('DELETE', `/api/v1/videos/${encodeURIComponent(v.id)}`);
      ctx.navigate(`/videos${qs({ app })}`);
    } catch (err) {
      del.disabled = false;
      renameError.textContent = `Could not delete: ${(err as Error).message}`;
    }
  });

  const embedBox = h('div');
  const embedButton = h('button', { type: 'button', class: 'secondary' }, 'Create an embed code (valid 7 days)');
  embedButton.addEventListener('click', async () => {
    try {
      const t = await api<GuestToken>('POST', '/api/v1/guest-tokens', {
        resource: `video:${v.id}`,
        ttlSeconds: 7 * 24 * 3600,
      });
      const src = `${location.origin}/embed/${encodeURIComponent(v.id)}?token=${encodeURIComponent(t.token)}`;
      const code = `<iframe src="${src}" width="640" height="360" allow="autoplay; fullscreen; picture-in-picture" allowfullscreen></iframe>`;
      replace(
        embedBox,
        h('p', { class: 'muted' }, `Anyone with this code can watch until ${fmtTime(t.expiresAt)}.`),
        h(
          'div',
          { class: 'code' },
          h('pre', { tabindex: '0', 'aria-label': 'Embed code' }, code),
          copyButton(() => code),
        ),
      );
    } catch (err) {
      replace(embedBox, h('p', { class: 'error', role: 'alert' }, (err as Error).message));
    }
  });

  replace(
    main,
    h('p', {}, h('a', { href: `/videos${qs({ app })}` }, '← All videos')),
    head,
    playerSlot,
    h(
      'section',
      { class: 'card' },
      h('h2', {}, 'Details'),
      facts,
      renameForm,
      h('div', { class: 'actions video-actions' }, retry, del),
    ),
    h(
      'section',
      { class: 'card' },
      h('h2', {}, 'How it played'),
      h('p', {}, 'Every playback in the m3w player reports its QoE with this video as its content id.'),
      h(
        'p',
        { class: 'qoe-links' },
        h(
          'a',
          { href: `/overview${qs({ app, range: '7d', dim: 'contentId', value: v.id })}` },
          'Overview of this video',
        ),
        ' · ',
        h('a', { href: `/sessions${qs({ app, contentId: v.id, range: '30d' })}` }, 'Its sessions'),
        ' · ',
        h('a', { href: `/breakdowns${qs({ app, range: '7d', dimension: 'contentId' })}` }, 'All videos compared'),
      ),
    ),
    h('section', { class: 'card' }, h('h2', {}, 'Share'), embedButton, embedBox),
  );
  drawFacts();
}

export async function videosPage(ctx: PageContext): Promise<void> {
  if (ctx.rest) return detailPage(ctx, ctx.rest);
  return listPage(ctx);
}
