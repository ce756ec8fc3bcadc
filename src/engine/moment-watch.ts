// The moment watch: after each minute job, looks for spikes and drops in the watched series (viewers per app
// and channel, QoE per app and content, chat per watch-party room), stores new and extended moments, and tells
// the subscribers.
// Each run looks again at a window that slid by a minute, so the same change can be found with a different
// start: a detection that overlaps (or follows within the merge gap) a stored moment of the same series and kind
// extends that row instead of adding one — a rise that lasts is one moment, not one per minute.
// A small app has too few sessions a minute to be judged (minVolume): its QoE is judged over the smallest of
// 5, 15 or 60-minute buckets that usually holds minVolume sessions, once per completed bucket.
import type { ResolvedConfig } from '../config/index.ts';
import type { Logger } from '../observability/index.ts';
import type { QoeRollupRow, RoomMinuteRecord, Store } from '../store/index.ts';
import { MINUTE } from '../tools/time-units.ts';
import { type DetectorOptions, detectMoments, type Moment, type SeriesPoint } from './moments.ts';
import { mergeHistogram } from '../tools/startup-histogram.ts';
import { addRow, deriveQoe, emptyTotals, type QoeMetric } from './qoe-metrics.ts';

/** Channels (and contents) checked for moments each minute. */
const MAX_CHANNELS_WATCHED = 200;
/** Bucket widths (minutes) a small app's QoE is judged over, smallest first. */
const SMALL_APP_BUCKETS = [5, 15, 60] as const;
/** How far back an app's usual traffic is measured, to choose its bucket. */
const TRAFFIC_LOOKBACK = 3 * 60 * MINUTE;
/** Baseline length (buckets) over coarse buckets: a day of hours at most, so the query stays small. */
const MAX_COARSE_BASELINE = 24;
const MERGE_GAP = 5;

export class MomentWatch {
  private readonly listeners = new Set<(m: Moment) => void>();
  /** Moments still going on, by series and kind: the next minute extends them instead of opening new ones. */
  private readonly openMoments = new Map<string, Moment>();

  constructor(
    private readonly store: Store,
    private readonly config: ResolvedConfig,
    private readonly logger: Logger,
  ) {}

