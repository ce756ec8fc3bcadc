// The analytics engine inside the m3w process: its schedule and lifecycle, composing the parts. It owns the live
// tracker and runs the minute job, the session sync and retention on wall-clock schedules, one job at a time, each
// scheduled run only once it has claimed its bucket (job-runner.ts). Play events go in through play-admission.ts
// (caps, commit, then the tracker); the tracker's restore, stale-play sync and snapshots are live-sync.ts. The
// rollup work itself lives in minute-job.ts, rollup-window.ts and moment-watch.ts.
import type { ResolvedConfig } from '../config/index.ts';
import type { PlayEvent } from '../ingest/index.ts';
import { LiveTracker, type ViewerCounts } from '../live/index.ts';
import type { Logger } from '../observability/index.ts';
import type { RollupStep, Store, StreamRollupRow } from '../store/index.ts';
import { HOUR, MINUTE } from '../tools/time-units.ts';
import { dailyAt, everyHour, everyMinute, type ScheduledJob } from '../tools/wall-clock-schedule.ts';
import { JOBS, JobRunner } from './job-runner.ts';
import { LiveSync } from './live-sync.ts';
import { type MinuteJobReport, minuteJob } from './minute-job.ts';
import { MomentWatch } from './moment-watch.ts';
import type { Moment } from './moments.ts';
import { type PlayIngestOutcome, PlayAdmission } from './play-admission.ts';
import type { QoeFigures, QoeMetric } from './qoe-metrics.ts';
import { type QoePoint, type QoeSummaryPeriod, qoeBreakdown, qoeSeries, qoeSummary } from './qoe-reads.ts';
import { type RetentionReport, retentionCutoffs, runRetention } from './retention.ts';
import { recomputeFromRaw } from './rollup-window.ts';

const STATE_RETENTION = 'retention.last_run';

export interface EngineOptions {
  /** Schedules off: tests and benchmarks drive the jobs themselves. */
  schedules?: boolean;
}

export class AnalyticsEngine {
  /** This process's open plays (rollups, the reaper; on SQLite also the live counts). */
  readonly live = new LiveTracker();
  /**
   * Live counts and caps: the tracker itself on SQLite (one process); on a shared Postgres schema every instance's
   * open plays, read from the database each SHARED_VIEWERS_MS (live-sync.ts).
   */
  readonly viewers: ViewerCounts;
  private readonly liveSync: LiveSync;
  private readonly moments: MomentWatch;
  private readonly admission: PlayAdmission;
  private tasks: ScheduledJob[] = [];
  private syncTimer: NodeJS.Timeout | null = null;
  private readonly jobs: JobRunner;
  private startup: Promise<void> = Promise.resolve();
  private readonly afterMinute: Array<(now: number) => Promise<void>> = [];

  constructor(
    private readonly store: Store,
    private readonly config: ResolvedConfig,
    private readonly logger: Logger,
  ) {
    this.jobs = new JobRunner(store, logger);
    this.moments = new MomentWatch(store, config, logger);
    this.liveSync = new LiveSync(store, config, logger, this.live);
    this.viewers = this.liveSync.shared ?? this.live;
    this.admission = new PlayAdmission(store, config, this.live, this.viewers, this.liveSync.shared);
  }

  /** Restores the live tracker, catches up missed minutes and starts the schedules. */
  async start(opts: EngineOptions = {}): Promise<void> {
    await this.liveSync.restore();
    if (opts.schedules === false) return;
    // Jobs never overlap: background() runs one at a time.
    const minute = () => this.jobs.singleton(JOBS.minute, MINUTE, (now) => this.minuteJob(now));
    const retention = () => this.jobs.singleton(JOBS.retention, 24 * HOUR, (now) => this.retention(false, now));
    // Postgres partitions are made days ahead; hourly runs (and one now) leave room for an outage of days.
    const partitions = () => this.jobs.singleton(JOBS.partitions, HOUR, (now) => this.store.maintainPartitions(now));
    const syncMs = this.config.sessionSyncIntervalSeconds * 1000;
    this.tasks.push(everyMinute(() => this.jobs.background(minute)));
    this.tasks.push(everyHour(() => this.jobs.background(partitions)));
    this.tasks.push(dailyAt(2, () => this.jobs.background(retention)));
    this.syncTimer = setInterval(
      () =>
        this.jobs.background(async () => {
          await this.jobs.singleton(JOBS.staleSessions, syncMs, (now) => this.liveSync.sync(now));
          this.liveSync.forgetStaleElsewhere(Date.now());
        }),
      syncMs,
    );
    this.syncTimer.unref();
    // Catch up now rather than at the next whole minute, and run retention if the last one is over a day old.
    this.startup = Promise.all([
      this.jobs.background(partitions),
      this.jobs.background(minute),
      this.jobs.background(async () => {
        const last = await this.store.getEngineState(STATE_RETENTION);
        if (last === null || Date.now() - last > 24 * HOUR) await retention();
      }),
    ]).then(() => {});
  }

  /**
   * Resolves once the start-up catch-up (the minute job, and retention when the last run is over a day old) has
   * run, failed or not. Tests wait for it: retention deleting old fixture sessions just after they were
   * acknowledged would look like lost writes.
   */
  caughtUp(): Promise<void> {
    return this.startup;
  }

