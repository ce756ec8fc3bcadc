// A fixed log-scale histogram of startup times; a leaf that the engine reads and the store writes.
// Buckets grow by 10 %, so any quantile read from merged histograms is within 5 % of the exact one (the
// representative value is the bucket's geometric middle: at most √1.1 − 1 ≈ 4.9 % from any value in it).
// Fixed buckets are what lets minutes, hours and dimensions be added together without keeping raw values.

const GROWTH = 1.1;
const LOG_GROWTH = Math.log(GROWTH);
/** Bucket 0 holds 0 ms (below 1 ms); bucket i ≥ 1 holds [1.1^(i-1), 1.1^i) ms; the last one everything above. */
export const STARTUP_BUCKETS = 160; // 1.1^159 ms ≈ 3.8 million s: far beyond any real startup time

export function startupBucket(ms: number): number {
  if (!(ms >= 1)) return 0;
  return Math.min(STARTUP_BUCKETS - 1, Math.floor(Math.log(ms) / LOG_GROWTH) + 1);
}

/** The value a bucket stands for: its geometric middle. */
export function bucketValue(bucket: number): number {
  if (bucket <= 0) return 0;
  return Math.pow(GROWTH, bucket - 0.5);
}

/** Nearest-rank quantile (q in 0..1) of a dense histogram; null when it is empty. */
export function histogramQuantile(hist: ArrayLike<number>, q: number): number | null {
  let total = 0;
  for (let i = 0; i < hist.length; i++) total += hist[i]!;
  if (total <= 0) return null;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let i = 0; i < hist.length; i++) {
    seen += hist[i]!;
    if (seen >= rank) return bucketValue(i);
  }
  return bucketValue(hist.length - 1);
}

/** Adds `from` into `into` (both dense). */
export function mergeHistogram(into: number[], from: ArrayLike<number>): void {
  for (let i = 0; i < from.length; i++) if (from[i]) into[i] = (into[i] ?? 0) + from[i]!;
}

export function emptyHistogram(): number[] {
  return new Array<number>(STARTUP_BUCKETS).fill(0);
}

/** Sparse storage form: little-endian int32 pairs (bucket, count), zero counts left out. */
export function encodeHistogram(hist: ArrayLike<number>): Buffer | null {
  const pairs: number[] = [];
  for (let i = 0; i < hist.length; i++) if (hist[i]! !== 0) pairs.push(i, hist[i]!);
  return encodePairs(pairs);
}

/** Flat (bucket, count) pairs in storage form; counts may be negative (a delta to add). */
export function encodePairs(pairs: readonly number[]): Buffer | null {
  let n = 0;
  for (let i = 1; i < pairs.length; i += 2) if (pairs[i] !== 0) n++;
  if (n === 0) return null;
  const buf = Buffer.allocUnsafe(n * 8);
  let o = 0;
  for (let i = 0; i < pairs.length; i += 2)
    if (pairs[i + 1] !== 0) {
      buf.writeInt32LE(pairs[i]!, o);
      buf.writeInt32LE(pairs[i + 1]!, o + 4);
      o += 8;
    }
  return buf;
}

/** Stored histogram plus a delta, both in storage form: what the rollup upsert writes back. */
export function addPairs(stored: Uint8Array | null, delta: Uint8Array | null): Buffer | null {
  if (!delta) return stored ? Buffer.from(stored) : null;
  const sum = new Map<number, number>();
  for (const blob of [stored, delta]) {
    if (!blob) continue;
    const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
    for (let o = 0; o + 8 <= blob.byteLength; o += 8) {
      const b = view.getInt32(o, true);
      sum.set(b, (sum.get(b) ?? 0) + view.getInt32(o + 4, true));
    }
  }
  const pairs: number[] = [];
  for (const b of [...sum.keys()].sort((x, y) => x - y)) if (sum.get(b)! > 0) pairs.push(b, sum.get(b)!);
  return encodePairs(pairs);
}

/** Adds a stored histogram into a dense one. */
export function addEncodedHistogram(into: number[], blob: Uint8Array | null): void {
  if (!blob) return;
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  for (let o = 0; o + 8 <= blob.byteLength; o += 8) {
    const bucket = view.getInt32(o, true);
    if (bucket >= 0 && bucket < into.length) into[bucket] = (into[bucket] ?? 0) + view.getInt32(o + 4, true);
  }
}