  /** Subscribes to new and updated moments; returns the unsubscribe function. */
  onMoment(listener: (m: Moment) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private detectorOptions(kinds: DetectorOptions['kinds'], minSd: number, bucketMinutes = 1): DetectorOptions {
    const m = this.config.moments;
    return {
      baselineMinutes: bucketMinutes === 1 ? m.baselineMinutes : Math.min(m.baselineMinutes, MAX_COARSE_BASELINE),
      zThreshold: m.zThreshold,
      minVolume: m.minVolume,
      kinds,
      minSd,
      bucketMs: bucketMinutes * MINUTE,
      mergeGap: MERGE_GAP,
    };
  }

  /**
   * The bucket (minutes) an app's QoE is judged over (its 'global' rows, which reach back TRAFFIC_LOOKBACK at
   * least): 1 when its usual minute holds minVolume sessions, else the smallest coarse bucket that does (60 at most).
   */
  private bucketFor(global: readonly QoeRollupRow[], to: number): number {
    const rows = global.filter((r) => r.t >= to - TRAFFIC_LOOKBACK);
    if (rows.length === 0) return 1;
    const sessions = rows.reduce((a, r) => a + r.sessions, 0);
    const span = Math.max(1, (to - rows[0]!.t) / MINUTE);
    const perMinute = sessions / span;
    if (perMinute >= this.config.moments.minVolume) return 1;
    return SMALL_APP_BUCKETS.find((b) => perMinute * b >= this.config.moments.minVolume) ?? 60;
  }

  /**
   * Looks at minutes [from, to) of the watched series and stores / publishes moments that touch them. Every
   * series comes from one read (Store.momentWatchRows): on Postgres a read per series cost a round trip each.
   */
  async detect(from: number, to: number): Promise<void> {
    const m = this.config.moments;
    const windowFrom = from - (m.baselineMinutes + 5) * MINUTE;
    // A small app's coarsest buckets (an hour) reach back furthest: (baseline + 5) buckets before the last end.
    // (Only small apps' series are read back that far: the store tells them apart as bucketFor does.)
    const hour = 60 * MINUTE;
    const coarseBaseline = this.detectorOptions(['spike'], 0, 60).baselineMinutes;
    const qoeHistoryFrom = Math.min(
      windowFrom,
      to - TRAFFIC_LOOKBACK,
      Math.floor(to / hour) * hour - (coarseBaseline + 5) * hour,
    );
    const read = await this.store.momentWatchRows({
      windowFrom,
      from,
      to,
      trafficFrom: to - TRAFFIC_LOOKBACK,
      qoeHistoryFrom,
      maxValues: MAX_CHANNELS_WATCHED,
      minVolume: m.minVolume,
    });

    // Viewers per app ('global') and per channel (the busiest seen in the minutes looked at; a long tail of tiny
    // channels is not worth a look). Apps with stream figures in the baseline window: a drop to nobody leaves
    // the new minutes without rows.
    for (const rows of runs(read.stream, (r) => `${r.appId}\u0000${r.dimension}\u0000${r.value}`)) {
      const { appId, dimension, value } = rows[0]!;
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
        appId,
      );
    }

    await this.detectRooms(read.rooms, from, windowFrom, to);

    // QoE per app, and per content (those with a minute of minVolume sessions in the minutes looked at).
    for (const appRows of runs(read.qoe, (r) => r.appId)) {
      const appId = appRows[0]!.appId;
      const global = appRows.filter((r) => r.dimension === 'global');
      const bucket = this.bucketFor(global, to);
      if (bucket === 1) {
        const recent = global.filter((r) => r.t >= windowFrom);
        if (recent.length > 0) await this.recordQoe(recent, 1, from, 'global', '', appId);
        const contents = appRows.filter((r) => r.dimension === 'contentId');
        for (const rows of runs(contents, (r) => r.value))
          await this.recordQoe(rows, 1, from, 'contentId', rows[0]!.value, appId);
        continue;
      }
      // A small app: judged once per completed bucket, over buckets of `bucket` minutes (the app as a whole).
      const width = bucket * MINUTE;
      const lastEnd = Math.floor(to / width) * width;
      if (lastEnd < from) continue; // no bucket completed in these minutes
      const baseline = this.detectorOptions(['spike'], 0, bucket).baselineMinutes;
      const coarseFrom = lastEnd - (baseline + 5) * width;
      const rows = global.filter((r) => r.t >= coarseFrom && r.t < lastEnd);
      await this.recordQoe(bucketRows(rows, width), bucket, from, 'global', '', appId);
    }
  }

  /**
   * Watch-party rooms: a spike in chat messages, or a drop in chat sentiment (when scored). A room's minute is
   * stored a moment after it ends, possibly after this run: the minute before `from` is looked at again.
   */
  private async detectRooms(
    minutes: readonly RoomMinuteRecord[],
    from: number,
    windowFrom: number,
    to: number,
  ): Promise<void> {
    for (const rows of runs(minutes, (r) => r.roomId)) {
      const { roomId, appId } = rows[0]!;
      const chat = fillMinutes(
        windowFrom,
        to,
        rows.map((r) => ({ t: r.minute, value: r.messages, volume: r.messages })),
        0,
      );
      const since = from - MINUTE;
      await this.record(chat, since, this.detectorOptions(['spike'], 1), 'chat_messages', 'room', roomId, appId);
      const mood = rows
        .filter((r) => r.sentiment !== null)
        .map((r) => ({ t: r.minute, value: r.sentiment, volume: r.sentimentN }));
      await this.record(mood, since, this.detectorOptions(['drop'], 0.5), 'chat_sentiment', 'room', roomId, appId);
    }
  }