  /** Stops the schedules, waits for a running job, and takes a last snapshot. */
  async stop(): Promise<void> {
    if (this.jobs.stopped) return;
    this.jobs.stop();
    for (const t of this.tasks) t.stop();
    this.tasks = [];
    this.liveSync.stopReading();
    if (this.syncTimer) clearInterval(this.syncTimer);
    await this.jobs.idle();
    try {
      await this.liveSync.snapshot();
    } catch (err) {
      // Shutdown goes on: the open sessions are durable in play_sessions anyway, the snapshot only records them.
      this.logger.error({ err }, 'last live snapshot failed');
    }
  }

  // ---- live ----

  /**
   * Commits one app's play events to the store, then brings the live tracker in line with what was
   * committed. The outcomes (one per event: opened, closed, duplicate...) are the store's, except for a
   * play_started that would open a session beyond the caps (liveMaxOpenPlays in all, liveMaxOpenPlaysPerApp
   * per app): it is not stored and its outcome names the cap. Callers answer only after this.
   */
  ingestPlayEvents(appId: string, events: readonly PlayEvent[], now = Date.now()): Promise<PlayIngestOutcome[]> {
    return this.admission.ingest(appId, events, now);
  }

  /** Drops a deleted app's open plays from the live tracker (its rows went with the app). */
  forgetApp(appId: string): void {
    this.live.forgetApp(appId);
  }

  /**
   * Every sessionSyncIntervalSeconds: closes stale sessions and records a snapshot of the tracker. Open
   * sessions themselves are durable as they arrive (the webhook answers after the commit), so a restart
   * restores them from the play_sessions table and loses nothing acknowledged; the snapshot records what
   * the tracker held, for the log and for checking the restore.
   */
  sync(now = Date.now()): Promise<void> {
    return this.jobs.exclusive(() => this.liveSync.sync(now));
  }

  // ---- rollups ----

  /**
   * Rolls up every complete minute not yet rolled up (catching up after downtime, up to minuteRollupDays),
   * recomputes minutes that late events touched, then the hours those minutes complete or change, then
   * looks for moments in the new minutes.
   */
  runMinuteJob(now = Date.now()): Promise<MinuteJobReport> {
    return this.jobs.exclusive(() => this.minuteJob(now));
  }

  private async minuteJob(now: number): Promise<MinuteJobReport> {
    const report = await minuteJob(
      { store: this.store, config: this.config, live: this.live, moments: this.moments },
      now,
    );
    // Listeners (alert rules) run after the rows and moments are written, with the job's clock; one that fails
    // is logged and never fails the job.
    for (const fn of this.afterMinute)
      try {
        await fn(now);
      } catch (err) {
        this.logger.error({ err }, 'after-minute listener failed');
      }
    return report;
  }

  /** Runs `fn(now)` after each minute job (alert evaluation); returns the unsubscribe function. */
  onMinuteDone(fn: (now: number) => Promise<void>): () => void {
    this.afterMinute.push(fn);
    return () => {
      const i = this.afterMinute.indexOf(fn);
      if (i >= 0) this.afterMinute.splice(i, 1);
    };
  }

  /** Rollup rows of [from, to) recomputed from the raw play_sessions rows alone (tests, repair). */
  recomputeFromRaw(step: RollupStep, from: number, to: number): Promise<StreamRollupRow[]> {
    return recomputeFromRaw(this.store, step, from, to);
  }

  /** Per-minute rows of one app's series over the last `minutes` complete minutes (dashboard live page). */
  async recentSeries(
    appId: string,
    dimension: string,
    value: string,
    minutes = 60,
    now = Date.now(),
  ): Promise<StreamRollupRow[]> {
    const to = Math.floor(now / MINUTE) * MINUTE;
    return this.store.streamSeries(60_000, appId, dimension, value, to - minutes * MINUTE, to);
  }

  // ---- QoE reads ----

  /** One QoE metric of an app (or one dimension value) with a point for every bucket of [from, to). */
  qoeSeries(
    step: RollupStep,
    appId: string,
    metric: QoeMetric,
    filter: { dimension: string; value: string },
    from: number,
    to: number,
  ): Promise<QoePoint[]> {
    return qoeSeries(this.store, step, appId, metric, filter.dimension, filter.value, from, to);
  }

  /** Every QoE metric per value of one dimension of an app over [from, to), most sessions first. */
  qoeBreakdown(
    step: RollupStep,
    appId: string,
    dimension: string,
    from: number,
    to: number,
  ): Promise<Array<{ value: string } & QoeFigures>> {
    return qoeBreakdown(this.store, step, appId, dimension, from, to);
  }

  /**
   * Every QoE figure of [from, to) as one exact row, and of the period of equal length before it (percentiles
   * from the merged histograms, bitrate weighted by play time while the raw sessions are kept).
   */
  qoeSummary(
    appId: string,
    filter: { dimension: string; value: string },
    from: number,
    to: number,
    now = Date.now(),
  ): Promise<{ current: QoeSummaryPeriod; previous: QoeSummaryPeriod }> {
    return qoeSummary(this.store, appId, filter, from, to, retentionCutoffs(this.config, now).raw);
  }

  // ---- moments ----

  /** Subscribes to new and updated moments; returns the unsubscribe function. */
  onMoment(listener: (m: Moment) => void): () => void {
    return this.moments.onMoment(listener);
  }

  // ---- retention ----

  /** Deletes (or with dryRun only counts) what is past its retention. */
  runRetention(dryRun: boolean, now = Date.now()): Promise<RetentionReport> {
    return this.jobs.exclusive(() => this.retention(dryRun, now));
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
