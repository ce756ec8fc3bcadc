// Open sessions of one (dimension, value) summed up: kept live by the tracker, subtracted by the rollup window.

/** Open sessions of one (dimension, value) taken as a whole: how many, and their viewers with session counts. */
export interface OpenAggregate {
  count: number;
  viewers: Map<string, number>;
}

/** An empty aggregate. */
export function emptyAggregate(): OpenAggregate {
  return { count: 0, viewers: new Map() };
}

/** Adds (sign 1) or removes (sign -1) one session of `viewer`; a viewer with no session left is dropped. */
export function adjustAggregate(agg: OpenAggregate, viewer: string, sign: 1 | -1): void {
  agg.count += sign;
  const n = (agg.viewers.get(viewer) ?? 0) + sign;
  if (n > 0) agg.viewers.set(viewer, n);
  else agg.viewers.delete(viewer);
}
