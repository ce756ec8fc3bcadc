// Cooperative slicing for the engine's jobs: how much work runs between yields, yielding, and measuring the
// longest synchronous stretch (named by stage, so a slow one can be found).

/** Sessions handled between two yields to the event loop. */
export const SLICE = 500;

export const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Measures the longest stretch of synchronous work between yields, and the stage that ended it. */
export class SliceTimer {
  longest = 0;
  longestAt = '';
  private since = performance.now();
  mark(stage: string): void {
    const d = performance.now() - this.since;
    if (d > this.longest) {
      this.longest = d;
      this.longestAt = stage;
    }
  }
  reset(): void {
    this.since = performance.now();
  }
}
