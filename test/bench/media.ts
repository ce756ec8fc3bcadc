// The video library on this machine (part of `npm run bench`; `npm run bench:media` runs it alone).
//   (a) transcode speed per rendition of a 1080p source, as a multiple of real time, and RSS while transcoding
//       (m3w itself and its ffmpeg)
//   (b) segment serving: GET of signed segment URLs through m3w against plain node:http streaming the same files
// m3w runs as a child process (`m3w serve`), the floor too; autocannon runs here. Bounded and self-stopping.
// Target: m3w's segment MB/s ≥ 0.7× the floor's; a miss, or a request answered other than 2xx, makes the run exit 1.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { openAsBlob } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import autocannon from 'autocannon';
import { findFfmpeg, makeVideo } from '../media/media-helpers.ts';
import { runCli } from '../helpers/child.ts';
import { rssBytes, startM3w } from './servers.ts';
import { reportTargets, target } from './targets.ts';

const SOURCE = { width: 1920, height: 1080, seconds: 20 };
const LOAD_SEC = 6;
const CONNECTIONS = 16;
const DEADLINE_MS = 240_000;
const FLOOR = fileURLToPath(new URL('./segment-floor-server.ts', import.meta.url));

const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

function childrenRss(pid: number): number {
  try {
    return execFileSync('ps', ['-o', 'rss=', '--ppid', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.trim())
      .reduce((a, l) => a + Number(l.trim()) * 1024, 0);
  } catch {
    return 0;
  }
}

async function load(url: string, paths: string[]) {
  const r = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: LOAD_SEC,
    requests: paths.map((p) => ({ method: 'GET', path: p })),
  });
  return { reqPerSec: r.requests.average, mbPerSec: r.throughput.average / 1e6, non2xx: r.non2xx, errors: r.errors };
}

/** Transcode speed and RSS, then segment serving against the floor, with its target (part of `npm run bench`). */
export async function mediaBench(): Promise<void> {
  const deadline = setTimeout(() => {
    console.error(`media bench: over ${DEADLINE_MS / 1000} s, stopping`);
    process.exit(2);
  }, DEADLINE_MS);
  deadline.unref();
  try {
    await transcodeAndServe();
  } finally {
    clearTimeout(deadline);
  }
}

