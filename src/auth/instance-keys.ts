// The keys in an instance's data directory (token signing, media URL signing, channel secret sealing) must be the
// same on every instance sharing one database: a login, a signed media URL or a sealed channel secret made by one
// instance is checked or opened by whichever instance the load balancer picks next. At start-up the fingerprints
// of this instance's keys are compared with those the live instances recorded; while it runs, its record is
// refreshed every minute (a record unrefreshed for three minutes is of an instance that died), and it is
// removed on a clean stop, so keys can be changed once every instance has stopped.
import type { Store } from '../store/index.ts';

const REFRESH_MS = 60_000;

/** The start-up refusal: which files differ and how to make them the same. */
export function differingKeysMessage(files: readonly string[], dataDir: string): string {
  return (
    `another m3w instance on this database holds a different ${files.join(', ')}. Instances sharing one ` +
    'database must hold the same key files, or a login, a signed media URL or a sealed notification channel made ' +
    `by one fails on the others. Stop this instance, copy ${files.length > 1 ? 'those files' : 'that file'} from ` +
    `the data directory of a running instance into ${dataDir} (mode 0600) and start it again; to change keys, ` +
    'stop every instance and put the same new files in each data directory. (An instance that died without ' +
    'stopping counts for three minutes after its last sign of life.)'
  );
}

export class InstanceKeys {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly store: Store,
    readonly instanceId: string,
    /** Key file name → fingerprint. */
    readonly fingerprints: Readonly<Record<string, string>>,
    private readonly onRefreshProblem: (problem: { differing?: string[]; err?: unknown }) => void,
  ) {}

  /**
   * The key files that differ from a live instance's ([]: recorded, and from now on refreshed until stop()).
   * Throws a StoreError when the database cannot answer.
   */
  async check(): Promise<string[]> {
    const differing = await this.store.differingKeyFingerprints(this.instanceId, this.fingerprints);
    if (differing.length === 0 && !this.timer) {
      this.timer = setInterval(() => void this.refresh(), REFRESH_MS);
      this.timer.unref();
    }
    return differing;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.store.forgetKeyFingerprints(this.instanceId).catch(() => {});
  }

  private async refresh(): Promise<void> {
    try {
      const differing = await this.store.differingKeyFingerprints(this.instanceId, this.fingerprints);
      // Only when this instance went unheard past the record's life and one with other keys started meanwhile.
      if (differing.length > 0) this.onRefreshProblem({ differing });
    } catch (err) {
      this.onRefreshProblem({ err });
    }
  }
}
