// The live tracker's upkeep between play events: restoring it at start-up, closing stale plays, the snapshot of
// what it held, and on a shared Postgres schema the periodic read of every instance's open plays.
import type { ResolvedConfig } from '../config/index.ts';
import { type LiveTracker, SharedViewerCounts } from '../live/index.ts';
import type { Logger } from '../observability/index.ts';
import type { Store } from '../store/index.ts';
import { HOUR } from '../tools/time-units.ts';

const STATE_SNAPSHOT_AT = 'live.snapshot_at';
const STATE_SNAPSHOT_OPEN = 'live.snapshot_open';

/** How often each instance re-reads every instance's open plays (several instances on one Postgres schema). */
export const SHARED_VIEWERS_MS = 1000;

export class LiveSync {
  /** Every instance's open plays, on a shared Postgres schema; null on SQLite (one process). */
  readonly shared: SharedViewerCounts | null;
  private sharedTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly store: Store,
    private readonly config: ResolvedConfig,
    private readonly logger: Logger,
    private readonly live: LiveTracker,
  ) {
    this.shared = store.sharedByInstances ? new SharedViewerCounts(() => store.countOpenPlayGroups()) : null;
  }

  /** Fills the tracker with the store's open plays; on a shared schema reads the counts and keeps reading them. */
  async restore(): Promise<void> {
    const open = await this.store.listOpenPlaySessions();
    for (const s of open) this.live.open(s);
    const snapshot = await this.store.getEngineState(STATE_SNAPSHOT_OPEN);
    this.logger.info({ open: open.length, lastSnapshotOpen: snapshot }, 'live sessions restored');
    if (this.shared) {
      // Counts are every instance's from the first request; the reads go on with the schedules off (they are
      // reads, not jobs: tests that drive the jobs still see other instances' plays).
      await this.shared.refresh();
      let reading = false;
      this.sharedTimer = setInterval(() => {
        if (reading) return;
        reading = true;
        this.shared!.refresh()
          .catch((err: unknown) => this.logger.warn({ err }, 'live counts read failed'))
          .finally(() => {
            reading = false;
          });
      }, SHARED_VIEWERS_MS);
      this.sharedTimer.unref();
    }
  }

  /** Stops the reads of the shared counts. */
  stopReading(): void {
    if (this.sharedTimer) clearInterval(this.sharedTimer);
  }

  /** Closes the plays open longer than staleSessionHours, then takes a snapshot; the caller runs it as a job. */
  async sync(now: number): Promise<void> {
    const cutoff = now - this.config.staleSessionHours * HOUR;
    // Several instances: plays another one took in are only in the database.
    const stale = this.store.sharedByInstances
      ? await this.store.openPlaySessionsBefore(cutoff)
      : this.live.openedBefore(cutoff);
    if (stale.length > 0) {
      const closed = await this.store.closeStalePlaySessions(stale, now);
      for (const s of closed) this.live.close(s.appId, s.id);
      // Sessions a webhook closed meanwhile are closed already: drop them from the tracker too.
      for (const s of stale) this.live.close(s.appId, s.id);
      this.logger.info({ closed: closed.length }, 'stale play sessions closed');
    }
    await this.snapshot(now);
  }

  /**
   * Several instances: a play this process took in may have been closed through another instance (or by another's
   * reaper), which this tracker never hears of; past staleSessionHours it goes from the tracker in any case.
   */
  forgetStaleElsewhere(now: number): void {
    if (!this.store.sharedByInstances) return;
    for (const s of this.live.openedBefore(now - this.config.staleSessionHours * HOUR)) this.live.close(s.appId, s.id);
  }

  /** Records how many plays the tracker holds, and when (for the log and for checking the restore). */
  async snapshot(now = Date.now()): Promise<void> {
    await this.store.setEngineState(STATE_SNAPSHOT_OPEN, this.live.size);
    await this.store.setEngineState(STATE_SNAPSHOT_AT, now);
  }
}
