// The analytics engine inside the m3w process: owns the live tracker, rolls play sessions up per minute and
// per hour, finds moments, and runs retention, on node-cron schedules. Work is done in slices that yield to
// the event loop, so HTTP stays responsive while a minute with 100,000 open sessions is rolled up.
import cron, { type ScheduledTask } from 'node-cron';
import type { ResolvedConfig } from '../config/index.ts';
import type { PlayEvent } from '../ingest/index.ts';
import { LiveTracker } from '../live/tracker.ts';
import type { Logger } from '../observability/index.ts';
import type { PlayEventOutcome, PlaySessionFacts, RollupStep, Store, StreamRollupRow } from '../store/index.ts';
import { detectMoments, type DetectorOptions, type Moment, type SeriesPoint } from './moments.ts';
import { addRow, deriveQoe, emptyTotals, type QoeMetric } from './qoe-metrics.ts';
import { retentionCutoffs, runRetention, type RetentionReport } from './retention.ts';
import { adjustAggregate, emptyAggregate, type OpenAggregate } from '../tools/open-aggregate.ts';
import { ROLLUP_DIMENSIONS, rollupValues, viewerKey } from '../tools/stream-dimensions.ts';
import { HOUR, MINUTE } from '../tools/time-units.ts';
import { StreamRollupAccumulator } from './stream-rollup.ts';

/** Late events older than this no longer change rollups (events may arrive up to 24 h late). */
const LATE_LIMIT_MS = 24 * HOUR;
/** Sessions handled between two yields to the event loop. */
const SLICE = 500;
/** Channels (and contents) checked for moments each minute. */
const MAX_CHANNELS_WATCHED = 200;
const STATE_NEXT_MINUTE = 'rollup.next_minute';
const STATE_RETENTION = 'retention.last_run';
const STATE_SNAPSHOT_AT = 'live.snapshot_at';
const STATE_SNAPSHOT_OPEN = 'live.snapshot_open';

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export interface EngineOptions {
  /** Schedules off: tests and benchmarks drive the jobs themselves. */
  schedules?: boolean;
}

export interface MinuteJobReport {
  minutes: number;
  recomputedFrom: number | null;
  hours: number;
  durationMs: number;
  /** Longest stretch without yielding to the event loop, and where it was. */
  longestSliceMs: number;
  longestSliceAt: string;
}

export class AnalyticsEngine {
  readonly live = new LiveTracker();
  private readonly listeners = new Set<(m: Moment) => void>();
  private tasks: ScheduledTask[] = [];
  private syncTimer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  private stopped = false;
  /** Moments still going on, by series and kind: the next minute extends them instead of opening new ones. */
  private readonly openMoments = new Map<string, Moment>();

  constructor(
    private readonly store: Store,
    private readonly config: ResolvedConfig,
    private readonly logger: Logger,
  ) {}

  /** Restores the live tracker, catches up missed minutes and starts the schedules. */
  async start(opts: EngineOptions = {}): Promise<void> {
    const open = await this.store.listOpenPlaySessions();
    for (const s of open) this.live.open(s);
    const snapshot = await this.store.getEngineState(STATE_SNAPSHOT_OPEN);
    this.logger.info({ open: open.length, lastSnapshotOpen: snapshot }, 'live sessions restored');
    if (opts.schedules === false) return;
    this.tasks.push(
      cron.schedule('0 * * * * *', () => this.background(() => this.minuteJob(Date.now())), { noOverlap: true }),
    );
    this.tasks.push(
      cron.schedule('0 2 * * *', () => this.background(() => this.retention(false, Date.now())), { noOverlap: true }),
    );
    this.syncTimer = setInterval(
      () => this.background(() => this.syncNow(Date.now())),
      this.config.sessionSyncIntervalSeconds * 1000,
    );
    this.syncTimer.unref();
    // Catch up now rather than at the next whole minute, and run retention if the last one is over a day old.
    this.background(() => this.minuteJob(Date.now()));
    this.background(async () => {
      const last = await this.store.getEngineState(STATE_RETENTION);
      if (last === null || Date.now() - last > 24 * HOUR) await this.retention(false, Date.now());
    });
  }

