// Bounds how much the ingestion routes parse and hold at once, from parsing a body until its rows are committed.
// Without it, every connection's batch is parsed into objects and rows while the writer is busy with earlier ones:
// 16 connections of 1,000-session batches took m3w from 97 MB to ~350 MB. A body is read first, without the budget
// (its raw text is small beside what parsing makes of it, and a client trickling its body in must not hold the
// budget and stall everyone else's ingestion); past the budget, parsing waits, first come first served.

/** Four 1 MiB bodies: enough to keep the writer's next group queued while one commits. */
export const INGEST_BUDGET_BYTES = 4 * 1024 * 1024;

export class IngestBudget {
  private inUse = 0;
  private readonly waiting: Array<{ bytes: number; admit: () => void }> = [];

  constructor(readonly limitBytes: number) {}

  /** Waits until `bytes` (at most the whole budget, so one huge body can always proceed alone) fit; returns the release. */
  async acquire(bytes: number): Promise<() => void> {
    const charge = Math.min(Math.max(bytes, 1), this.limitBytes);
    if (this.waiting.length > 0 || this.inUse + charge > this.limitBytes)
      await new Promise<void>((admit) => this.waiting.push({ bytes: charge, admit }));
    else this.inUse += charge;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inUse -= charge;
      this.admitWaiting();
    };
  }

  /** Bytes held now (for tests and metrics). */
  get held(): number {
    return this.inUse;
  }

  private admitWaiting(): void {
    while (this.waiting.length > 0 && this.inUse + this.waiting[0]!.bytes <= this.limitBytes) {
      const next = this.waiting.shift()!;
      this.inUse += next.bytes;
      next.admit();
    }
  }
}

/** Runs `work` (parse, validate, commit a body of `bytes`) holding that share of the ingestion budget. */
export async function withIngestBudget<T>(budget: IngestBudget, bytes: number, work: () => Promise<T>): Promise<T> {
  const release = await budget.acquire(bytes);
  try {
    return await work();
  } finally {
    release();
  }
}
