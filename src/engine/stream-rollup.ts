// Stream rollups computed from play sessions: for each bucket (a minute or an hour) and each (dimension,
// value), the stream figures (sessions, bytes, watch time, unique viewers, peak concurrency). One function of the sessions that touch the bucket, so a bucket recomputed
// from raw rows, or from the live tracker plus recently closed rows, gives the same numbers.
import type { PlaySessionFacts, RollupStep, StreamRollupRow } from '../store/index.ts';
import type { OpenAggregate } from '../tools/open-aggregate.ts';
import { ROLLUP_DIMENSIONS, rollupValues, viewerKey } from '../tools/stream-dimensions.ts';

interface Acc {
  started: number;
  closed: number;
  bytes: number;
  watchMs: number;
  users: Set<string>;
  /** Sessions open at the bucket's first instant. */
  base: number;
  /** Opens and closes inside the bucket: flat (time, +1/-1) pairs. */
  events: number[];
  /** Sessions open for the whole bucket, added as a whole (minus `excluded`, counted one by one or not at all). */
  bulk?: { all: OpenAggregate; excluded: OpenAggregate };
}

/**
 * Accumulates the rollup rows of the buckets of [from, to) from sessions given one by one (in chunks, so a
 * caller can yield to the event loop between them). A session must be added at most once.
 */
export class StreamRollupAccumulator {
  /**
   * Per dimension (ROLLUP_DIMENSIONS order): value → figures per bucket index. Keyed by the strings already
   * in the session and indexed by bucket, because the minute job does this for 100,000 sessions a minute.
   */
  private readonly acc: Array<Map<string, Array<Acc | undefined>>> = ROLLUP_DIMENSIONS.map(() => new Map());
  private readonly buckets: number;
  private readonly values: string[] = new Array<string>(ROLLUP_DIMENSIONS.length);

  constructor(
    readonly step: RollupStep,
    readonly from: number,
    readonly to: number,
  ) {
    this.buckets = Math.ceil((to - from) / step);
  }

  add(s: PlaySessionFacts): void {
    const step = this.step;
    const opened = s.openedAt;
    const end = s.closedAt ?? Infinity;
    // A session touches a bucket when it was open in it or opened or closed in it.
    const first = Math.max(this.from, Math.floor(opened / step) * step);
    const lastTouch = Math.min(this.to - step, Math.floor(Math.min(end, this.to - 1) / step) * step);
    if (first > lastTouch) return;
    const viewer = viewerKey(s);
    const values = rollupValues(s, this.values);
    for (let t = first; t <= lastTouch; t += step) {
      const tEnd = t + step;
      if (!(opened < tEnd && end >= t)) continue;
      const startedIn = opened >= t;
      const closedIn = s.closedAt !== null && end < tEnd;
      let bytes = 0;
      if (startedIn) bytes += s.startBytes ?? 0;
      if (closedIn) bytes += Math.max(0, (s.closeBytes ?? 0) - (s.startBytes ?? 0));
      const watchMs = Math.max(0, Math.min(end, tEnd) - Math.max(opened, t));
      const inBase = opened <= t && end > t;
      const openAt = opened > t && end > opened ? opened : -1; // opened inside, and open for some time
      const closeAt = closedIn && end > t && end > opened ? end : -1;
      const bi = (t - this.from) / step;
      for (let d = 0; d < values.length; d++) {
        const byValue = this.acc[d]!;
        let perBucket = byValue.get(values[d]!);
        if (!perBucket) byValue.set(values[d]!, (perBucket = new Array<Acc | undefined>(this.buckets)));
        let a = perBucket[bi];
        if (!a)
          perBucket[bi] = a = { started: 0, closed: 0, bytes: 0, watchMs: 0, users: new Set(), base: 0, events: [] };
        if (startedIn) a.started++;
        if (closedIn) a.closed++;
        a.bytes += bytes;
        a.watchMs += watchMs;
        a.users.add(viewer);
        if (inBase) a.base++;
        if (openAt >= 0) a.events.push(openAt, 1);
        if (closeAt >= 0) a.events.push(closeAt, -1);
      }
    }
  }

  /**
   * Adds, for one (dimension index, value), the sessions of `all` that are not in `excluded` as open for
   * every bucket of the window. The minute job uses it for the live tracker's open sessions that opened before
   * the window. `all` and `excluded` must not change before rows() is called.
   */
  addOpenForWholeBuckets(d: number, value: string, all: OpenAggregate, excluded: OpenAggregate): void {
    const count = all.count - excluded.count;
    if (count <= 0) return;
    const byValue = this.acc[d]!;
    let perBucket = byValue.get(value);
    if (!perBucket) byValue.set(value, (perBucket = new Array<Acc | undefined>(this.buckets)));
    for (let bi = 0; bi < this.buckets; bi++) {
      let a = perBucket[bi];
      if (!a)
        perBucket[bi] = a = { started: 0, closed: 0, bytes: 0, watchMs: 0, users: new Set(), base: 0, events: [] };
      a.watchMs += count * this.step;
      a.base += count;
      a.bulk = { all, excluded };
    }
  }

  rows(): StreamRollupRow[] {
    const out: StreamRollupRow[] = [];
    ROLLUP_DIMENSIONS.forEach((dimension, d) => {
      for (const [value, perBucket] of this.acc[d]!)
        perBucket.forEach((a, bi) => {
          if (!a) return;
          out.push({
            dimension,
            value,
            t: this.from + bi * this.step,
            sessionsStarted: a.started,
            sessionsClosed: a.closed,
            totalBytes: a.bytes,
            watchTimeSeconds: a.watchMs / 1000,
            uniqueUsers: uniqueViewers(a),
            peakConcurrent: peakConcurrent(a.base, a.events),
          });
        });
    });
    return out;
  }
}

/** Distinct viewers: those of the whole-bucket sessions (all minus excluded) joined with the ones added singly. */
function uniqueViewers(a: Acc): number {
  if (!a.bulk) return a.users.size;
  const { all, excluded } = a.bulk;
  const remaining = (v: string) => (all.viewers.get(v) ?? 0) - (excluded.viewers.get(v) ?? 0);
  let n = all.viewers.size;
  for (const v of excluded.viewers.keys()) if (all.viewers.has(v) && remaining(v) <= 0) n--;
  for (const v of a.users) if (remaining(v) <= 0) n++;
  return n;
}

/** The most sessions open at once: sweep the opens and closes in time order, closes first at equal times. */
function peakConcurrent(base: number, events: number[]): number {
  if (events.length === 0) return base;
  // time * 2 + (1 for an open): one native numeric sort orders by time, closes before opens.
  const keys = new Float64Array(events.length / 2);
  for (let i = 0; i < events.length; i += 2) keys[i / 2] = events[i]! * 2 + (events[i + 1]! > 0 ? 1 : 0);
  keys.sort();
  let open = base;
  let peak = base;
  for (let i = 0; i < keys.length; i++) {
    open += keys[i]! % 2 === 1 ? 1 : -1;
    if (open > peak) peak = open;
  }
  return peak;
}
