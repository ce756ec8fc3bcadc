// The live tracker: open play sessions in memory, the source of "how many are watching right now".
// Counts per app and dimension are kept as sessions come and go, so reading them costs nothing however many
// sessions are open. Sessions are keyed by app and id (an id is unique only within its app), and every count
// and aggregate is per app: one app never sees, or closes, another's sessions.
import type { ActiveCounts } from './active-counts.ts';
import type { PlaySessionFacts } from '../store/index.ts';
import { adjustAggregate, emptyAggregate, type OpenAggregate } from '../tools/open-aggregate.ts';
import {
  dimensionValue,
  playKey,
  ROLLUP_DIMENSIONS,
  rollupKeys,
  STREAM_DIMENSIONS,
  type StreamDimension,
  viewerKey,
} from '../tools/stream-dimensions.ts';
import { minuteOf } from '../tools/time-units.ts';

export type { ActiveCounts };

/** One app's open sessions: how many, and how many per value of each dimension. */
interface AppCounts {
  size: number;
  perDimension: Map<StreamDimension, Map<string, number>>;
}

export class LiveTracker {
  /** Open sessions by playKey (app and id). */
  private readonly sessions = new Map<string, PlaySessionFacts>();
  private readonly perApp = new Map<string, AppCounts>();
  /**
   * Per ROLLUP_DIMENSIONS index: app-qualified value (rollupKeys) → open sessions and their viewers (what the
   * minute job adds as a whole).
   */
  private readonly aggregates: Array<Map<string, OpenAggregate>> = ROLLUP_DIMENSIONS.map(() => new Map());
  /** Open sessions by the minute they opened in, to find the few that opened during the minute rolled up. */
  private readonly byOpenedMinute = new Map<number, Set<PlaySessionFacts>>();
  /** Opens and closes in order, numbered from logBase + 1, so a long rollup can catch up with what changed. */
  private log: Array<{ session: PlaySessionFacts; opened: boolean }> = [];
  private logBase = 0;

  get size(): number {
    return this.sessions.size;
  }

  /** Open sessions of one app. */
  sizeOf(appId: string): number {
    return this.perApp.get(appId)?.size ?? 0;
  }

  has(appId: string, id: string): boolean {
    return this.sessions.has(playKey({ appId, id }));
  }

  /** Adds an open session (a repeat of the same app and id replaces it). */
  open(s: PlaySessionFacts): void {
    this.close(s.appId, s.id);
    this.sessions.set(playKey(s), s);
    let app = this.perApp.get(s.appId);
    if (!app)
      this.perApp.set(
        s.appId,
        (app = { size: 0, perDimension: new Map(STREAM_DIMENSIONS.map((d) => [d, new Map<string, number>()])) }),
      );
    app.size++;
    for (const [dim, counts] of app.perDimension) {
      const v = dimensionValue(s, dim);
      counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    this.aggregate(s, 1);
    this.record(s, true);
  }

  private record(session: PlaySessionFacts, opened: boolean): void {
    this.log.push({ session, opened });
    // A rollup reads changes for a few seconds at most; beyond this it falls back to comparing everything.
    if (this.log.length > 200_000) {
      this.logBase += 100_000;
      this.log = this.log.slice(100_000);
    }
  }

  /** A number that grows with every open and close. */
  get version(): number {
    return this.logBase + this.log.length;
  }

  /** Opens and closes after `version`, in order; null when they are no longer kept. */
  changesSince(version: number): ReadonlyArray<{ session: PlaySessionFacts; opened: boolean }> | null {
    if (version < this.logBase) return null;
    return this.log.slice(version - this.logBase);
  }

  private aggregate(s: PlaySessionFacts, sign: 1 | -1): void {
    const viewer = viewerKey(s);
    const values = rollupKeys(s);
    for (let d = 0; d < values.length; d++) {
      const byValue = this.aggregates[d]!;
      let agg = byValue.get(values[d]!);
      if (!agg) byValue.set(values[d]!, (agg = emptyAggregate()));
      adjustAggregate(agg, viewer, sign);
      if (agg.count <= 0) byValue.delete(values[d]!);
    }
    const minute = minuteOf(s.openedAt);
    let set = this.byOpenedMinute.get(minute);
    if (sign > 0) {
      if (!set) this.byOpenedMinute.set(minute, (set = new Set()));
      set.add(s);
    } else if (set) {
      set.delete(s);
      if (set.size === 0) this.byOpenedMinute.delete(minute);
    }
  }

  /** Removes a session of an app; false when it was not open here. */
  close(appId: string, id: string): boolean {
    const key = playKey({ appId, id });
    const s = this.sessions.get(key);
    if (!s) return false;
    this.sessions.delete(key);
    this.aggregate(s, -1);
    this.record(s, false);
    const app = this.perApp.get(appId)!;
    if (--app.size === 0) this.perApp.delete(appId);
    else
      for (const [dim, counts] of app.perDimension) {
        const v = dimensionValue(s, dim);
        const n = (counts.get(v) ?? 0) - 1;
        if (n > 0) counts.set(v, n);
        else counts.delete(v);
      }
    return true;
  }

  /** Forgets every open session of an app (the app was deleted). */
  forgetApp(appId: string): void {
    for (const s of [...this.sessions.values()]) if (s.appId === appId) this.close(appId, s.id);
  }

  /** Open sessions, as a copy (callers iterate it across event-loop turns while the tracker changes). */
  snapshot(): PlaySessionFacts[] {
    return [...this.sessions.values()];
  }

  get(appId: string, id: string): PlaySessionFacts | undefined {
    return this.sessions.get(playKey({ appId, id }));
  }

  /** The open session with this playKey. */
  getByKey(key: string): PlaySessionFacts | undefined {
    return this.sessions.get(key);
  }

  /** Open sessions that opened at or after `t`. */
  openedSince(t: number): PlaySessionFacts[] {
    const out: PlaySessionFacts[] = [];
    const first = minuteOf(t);
    for (const [minute, set] of this.byOpenedMinute)
      if (minute >= first) for (const s of set) if (s.openedAt >= t) out.push(s);
    return out;
  }

  /** Live aggregates of open sessions per app-qualified value of one dimension (ROLLUP_DIMENSIONS index); do not modify. */
  openAggregates(d: number): ReadonlyMap<string, OpenAggregate> {
    return this.aggregates[d]!;
  }

  /** App and id of the sessions opened before `cutoff`. */
  openedBefore(cutoff: number): Array<{ appId: string; id: string }> {
    const out: Array<{ appId: string; id: string }> = [];
    for (const s of this.sessions.values()) if (s.openedAt < cutoff) out.push({ appId: s.appId, id: s.id });
    return out;
  }

  /** One app's open sessions, in total and per value of each dimension (the GET /stats/active answer). */
  counts(appId: string): ActiveCounts {
    const app = this.perApp.get(appId);
    const obj = (dim: StreamDimension) => Object.fromEntries(app?.perDimension.get(dim) ?? []);
    return {
      total: app?.size ?? 0,
      by_server: obj('server'),
      by_channel: obj('channel'),
      by_country: obj('country'),
      by_protocol: obj('protocol'),
      by_device: obj('device'),
    };
  }

  /** Open sessions of one app's dimension value (0 when none). */
  countOf(appId: string, dim: StreamDimension, value: string): number {
    return this.perApp.get(appId)?.perDimension.get(dim)?.get(value) ?? 0;
  }
}
