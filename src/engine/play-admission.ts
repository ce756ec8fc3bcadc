// Play events in: the open-play caps decide which play_started events are admitted, the store commits the
// admitted ones, and the live tracker (and on a shared schema the every-instance counts) is brought in line with
// what was committed.
import type { ResolvedConfig } from '../config/index.ts';
import type { PlayEvent } from '../ingest/index.ts';
import type { LiveTracker, SharedViewerCounts, ViewerCounts } from '../live/index.ts';
import type { PlayEventOutcome, Store } from '../store/index.ts';

/** What became of one webhook event: the store's outcome, or refused before storing (a cap). */
export type PlayIngestOutcome = PlayEventOutcome | { rejected: 'open_plays_cap' | 'app_open_plays_cap'; error: string };

export class PlayAdmission {
  /** Opens admitted and being committed, not yet in the tracker: counted against the caps. */
  private readonly pending = { total: 0, perApp: new Map<string, number>() };

  constructor(
    private readonly store: Store,
    private readonly config: ResolvedConfig,
    private readonly live: LiveTracker,
    private readonly viewers: ViewerCounts,
    private readonly shared: SharedViewerCounts | null,
  ) {}

  /** Commits one app's events (those the caps admit), then applies them to the tracker; one outcome per event. */
  async ingest(appId: string, events: readonly PlayEvent[], now: number): Promise<PlayIngestOutcome[]> {
    const capped = this.admit(appId, events);
    const admitted = capped ? events.filter((_, i) => capped[i] === undefined) : events;
    // Opens admitted but not yet in the tracker hold their place, so concurrent requests cannot both pass the cap.
    const reserved = capped ? admitted.filter((e) => e.event === 'play_started').length : this.opensIn(events);
    this.pending.total += reserved;
    this.pending.perApp.set(appId, (this.pending.perApp.get(appId) ?? 0) + reserved);
    let stored: PlayEventOutcome[];
    try {
      stored = await this.store.ingestPlayEvents(appId, admitted, now);
      this.apply(appId, admitted, stored);
    } finally {
      this.pending.total -= reserved;
      const left = (this.pending.perApp.get(appId) ?? 0) - reserved;
      if (left > 0) this.pending.perApp.set(appId, left);
      else this.pending.perApp.delete(appId);
    }
    if (!capped) return stored;
    let j = 0;
    return events.map((_, i) => capped[i] ?? stored[j++]!);
  }

  private opensIn(events: readonly PlayEvent[]): number {
    let n = 0;
    for (const e of events) if (e.event === 'play_started') n++;
    return n;
  }

  /** Which play_started events the caps refuse (by index), or null when all fit. */
  private admit(appId: string, events: readonly PlayEvent[]): Array<PlayIngestOutcome | undefined> | null {
    const maxAll = this.config.liveMaxOpenPlays;
    const maxApp = this.config.liveMaxOpenPlaysPerApp;
    // Every instance's open plays on a shared schema (as of the last read, plus this instance's since).
    let all = this.viewers.size + this.pending.total;
    let app = this.viewers.sizeOf(appId) + (this.pending.perApp.get(appId) ?? 0);
    const opens = this.opensIn(events);
    if (all + opens <= maxAll && app + opens <= maxApp) return null;
    const out = new Array<PlayIngestOutcome | undefined>(events.length);
    const seen = new Set<string>();
    events.forEach((e, i) => {
      // A repeat of a session already open replaces it and opens nothing new.
      if (e.event !== 'play_started' || this.live.has(appId, e.id) || seen.has(e.id)) return;
      if (all >= maxAll)
        out[i] = { rejected: 'open_plays_cap', error: `server is at its cap of ${maxAll} open play sessions` };
      else if (app >= maxApp)
        out[i] = { rejected: 'app_open_plays_cap', error: `app is at its cap of ${maxApp} open play sessions` };
      else {
        seen.add(e.id);
        all++;
        app++;
      }
    });
    return out;
  }

  /** Brings the live tracker in line with events that were just committed (outcomes from the store). */
  private apply(appId: string, events: readonly PlayEvent[], outcomes: readonly PlayEventOutcome[]): void {
    events.forEach((e, i) => {
      const o = outcomes[i];
      if (this.shared) {
        // A close of a play another instance opened is not known here: the next read brings it.
        const opened = o === 'opened' ? { appId, ...e } : o === 'closed' ? this.live.get(appId, e.id) : undefined;
        if (opened) this.shared.apply(opened, o === 'opened' ? 1 : -1);
      }
      if (o === 'opened')
        this.live.open({
          appId,
          id: e.id,
          server: e.server,
          channel: e.channel,
          country: e.country,
          protocol: e.protocol,
          device: e.device,
          userId: e.userId,
          address: e.address,
          openedAt: e.openedAt,
          closedAt: null,
          startBytes: e.bytes,
          closeBytes: null,
        });
      else if (o === 'closed') this.live.close(appId, e.id);
    });
  }
}
