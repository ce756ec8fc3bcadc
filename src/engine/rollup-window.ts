// One rollup window: the stream rollup rows of [from, to) from the closed sessions in the store and the open
// ones in the live tracker, computed in slices that yield to the event loop.
import type { LiveTracker } from '../live/index.ts';
import type { PlaySessionFacts, RollupStep, Store, StreamRollupRow } from '../store/index.ts';
import { adjustAggregate, emptyAggregate, type OpenAggregate } from '../tools/open-aggregate.ts';
import { ROLLUP_DIMENSIONS, rollupValues, viewerKey } from '../tools/stream-dimensions.ts';
import { SLICE, type SliceTimer, yieldToLoop } from './slice-timer.ts';
import { StreamRollupAccumulator } from './stream-rollup.ts';

/**
 * Rollup rows of [from, to). Sessions the live tracker holds that opened before `from` were open for the
 * whole window (they are still open now): they are added as the aggregates the tracker keeps per dimension
 * value (count and viewers), bucket by bucket. Only closed sessions (from the store) and sessions that opened
 * since `from` are added one by one, in slices that yield to the event loop. So 100,000 viewers cost a few
 * hundred additions a minute, not 600,000.
 */
export async function rollupWindow(
  store: Store,
  live: LiveTracker,
  step: RollupStep,
  from: number,
  to: number,
  timer: SliceTimer,
): Promise<StreamRollupRow[]> {
  const closed = await store.closedPlaySessionsOverlapping(from, to);
  timer.mark('closed sessions read');
  timer.reset();
  const acc = new StreamRollupAccumulator(step, from, to);
  // Tracker sessions not to count as open all window, summed like the tracker's aggregates: those that
  // opened since `from`, and those whose close is committed but not yet applied to the tracker.
  const excluded: Array<Map<string, OpenAggregate>> = ROLLUP_DIMENSIONS.map(() => new Map());
  const excludedIds = new Map<string, PlaySessionFacts>();
  const values: string[] = [];
  const adjust = (s: PlaySessionFacts, sign: 1 | -1) => {
    const viewer = viewerKey(s);
    rollupValues(s, values);
    for (let d = 0; d < values.length; d++) {
      let agg = excluded[d]!.get(values[d]!);
      if (!agg) excluded[d]!.set(values[d]!, (agg = emptyAggregate()));
      adjustAggregate(agg, viewer, sign);
    }
  };
  const closedIds = new Set<string>();
  let done = 0;
  for (const c of closed) {
    acc.add(c);
    closedIds.add(c.id);
    if (++done % SLICE === 0) {
      timer.mark('closed sessions added');
      await yieldToLoop();
      timer.reset();
    }
  }
  const takeRecent = (s: PlaySessionFacts) => {
    excludedIds.set(s.id, s);
    adjust(s, 1);
    if (s.openedAt < to && !closedIds.has(s.id)) acc.add(s);
  };
  const version = live.version;
  const recent = live.openedSince(from);
  // Mostly new sessions (an hour of short plays): adding every open session alone is cheaper than keeping
  // the exclusions that the aggregates would need.
  if (recent.length * 2 > live.size) return rollupOneByOne(live, acc, closedIds, to, timer);
  for (const s of recent) {
    takeRecent(s);
    if (++done % SLICE === 0) {
      timer.mark('recent sessions added');
      await yieldToLoop();
      timer.reset();
    }
  }
  // From here to rows() nothing awaits: the tracker's live aggregates must not change underneath. Bring
  // the exclusions in line with the tracker as it is now.
  const untrack = (s: PlaySessionFacts) => {
    adjust(s, -1); // closed meanwhile: no longer in the aggregates (it was counted on its own)
    excludedIds.delete(s.id);
  };
  const changes = live.changesSince(version);
  if (changes)
    for (const { session, opened } of changes) {
      if (opened) {
        if (session.openedAt >= from && !excludedIds.has(session.id)) takeRecent(session);
      } else if (excludedIds.get(session.id) === session) untrack(session);
    }
  else {
    for (const s of live.openedSince(from)) if (!excludedIds.has(s.id)) takeRecent(s);
    for (const [id, s] of excludedIds) if (live.get(id) !== s) untrack(s);
  }
  for (const id of closedIds) {
    const tracked = live.get(id);
    if (tracked && !excludedIds.has(id)) {
      excludedIds.set(id, tracked);
      adjust(tracked, 1);
    }
  }
  const none: OpenAggregate = emptyAggregate();
  for (let d = 0; d < ROLLUP_DIMENSIONS.length; d++)
    for (const [value, all] of live.openAggregates(d))
      acc.addOpenForWholeBuckets(d, value, all, excluded[d]!.get(value) ?? none);
  const rows = acc.rows();
  timer.mark('open aggregates and rows');
  return rows;
}

/** Finishes a rollup window with every open session of the tracker added on its own. */
async function rollupOneByOne(
  live: LiveTracker,
  acc: StreamRollupAccumulator,
  closedIds: ReadonlySet<string>,
  to: number,
  timer: SliceTimer,
): Promise<StreamRollupRow[]> {
  // A copy: the tracker changes while this yields. A session whose close is committed but not yet applied
  // to the tracker was added from its closed row already.
  const open = live.snapshot();
  for (let i = 0; i < open.length; i++) {
    const s = open[i]!;
    if (s.openedAt < to && !closedIds.has(s.id)) acc.add(s);
    if (i % SLICE === SLICE - 1) {
      timer.mark('open sessions added one by one');
      await yieldToLoop();
      timer.reset();
    }
  }
  const rows = acc.rows();
  timer.mark('one-by-one rows');
  return rows;
}

/** Rollup rows of [from, to) recomputed from the raw play_sessions rows alone (tests, repair). */
export async function recomputeFromRaw(
  store: Store,
  step: RollupStep,
  from: number,
  to: number,
): Promise<StreamRollupRow[]> {
  const acc = new StreamRollupAccumulator(step, from, to);
  for (const s of await store.closedPlaySessionsOverlapping(from, to)) acc.add(s);
  for (const s of await store.openPlaySessionsBefore(to)) acc.add(s);
  return acc.rows();
}
