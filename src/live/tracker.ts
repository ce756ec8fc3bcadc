// The live tracker: open play sessions in memory, the source of "how many are watching right now".
// Counts per dimension are kept as sessions come and go, so reading them costs nothing however many
// sessions are open.
import type { ActiveCounts } from './active-counts.ts';
import type { PlaySessionFacts } from '../store/index.ts';
import { adjustAggregate, emptyAggregate, type OpenAggregate } from '../tools/open-aggregate.ts';
import {
  dimensionValue,
  ROLLUP_DIMENSIONS,
  rollupValues,
  STREAM_DIMENSIONS,
  type StreamDimension,
  viewerKey,
} from '../tools/stream-dimensions.ts';
import { minuteOf } from '../tools/time-units.ts';

export type { ActiveCounts };

export class LiveTracker {
  private readonly sessions = new Map<string, PlaySessionFacts>();
  private readonly perDimension = new Map<StreamDimension, Map<string, number>>(
    STREAM_DIMENSIONS.map((d) => [d, new Map()]),
  );
  /** Per ROLLUP_DIMENSIONS index: value → open sessions and their viewers (what the minute job adds as a whole). */
  private readonly aggregates: Array<Map<string, OpenAggregate>> = ROLLUP_DIMENSIONS.map(() => new Map());
  /** Open sessions by the minute they opened in, to find the few that opened during the minute rolled up. */
  private readonly byOpenedMinute = new Map<number, Set<PlaySessionFacts>>();
  /** Opens and closes in order, numbered from logBase + 1, so a long rollup can catch up with what changed. */
  private log: Array<{ session: PlaySessionFacts; opened: boolean }> = [];
  private logBase = 0;

  get size(): number {
    return this.sessions.size;
  }

  has(id: string): boolean {
    return this.sessions.has(id);
  }

  /** Adds an open session (a repeat of the same id replaces it). */
  open(s: PlaySessionFacts): void {
    this.close(s.id);
    this.sessions.set(s.id, s);
    for (const [dim, counts] of this.perDimension) {
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
    const values = rollupValues(s);
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

  /** Removes a session; false when it was not open here. */
  close(id: string): boolean {
    const s = this.sessions.get(id);
    if (!s) return false;
    this.sessions.delete(id);
    this.aggregate(s, -1);
    this.record(s, false);
    for (const [dim, counts] of this.perDimension) {
      const v = dimensionValue(s, dim);
      const n = (counts.get(v) ?? 0) - 1;
      if (n > 0) counts.set(v, n);
      else counts.delete(v);
    }
    return true;
  }

  /** Open sessions, as a copy (callers iterate it across event-loop turns while the tracker changes). */
  snapshot(): PlaySessionFacts[] {
    return [...this.sessions.values()];
  }

  get(id: string): PlaySessionFacts | undefined {
    return this.sessions.get(id);
  }

  /** Open sessions that opened at or after `t`. */
  openedSince(t: number): PlaySessionFacts[] {
    const out: PlaySessionFacts[] = [];
    const first = minuteOf(t);
    for (const [minute, set] of this.byOpenedMinute)
      if (minute >= first) for (const s of set) if (s.openedAt >= t) out.push(s);
    return out;
  }

  /** Live aggregates of open sessions per value of one dimension (ROLLUP_DIMENSIONS index); do not modify. */
  openAggregates(d: number): ReadonlyMap<string, OpenAggregate> {
    return this.aggregates[d]!;
  }

  /** Ids of sessions opened before `cutoff`. */
  openedBefore(cutoff: number): string[] {
    const ids: string[] = [];
    for (const s of this.sessions.values()) if (s.openedAt < cutoff) ids.push(s.id);
    return ids;
  }

  counts(): ActiveCounts {
    const obj = (dim: StreamDimension) => Object.fromEntries(this.perDimension.get(dim)!);
    return {
      total: this.sessions.size,
      by_server: obj('server'),
      by_channel: obj('channel'),
      by_country: obj('country'),
      by_protocol: obj('protocol'),
      by_device: obj('device'),
    };
  }

  /** Open sessions of one dimension value (0 when none). */
  countOf(dim: StreamDimension, value: string): number {
    return this.perDimension.get(dim)!.get(value) ?? 0;
  }
}