async function transcodeAndServe(): Promise<void> {
  const ff = await findFfmpeg();
  if (!ff) throw new Error('ffmpeg is needed for the media bench');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'm3w-bench-media-'));
  const cleanups: Array<() => unknown> = [() => rmSync(dir, { recursive: true, force: true })];
  try {
    writeFileSync(
      path.join(dir, 'm3w.config.json'),
      JSON.stringify({ minFreeDiskBytes: 0, openBrowser: false, transcode: { encoder: 'auto', preset: 'veryfast' } }),
    );
    const password = 'bench password 123';
    runCli(['admin', 'create', '--email', 'bench@example.com', '--password', password], {
      cwd: dir,
      env: { M3W_DATA_DIR: dir },
    });
    console.log(`making a ${SOURCE.width}x${SOURCE.height} ${SOURCE.seconds} s source with ${ff.ffmpeg.path}…`);
    const source = await makeVideo(ff.ffmpeg.path, dir, 'source', SOURCE);
    const m3w = await startM3w({ dataDir: dir, apiKey: `m3w_bench_${Date.now()}` });
    cleanups.unshift(() => m3w.stop());
    const login = await fetch(`${m3w.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'bench@example.com', password }),
    });
    const token = ((await login.json()) as { accessToken: string }).accessToken;
    const auth = { authorization: `Bearer ${token}` };
    const idleRss = rssBytes(m3w.pid) ?? 0;

    // (a) transcode
    const form = new FormData();
    form.set('file', await openAsBlob(source), 'source.mp4');
    const up = (await (
      await fetch(`${m3w.url}/api/v1/videos`, { method: 'POST', headers: auth, body: form })
    ).json()) as {
      id: string;
    };
    const started = new Map<number, number>();
    const finished = new Map<number, number>();
    let peakRss = 0;
    let peakFfmpegRss = 0;
    let video: any;
    const t0 = performance.now();
    for (;;) {
      video = await (await fetch(`${m3w.url}/api/v1/videos/${up.id}`, { headers: auth })).json();
      peakRss = Math.max(peakRss, rssBytes(m3w.pid) ?? 0);
      peakFfmpegRss = Math.max(peakFfmpegRss, childrenRss(m3w.pid));
      const now = performance.now();
      for (const r of video.renditions) {
        if (r.status === 'processing' && !started.has(r.height)) started.set(r.height, now);
        if (r.status === 'ready' && !finished.has(r.height)) {
          finished.set(r.height, now);
          if (!started.has(r.height)) started.set(r.height, now);
        }
      }
      if (video.status === 'ready' || video.status === 'failed') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const total = (performance.now() - t0) / 1000;
    if (video.status !== 'ready') throw new Error(`transcode failed: ${JSON.stringify(video)}`);
    const health = (await (await fetch(`${m3w.url}/api/v1/health`)).json()) as any;
    console.log(
      `\nencoder ${health.ffmpeg.encoder} (ffmpeg ${health.ffmpeg.version}), preset veryfast, ${os.cpus().length} cores`,
    );
    const rows: string[] = [];
    for (const r of video.renditions) {
      const secs = (finished.get(r.height)! - started.get(r.height)!) / 1000;
      const speed = SOURCE.seconds / Math.max(secs, 0.2);
      rows.push(`| ${r.height}p | ${fmt(r.bandwidth / 1000)} kb/s | ${fmt(secs, 1)} s | ${fmt(speed, 1)}× |`);
    }
    console.log('\n| rendition | peak bandwidth | time | speed (× real time) |\n| --- | --- | --- | --- |');
    console.log(rows.join('\n'));
    console.log(
      `\nwhole video (all renditions + poster/sprite): ${fmt(total, 1)} s for ${SOURCE.seconds} s of video; ` +
        `m3w RSS idle ${fmt(idleRss / 1e6)} MB, peak while transcoding ${fmt(peakRss / 1e6)} MB; ffmpeg peak RSS ${fmt(peakFfmpegRss / 1e6)} MB`,
    );

    // (b) segments: the same files through m3w (signed URLs) and through plain node:http
    const grant = (await (
      await fetch(`${m3w.url}/api/v1/videos/${up.id}/playback`, { method: 'POST', headers: auth })
    ).json()) as {
      url: string;
    };
    const master = await (await fetch(grant.url)).text();
    // The lowest rendition: many small segments, so per-request work (signature, routing) shows.
    const low = master.split('\n').find((l) => l.startsWith('/'))!;
    const lowName = /\/(\d+p)\//.exec(low)![1]!;
    const media = await (await fetch(m3w.url + low)).text();
    const segPaths = media.split('\n').filter((l) => l.includes('/seg_'));
    const folder = path.join(dir, 'media', 'videos', up.id, lowName);
    const sizes = readdirSync(folder).filter((n) => n.startsWith('seg_'));
    const port = await freePort();
    const floor = spawn(process.execPath, ['--import', 'tsx', FLOOR, String(port), folder], { stdio: 'ignore' });
    cleanups.unshift(() => floor.kill('SIGTERM'));
    for (let i = 0; ; i++) {
      const up = await fetch(`http://127.0.0.1:${port}/none`).then(
        () => true,
        () => false,
      );
      if (up) break;
      if (i > 150) throw new Error('the floor server did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
    const floorPaths = segPaths.map((p) => `/${path.basename(new URL(p, 'http://x').pathname)}`);
    // Two rounds each, alternating, so a neighbour's burst on the shared machine hits both sides alike.
    const rounds: Array<[Awaited<ReturnType<typeof load>>, Awaited<ReturnType<typeof load>>]> = [];
    for (let round = 0; round < 2; round++)
      rounds.push([await load(`http://127.0.0.1:${port}`, floorPaths), await load(m3w.url, segPaths)]);
    const sum = (k: 0 | 1, f: 'reqPerSec' | 'mbPerSec') => rounds.reduce((a, r) => a + r[k][f], 0) / rounds.length;
    const f = {
      reqPerSec: sum(0, 'reqPerSec'),
      mbPerSec: sum(0, 'mbPerSec'),
      non2xx: rounds.reduce((a, r) => a + r[0].non2xx, 0),
    };
    const m = {
      reqPerSec: sum(1, 'reqPerSec'),
      mbPerSec: sum(1, 'mbPerSec'),
      non2xx: rounds.reduce((a, r) => a + r[1].non2xx, 0),
    };
    console.log(
      `\nsegments (${sizes.length} files of the ${lowName} rendition, ${CONNECTIONS} connections, ${LOAD_SEC} s each):\n` +
        `| server | req/s | MB/s | non-2xx |\n| --- | --- | --- | --- |\n` +
        `| plain node:http | ${fmt(f.reqPerSec)} | ${fmt(f.mbPerSec)} | ${f.non2xx} |\n` +
        `| m3w /media (signed) | ${fmt(m.reqPerSec)} | ${fmt(m.mbPerSec)} | ${m.non2xx} |\n` +
        `\nm3w / floor: ${fmt(m.mbPerSec / f.mbPerSec, 2)} (target ≥ 0.7)`,
    );
    target(
      'video segments: m3w /media MB/s ≥ 0.7× plain node:http',
      `${fmt(m.mbPerSec / f.mbPerSec, 2)}× (${fmt(m.mbPerSec)} against ${fmt(f.mbPerSec)} MB/s)`,
      m.mbPerSec >= 0.7 * f.mbPerSec,
    );
    target(
      'video segments: every request answered 2xx, m3w and floor',
      `non-2xx ${m.non2xx} / ${f.non2xx}`,
      m.non2xx === 0 && f.non2xx === 0,
    );
  } finally {
    for (const c of cleanups) await c();
  }
}

// `npm run bench:media` runs this file alone.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await mediaBench();
  reportTargets();
}
