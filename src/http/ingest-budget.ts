// Bounds how many request-body bytes the ingestion routes hold at once, from reading the body until its
// rows are committed. Without it, every connection's batch is read and parsed into memory while the writer
// is busy with earlier ones: 16 connections of 1,000-session batches took m3w from 97 MB to ~350 MB. Past the
// budget a request waits before its body is read, so its bytes stay in socket buffers and TCP slows the
// sender; the writer still always has the next group queued. First come, first served: nobody starves.
import type { H3Event } from 'h3';

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

/**
 * What a request's body will hold in memory at most: its declared length, or the body limit when it is
 * compressed (the limit applies after decompression) or sent without a length.
 */
export function bodyCharge(event: H3Event, maxBodyBytes: number): number {
  const encoding = event.req.headers.get('content-encoding');
  const declared = Number(event.req.headers.get('content-length') ?? NaN);
  if (encoding && encoding.trim().toLowerCase() !== 'identity') return maxBodyBytes;
  return Number.isFinite(declared) && declared >= 0 ? Math.min(declared, maxBodyBytes) : maxBodyBytes;
}

/** Runs `work` (read the body, validate, commit) holding the request's share of the ingestion budget. */
export async function withIngestBudget<T>(
  event: H3Event,
  budget: IngestBudget,
  maxBodyBytes: number,
  work: () => Promise<T>,
): Promise<T> {
  const release = await budget.acquire(bodyCharge(event, maxBodyBytes));
  try {
    return await work();
  } finally {
    release();
  }
}