  /** Stops the schedules, waits for a running job, and takes a last snapshot. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.tasks) await t.stop();
    this.tasks = [];
    if (this.syncTimer) clearInterval(this.syncTimer);
    while (this.running) await this.running.catch(() => undefined);
    try {
      await this.snapshot();
    } catch (err) {
      // Shutdown goes on: the open sessions are durable in play_sessions anyway, the snapshot only records them.
      this.logger.error({ err }, 'last live snapshot failed');
    }
  }

  /** Runs one job at a time, so jobs never see each other's half-done work. */
  private async exclusive<T>(job: () => Promise<T>): Promise<T> {
    while (this.running) await this.running.catch(() => undefined);
    const p = job();
    this.running = p;
    try {
      return await p;
    } finally {
      if (this.running === p) this.running = null;
    }
  }

  /** For timers: a failed job is logged, never thrown into the scheduler. */
  private background(job: () => Promise<unknown>): void {
    if (this.stopped) return;
    this.exclusive(job).catch((err: unknown) => this.logger.error({ err }, 'analytics job failed'));
  }

  // ---- live ----

  /** Brings the live tracker in line with events that were just committed (outcomes from the store). */
  applyPlayEvents(events: readonly PlayEvent[], outcomes: readonly PlayEventOutcome[]): void {
    events.forEach((e, i) => {
      const o = outcomes[i];
      if (o === 'opened')
        this.live.open({
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
      else if (o === 'closed') this.live.close(e.id);
    });
  }

  /**
   * Every sessionSyncIntervalSeconds: closes stale sessions and records a snapshot of the tracker. Open
   * sessions themselves are durable as they arrive (the webhook answers after the commit), so a restart
   * restores them from the play_sessions table and loses nothing acknowledged; the snapshot records what
   * the tracker held, for the log and for checking the restore.
   */
  sync(now = Date.now()): Promise<void> {
    return this.exclusive(() => this.syncNow(now));
  }

  private async syncNow(now: number): Promise<void> {
    const stale = this.live.openedBefore(now - this.config.staleSessionHours * HOUR);
    if (stale.length > 0) {
      const closed = await this.store.closeStalePlaySessions(stale, now);
      for (const id of closed) this.live.close(id);
      // Sessions a webhook closed meanwhile are closed already: drop them from the tracker too.
      for (const id of stale) this.live.close(id);
      this.logger.info({ closed: closed.length }, 'stale play sessions closed');
    }
    await this.snapshot(now);
  }

  private async snapshot(now = Date.now()): Promise<void> {
    await this.store.setEngineState(STATE_SNAPSHOT_OPEN, this.live.size);
    await this.store.setEngineState(STATE_SNAPSHOT_AT, now);
  }

  // ---- rollups ----

  /**
   * Rolls up every complete minute not yet rolled up (catching up after downtime, up to minuteRollupDays),
   * recomputes minutes that late events touched, then the hours those minutes complete or change, then
   * looks for moments in the new minutes.
   */
  runMinuteJob(now = Date.now()): Promise<MinuteJobReport> {
    return this.exclusive(() => this.minuteJob(now));
  }

  private async minuteJob(now: number): Promise<MinuteJobReport> {
    const started = performance.now();
    const timer = new SliceTimer();
    const target = Math.floor(now / MINUTE) * MINUTE;
    const stored = await this.store.getEngineState(STATE_NEXT_MINUTE);
    const oldest = target - this.config.minuteRollupDays * 24 * HOUR;
    const next = Math.max(stored ?? target - MINUTE, oldest);
    let recomputeFrom: number | null = null;
    const dirty = await this.store.takeDirtyStreamMinute(next);
    if (dirty !== null) recomputeFrom = Math.max(dirty, target - LATE_LIMIT_MS, oldest);
    const from = recomputeFrom !== null ? Math.min(recomputeFrom, next) : next;
    let minutes = 0;
    let hours = 0;
    if (from < target) {
      // Hour-sized windows keep memory bounded when catching up a long gap.
      for (let w = from; w < target; w = Math.min(target, Math.floor(w / HOUR) * HOUR + HOUR)) {
        const wEnd = Math.min(target, Math.floor(w / HOUR) * HOUR + HOUR);
        const rows = await this.rollupWindow(60_000, w, wEnd, timer);
        timer.mark('line 184');
        await this.store.replaceStreamRollups(60_000, w, wEnd, rows);
        timer.mark('line 186');
        minutes += (wEnd - w) / MINUTE;
        await yieldToLoop();
        timer.reset();
      }
      await this.store.setEngineState(STATE_NEXT_MINUTE, target);
      // Hours that are complete and were touched.
      for (let h = Math.floor(from / HOUR) * HOUR; h + HOUR <= target; h += HOUR) {
        const rows = await this.rollupWindow(3_600_000, h, h + HOUR, timer);
        timer.mark('hour rollup');
        await this.store.replaceStreamRollups(3_600_000, h, h + HOUR, rows);
        timer.mark('hour rows written');
        hours++;
        await yieldToLoop();
        timer.reset();
      }
      await yieldToLoop();
      timer.reset();
      await this.detectNewMoments(Math.max(next, target - 10 * MINUTE), target);
      timer.mark('moments');
    }
    return {
      minutes,
      recomputedFrom: recomputeFrom,
      hours,
      durationMs: performance.now() - started,
      longestSliceMs: timer.longest,
      longestSliceAt: timer.longestAt,
    };
  }

  /**
   * Rollup rows of [from, to). Sessions the live tracker holds that opened before `from` were open for the
   * whole window (they are still open now): they are added as the aggregates the tracker keeps per dimension
   * value (count and viewers), bucket by bucket. Only closed sessions (from the store) and sessions that opened
   * since `from` are added one by one, in slices that yield to the event loop. So 100,000 viewers cost a few
   * hundred additions a minute, not 600,000.
   */
  private async rollupWindow(
    step: RollupStep,
    from: number,
    to: number,
    timer: SliceTimer,
  ): Promise<StreamRollupRow[]> {
    const closed = await this.store.closedPlaySessionsOverlapping(from, to);
    timer.mark('line 214');
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
        timer.mark('line 240');
        await yieldToLoop();
        timer.reset();
      }
    }
    const takeRecent = (s: PlaySessionFacts) => {
      excludedIds.set(s.id, s);
      adjust(s, 1);
      if (s.openedAt < to && !closedIds.has(s.id)) acc.add(s);
    };
    const version = this.live.version;
    const recent = this.live.openedSince(from);
    // Mostly new sessions (an hour of short plays): adding every open session alone is cheaper than keeping
    // the exclusions that the aggregates would need.
    if (recent.length * 2 > this.live.size) return this.rollupOneByOne(acc, closedIds, to, timer);
    for (const s of recent) {
      takeRecent(s);
      if (++done % SLICE === 0) {
        timer.mark('line 254');
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
    const changes = this.live.changesSince(version);
    if (changes)
      for (const { session, opened } of changes) {
        if (opened) {
          if (session.openedAt >= from && !excludedIds.has(session.id)) takeRecent(session);
        } else if (excludedIds.get(session.id) === session) untrack(session);
      }
    else {
      for (const s of this.live.openedSince(from)) if (!excludedIds.has(s.id)) takeRecent(s);
      for (const [id, s] of excludedIds) if (this.live.get(id) !== s) untrack(s);
    }
    for (const id of closedIds) {
      const tracked = this.live.get(id);
      if (tracked && !excludedIds.has(id)) {
        excludedIds.set(id, tracked);
        adjust(tracked, 1);
      }
    }
    const none: OpenAggregate = emptyAggregate();
    for (let d = 0; d < ROLLUP_DIMENSIONS.length; d++)
      for (const [value, all] of this.live.openAggregates(d))
        acc.addOpenForWholeBuckets(d, value, all, excluded[d]!.get(value) ?? none);
    const rows = acc.rows();
    timer.mark('line 287');
    return rows;
  }

  /** Finishes a rollup window with every open session of the tracker added on its own. */
  private async rollupOneByOne(
    acc: StreamRollupAccumulator,
    closedIds: ReadonlySet<string>,
    to: number,
    timer: SliceTimer,
  ): Promise<StreamRollupRow[]> {
    // A copy: the tracker changes while this yields. A session whose close is committed but not yet applied
    // to the tracker was added from its closed row already.
    const open = this.live.snapshot();
    for (let i = 0; i < open.length; i++) {
      const s = open[i]!;
      if (s.openedAt < to && !closedIds.has(s.id)) acc.add(s);
      if (i % SLICE === SLICE - 1) {
        timer.mark('one by one');
        await yieldToLoop();
        timer.reset();
      }
    }
    const rows = acc.rows();
    timer.mark('one by one rows');
    return rows;
  }

  /** Rollup rows of [from, to) recomputed from the raw play_sessions rows alone (tests, repair). */
  async recomputeFromRaw(step: RollupStep, from: number, to: number): Promise<StreamRollupRow[]> {
    const acc = new StreamRollupAccumulator(step, from, to);
    for (const s of await this.store.closedPlaySessionsOverlapping(from, to)) acc.add(s);
    for (const s of await this.store.openPlaySessionsBefore(to)) acc.add(s);
    return acc.rows();
  }

  /** Per-minute rows of one series over the last `minutes` complete minutes (dashboard live page). */
  async recentSeries(dimension: string, value: string, minutes = 60, now = Date.now()): Promise<StreamRollupRow[]> {
    const to = Math.floor(now / MINUTE) * MINUTE;
    return this.store.streamSeries(60_000, dimension, value, to - minutes * MINUTE, to);
  }

  // ---- moments ----

  /** Subscribes to new and updated moments; returns the unsubscribe function. */
  onMoment(listener: (m: Moment) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private detectorOptions(kinds: DetectorOptions['kinds'], minSd: number): DetectorOptions {
    const m = this.config.moments;
    return { baselineMinutes: m.baselineMinutes, zThreshold: m.zThreshold, minVolume: m.minVolume, kinds, minSd };
  }

  /** Looks at minutes [from, to) of the watched series and stores / publishes moments that touch them. */
  private async detectNewMoments(from: number, to: number): Promise<void> {
    const windowFrom = from - (this.config.moments.baselineMinutes + 5) * MINUTE;
    const viewers = async (dimension: string, value: string) => {
      const rows = await this.store.streamSeries(60_000, dimension, value, windowFrom, to);
      const points = fillMinutes(
        windowFrom,
        to,
        rows.map((r) => ({ t: r.t, value: r.peakConcurrent, volume: r.peakConcurrent })),
        0,
      );
      await this.record(
        points,
        from,
        this.detectorOptions(['spike', 'drop'], 1),
        'concurrent_viewers',
        dimension,
        value,
        null,
      );
    };
    await viewers('global', '');
    // Channels seen in the minutes looked at, busiest first; a long tail of tiny channels is not worth a look.
    for (const channel of (await this.store.streamValues('channel', from, to)).slice(0, MAX_CHANNELS_WATCHED))
      await viewers('channel', channel);

    for (const app of await this.store.listApps()) {
      const series = async (dimension: string, value: string) => {
        const rows = await this.store.qoeRows(60_000, app.id, dimension, value, windowFrom, to);
        const byMetric = (metric: QoeMetric) =>
          rows.map((r) => {
            const totals = emptyTotals();
            addRow(totals, r);
            return { t: r.t, value: deriveQoe(totals)[metric], volume: r.sessions };
          });
        await this.record(
          byMetric('playback_failure_pct'),
          from,
          this.detectorOptions(['spike'], 0.5),
          'playback_failure_pct',
          dimension,
          value,
          app.id,
        );
        await this.record(
          byMetric('startup_p95_ms'),
          from,
          this.detectorOptions(['spike'], 50),
          'startup_p95_ms',
          dimension,
          value,
          app.id,
        );
        await this.record(
          byMetric('rebuffer_pct'),
          from,
          this.detectorOptions(['spike'], 0.5),
          'rebuffer_pct',
          dimension,
          value,
          app.id,
        );
      };
      await series('global', '');
      const contents = new Set<string>();
      for (const c of await this.store.qoeRows(60_000, app.id, 'contentId', null, from, to))
        if (c.sessions >= this.config.moments.minVolume) contents.add(c.value);
      for (const content of [...contents].slice(0, MAX_CHANNELS_WATCHED)) await series('contentId', content);
    }
  }

  private async record(
    points: SeriesPoint[],
    from: number,
    opts: DetectorOptions,
    metric: string,
    dimension: string,
    value: string,
    appId: string | null,
  ): Promise<void> {
    for (const d of detectMoments(points, opts)) {
      if (d.endedAt <= from) continue; // already reported by an earlier run
      const key = `${appId ?? ''}\u0000${metric}\u0000${dimension}\u0000${value}\u0000${d.kind}`;
      let known = this.openMoments.get(key);
      if (!known || known.startedAt !== d.startedAt) {
        // Found by a run before a restart: continue that row rather than store the moment twice.
        const stored = (
          await this.store.listMoments({ from: d.startedAt, to: d.startedAt + 1, metric, dimension, value, limit: 20 })
        ).find((m) => m.kind === d.kind && m.startedAt === d.startedAt && m.appId === appId);
        if (stored) known = stored;
      }
      const moment: Moment = {
        id: known && known.startedAt === d.startedAt ? known.id : 0,
        kind: d.kind,
        metric,
        dimension,
        value,
        startedAt: d.startedAt,
        endedAt: d.endedAt,
        peakValue: d.peakValue,
        baseline: d.baseline,
        zScore: d.zScore,
        threshold: opts.zThreshold,
        appId,
      };
      if (moment.id !== 0 && known!.endedAt === moment.endedAt && known!.peakValue === moment.peakValue) continue;
      moment.id = await this.store.saveMoment(moment);
      this.openMoments.set(key, moment);
      for (const l of this.listeners) {
        try {
          l(moment);
        } catch (err) {
          this.logger.error({ err }, 'moment listener failed');
        }
      }
    }
  }

  // ---- retention ----

  /** Deletes (or with dryRun only counts) what is past its retention. */
  runRetention(dryRun: boolean, now = Date.now()): Promise<RetentionReport> {
    return this.exclusive(() => this.retention(dryRun, now));
  }

  private async retention(dryRun: boolean, now: number): Promise<RetentionReport> {
    const report = await runRetention(this.store, retentionCutoffs(this.config, now), dryRun);
    if (!dryRun) {
      await this.store.setEngineState(STATE_RETENTION, now);
      this.logger.info({ ...report.counts, ms: Math.round(report.durationMs) }, 'retention done');
    }
    return report;
  }
}

/** One point per minute of [from, to): missing minutes get `missing` (viewers: no row means nobody watched). */
function fillMinutes(from: number, to: number, points: SeriesPoint[], missing: number | null): SeriesPoint[] {
  const byT = new Map(points.map((p) => [p.t, p]));
  const out: SeriesPoint[] = [];
  for (let t = from; t < to; t += MINUTE) out.push(byT.get(t) ?? { t, value: missing, volume: 0 });
  return out;
}

/** Measures the longest stretch of synchronous work between yields. */
class SliceTimer {
  longest = 0;
  longestAt = '';
  private since = performance.now();
  mark(at: string): void {
    const d = performance.now() - this.since;
    if (d > this.longest) {
      this.longest = d;
      this.longestAt = at;
    }
  }
  reset(): void {
    this.since = performance.now();
  }
}

export type { PlaySessionFacts };
