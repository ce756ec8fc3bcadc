// The live tracker: open play sessions in memory, the source of "how many are watching right now".
// Counts per dimension are kept as sessions come and go, so reading them costs nothing however many
// sessions are open.
import type { PlaySessionFacts } from '../store/index.ts';
import { dimensionValue, STREAM_DIMENSIONS, type StreamDimension } from '../engine/stream-rollup.ts';

/** The GET /stats/active answer: counts of open sessions, in total and per value of each dimension. */
export interface ActiveCounts {
  total: number;
  by_server: Record<string, number>;
  by_channel: Record<string, number>;
  by_country: Record<string, number>;
  by_protocol: Record<string, number>;
  by_device: Record<string, number>;
}

export class LiveTracker {
  private readonly sessions = new Map<string, PlaySessionFacts>();
  private readonly perDimension = new Map<StreamDimension, Map<string, number>>(STREAM_DIMENSIONS.map((d) => [d, new Map()]));

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
  }

  /** Removes a session; false when it was not open here. */
  close(id: string): boolean {
    const s = this.sessions.get(id);
    if (!s) return false;
    this.sessions.delete(id);
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
