// Request bodies for the bench: SessionSummary objects shaped like what the Media3Watch Android SDK sends,
// each with its own sessionId so the server inserts a new row every time instead of re-upserting one.
import { randomUUID } from 'node:crypto';
import { prng } from '../helpers/prng.ts';

const DEVICES = [
  'Pixel 8',
  'SM-S918B',
  'Chromecast HD',
  'AFTKA (Fire TV Stick 4K Max)',
  'moto g54 5G',
  'Redmi Note 12',
];
const OS = ['Android 14', 'Android 13', 'Android 12', 'Android TV 12'];
const COUNTRIES = ['US', 'DE', 'FR', 'BR', 'IN', 'JP', 'GB', 'NG', 'ID', 'MX'];

/**
 * Everything of a summary except its sessionId, already serialised: `,"timestamp":…}`.
 * Building a body is then a string concatenation, which keeps the load generator (sharing the CPU with the
 * server) cheap and the same for every scenario.
 */
function makeTails(count: number): string[] {
  const rand = prng(42);
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  const now = Date.now();
  const tails: string[] = [];
  for (let i = 0; i < count; i++) {
    const live = rand() < 0.3;
    const sessionDurationMs = int(30_000, 2 * 3_600_000);
    const startupTimeMs = int(250, 3_500);
    const rebufferCount = rand() < 0.7 ? 0 : int(1, 6);
    const playTimeMs = Math.max(1, sessionDurationMs - startupTimeMs - rebufferCount * int(500, 4_000));
    const timestamp = now - int(0, 600_000);
    const summary = {
      timestamp,
      sessionStartDateIso: new Date(timestamp - sessionDurationMs).toISOString(),
      sessionDurationMs,
      startupTimeMs,
      rebufferTimeMs: null,
      playTimeMs,
      totalDroppedFrames: int(0, 400),
      totalSeekTimeMs: null,
      rebufferCount,
      totalSeekCount: null,
      errorCount: rand() < 0.95 ? 0 : 1,
      rebufferRatio: rebufferCount === 0 ? 0 : Math.round(rand() * 0.08 * 10_000) / 10_000,
      meanVideoFormatBitrate: int(800_000, 8_000_000),
      contentId: live ? `live-channel-${int(1, 12)}` : `vod-${int(1, 5_000)}`,
      streamType: live ? 'live' : 'vod',
      deviceModel: pick(DEVICES),
      os: pick(OS),
      country: pick(COUNTRIES),
    };
    tails.push(',' + JSON.stringify(summary).slice(1));
  }
  return tails;
}

const TAILS = makeTails(256);

/** Produces bodies of `sessionsPerBody` summaries (one object, or a JSON array for batches). */
export class BodyFactory {
  private seq = 0;

  constructor(readonly sessionsPerBody: number) {}

  private session(): string {
    const n = this.seq++;
    // A random UUID each, as the SDK's: every insert lands on a random leaf of the (app_id, session_id) index, as
    // real traffic does (ids sharing a prefix would append to one spot and hide what a large index costs).
    return `{"sessionId":"${randomUUID()}"${TAILS[n % TAILS.length]!}`;
  }

  next(): string {
    if (this.sessionsPerBody === 1) return this.session();
    const parts: string[] = new Array<string>(this.sessionsPerBody);
    for (let i = 0; i < this.sessionsPerBody; i++) parts[i] = this.session();
    return `[${parts.join(',')}]`;
  }
}