  /** The three QoE metrics of one series (rows one per point, in time order) through the detector. */
  private async recordQoe(
    rows: QoeRollupRow[],
    bucket: number,
    from: number,
    dimension: string,
    value: string,
    appId: string,
  ): Promise<void> {
    const byMetric = (metric: QoeMetric) =>
      rows.map((r) => {
        const totals = emptyTotals();
        addRow(totals, r);
        return { t: r.t, value: deriveQoe(totals)[metric], volume: r.sessions };
      });
    for (const [metric, minSd] of [
      ['playback_failure_pct', 0.5],
      ['startup_p95_ms', 50],
      ['rebuffer_pct', 0.5],
    ] as const)
      await this.record(
        byMetric(metric),
        from,
        this.detectorOptions(['spike'], minSd, bucket),
        metric,
        dimension,
        value,
        appId,
      );
  }

  private async record(
    points: SeriesPoint[],
    from: number,
    opts: DetectorOptions,
    metric: string,
    dimension: string,
    value: string,
    appId: string,
  ): Promise<void> {
    const gapMs = (opts.mergeGap ?? 0) * (opts.bucketMs ?? MINUTE);
    for (const d of detectMoments(points, opts)) {
      if (d.endedAt <= from) continue; // already reported by an earlier run
      const key = `${appId}\u0000${metric}\u0000${dimension}\u0000${value}\u0000${d.kind}`;
      const sameChange = (m: Moment | undefined): m is Moment =>
        !!m && m.kind === d.kind && d.startedAt <= m.endedAt + gapMs && d.endedAt >= m.startedAt;
      // With several instances the last run may have been another's: its rows, not this cache, are current.
      let known = this.store.sharedByInstances ? undefined : this.openMoments.get(key);
      if (!sameChange(known)) {
        // Found by an earlier run (before a restart, or over a window that started elsewhere): continue that row.
        known = (
          await this.store.listMoments({
            from: d.startedAt - gapMs,
            to: d.endedAt,
            metric,
            dimension,
            value,
            apps: [appId],
            limit: 20,
          })
        ).find(sameChange);
      }
      const spike = d.kind === 'spike';
      const moment: Moment = known
        ? {
            ...known,
            startedAt: Math.min(known.startedAt, d.startedAt),
            endedAt: Math.max(known.endedAt, d.endedAt),
            peakValue: spike ? Math.max(known.peakValue, d.peakValue) : Math.min(known.peakValue, d.peakValue),
            zScore: Math.abs(d.zScore) > Math.abs(known.zScore) ? d.zScore : known.zScore,
          }
        : {
            id: 0,
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
      if (
        known &&
        known.startedAt === moment.startedAt &&
        known.endedAt === moment.endedAt &&
        known.peakValue === moment.peakValue
      ) {
        this.openMoments.set(key, known);
        continue;
      }
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
}

/** One point per minute of [from, to): missing minutes get `missing` (viewers: no row means nobody watched). */
function fillMinutes(from: number, to: number, points: SeriesPoint[], missing: number | null): SeriesPoint[] {
  const byT = new Map(points.map((p) => [p.t, p]));
  const out: SeriesPoint[] = [];
  for (let t = from; t < to; t += MINUTE) out.push(byT.get(t) ?? { t, value: missing, volume: 0 });
  return out;
}

/** Minute rows summed into buckets of `width` ms (one row per bucket that has any), in time order. */
function bucketRows(rows: readonly QoeRollupRow[], width: number): QoeRollupRow[] {
  const out = new Map<number, QoeRollupRow>();
  for (const r of rows) {
    const t = Math.floor(r.t / width) * width;
    const b = out.get(t);
    if (!b) {
      out.set(t, { ...r, t, startupHist: [...r.startupHist] });
      continue;
    }
    // Every figure of a rollup row is a sum or a count, so a bucket is their sums (and the merged histogram).
    for (const k of Object.keys(r) as Array<keyof QoeRollupRow>)
      if (k !== 't' && typeof r[k] === 'number') (b[k] as number) += r[k] as number;
    mergeHistogram(b.startupHist, r.startupHist);
  }
  return [...out.values()].sort((a, b) => a.t - b.t);
}

/** Rows grouped into runs of the same key (the rows come sorted by it), in order. */
function runs<T>(rows: readonly T[], key: (r: T) => string): T[][] {
  const out: T[][] = [];
  let last: string | undefined;
  for (const r of rows) {
    const k = key(r);
    if (out.length === 0 || k !== last) out.push([]);
    out[out.length - 1]!.push(r);
    last = k;
  }
  return out;
}
