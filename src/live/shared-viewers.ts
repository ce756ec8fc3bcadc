// Live viewer counts when several m3w instances share one Postgres schema: the plays every instance took in are
// rows of play_sessions, so the counts come from there — one GROUP BY of the open plays per app and dimension
// values, read once a second by each instance (cost measured in the README). Between reads, the plays this
// instance opens or closes itself are applied at once, so a webhook's effect shows on the instance that took it
// without waiting for the next read, and the caps count them; the next read replaces all of it with the
// database's truth. (SQLite: one process, its LiveTracker is exact and this class is not used.)
import type { OpenPlayGroup } from '../store/index.ts';
import { STREAM_DIMENSIONS, type StreamDimension } from '../tools/stream-dimensions.ts';
import type { ActiveCounts } from './active-counts.ts';

/** What readers of live counts use (the LiveTracker on SQLite, SharedViewerCounts on Postgres). */
export interface ViewerCounts {
  /** Open plays of every app. */
  readonly size: number;
  sizeOf(appId: string): number;
  counts(appId: string): ActiveCounts;
  countOf(appId: string, dim: StreamDimension, value: string): number;
}

type Facts = Omit<OpenPlayGroup, 'count'>;

interface AppCounts {
  size: number;
  perDimension: Map<StreamDimension, Map<string, number>>;
}

export class SharedViewerCounts implements ViewerCounts {
  private perApp = new Map<string, AppCounts>();
  private total = 0;
  /** This instance's own opens and closes since the read in progress began: applied again on top of its result. */
  private sinceRead: Array<{ facts: Facts; sign: 1 | -1 }> = [];
  private readInProgress = false;
  /** When the last read finished (ms), for the health figures. */
  readAt = 0;

  constructor(private readonly read: () => Promise<OpenPlayGroup[]>) {}

  get size(): number {
    return this.total;
  }

  sizeOf(appId: string): number {
    return this.perApp.get(appId)?.size ?? 0;
  }

  /** Re-reads every instance's open plays from the database. */
  async refresh(): Promise<void> {
    this.readInProgress = true;
    this.sinceRead = [];
    let groups: OpenPlayGroup[];
    try {
      groups = await this.read();
    } finally {
      this.readInProgress = false;
    }
    const local = this.sinceRead;
    this.sinceRead = [];
    this.perApp = new Map();
    this.total = 0;
    for (const g of groups) this.add(g, g.count);
    // Committed here after the read was sent: most are not in its result. One committed in the few microseconds
    // between sending and the statement's snapshot is counted twice, until the next read (a second at most).
    for (const d of local) this.add(d.facts, d.sign);
    this.readAt = Date.now();
  }

  /** A play this instance just stored as opened (+1) or closed (-1, with the facts it was opened with). */
  apply(facts: Facts, sign: 1 | -1): void {
    if (this.readInProgress) this.sinceRead.push({ facts, sign });
    this.add(facts, sign);
  }

  private add(f: Facts, n: number): void {
    let app = this.perApp.get(f.appId);
    if (!app) {
      if (n <= 0) return;
      this.perApp.set(
        f.appId,
        (app = { size: 0, perDimension: new Map(STREAM_DIMENSIONS.map((d) => [d, new Map<string, number>()])) }),
      );
    }
    app.size += n;
    this.total += n;
    for (const [dim, counts] of app.perDimension) {
      // dimensionValue's rule (an unreported value counts as "unknown"), on a group row rather than a play.
      const v = f[dim] || 'unknown';
      const next = (counts.get(v) ?? 0) + n;
      if (next > 0) counts.set(v, next);
      else counts.delete(v);
    }
    if (app.size <= 0) {
      this.total -= app.size;
      this.perApp.delete(f.appId);
    }
  }

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

  countOf(appId: string, dim: StreamDimension, value: string): number {
    return this.perApp.get(appId)?.perDimension.get(dim)?.get(value) ?? 0;
  }
}
