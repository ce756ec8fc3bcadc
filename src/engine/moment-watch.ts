// The moment watch: after each minute job, looks for spikes and drops in the watched series (viewers per app
// and channel, QoE per app and content, chat per watch-party room), stores new and extended moments, and tells
// the subscribers.
import type { ResolvedConfig } from '../config/index.ts';
import type { Logger } from '../observability/index.ts';
import type { Store } from '../store/index.ts';
import { MINUTE } from '../tools/time-units.ts';
import { type DetectorOptions, detectMoments, type Moment, type SeriesPoint } from './moments.ts';
import { addRow, deriveQoe, emptyTotals, type QoeMetric } from './qoe-metrics.ts';

/** Channels (and contents) checked for moments each minute. */
const MAX_CHANNELS_WATCHED = 200;

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

  private detectorOptions(kinds: DetectorOptions['kinds'], minSd: number): DetectorOptions {
    const m = this.config.moments;
    return { baselineMinutes: m.baselineMinutes, zThreshold: m.zThreshold, minVolume: m.minVolume, kinds, minSd };
  }

  /** Looks at minutes [from, to) of the watched series and stores / publishes moments that touch them. */
  async detect(from: number, to: number): Promise<void> {
    const windowFrom = from - (this.config.moments.baselineMinutes + 5) * MINUTE;
    const viewers = async (appId: string, dimension: string, value: string) => {
      const rows = await this.store.streamSeries(60_000, appId, dimension, value, windowFrom, to);
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
    };
    // Apps with stream figures in the baseline window (a drop to nobody leaves the new minutes without rows).
    for (const appId of await this.store.streamApps(windowFrom, to)) {
      await viewers(appId, 'global', '');
      // Channels seen in the minutes looked at, busiest first; a long tail of tiny channels is not worth a look.
      const channels = await this.store.streamValues(appId, 'channel', from, to);
      for (const channel of channels.slice(0, MAX_CHANNELS_WATCHED)) await viewers(appId, 'channel', channel);
    }

    await this.detectRooms(from, windowFrom, to);

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

  /**
   * Watch-party rooms: a spike in chat messages, or a drop in chat sentiment (when scored). A room's minute is
   * stored a moment after it ends, possibly after this run: the minute before `from` is looked at again.
   */
  private async detectRooms(from: number, windowFrom: number, to: number): Promise<void> {
    const rooms = await this.store.rooms.roomsWithMinutes(windowFrom, to);
    for (const { roomId, appId } of rooms.slice(0, MAX_CHANNELS_WATCHED)) {
      const rows = await this.store.rooms.roomMinutes(roomId, windowFrom, to);
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

  private async record(
    points: SeriesPoint[],
    from: number,
    opts: DetectorOptions,
    metric: string,
    dimension: string,
    value: string,
    appId: string,
  ): Promise<void> {
    for (const d of detectMoments(points, opts)) {
      if (d.endedAt <= from) continue; // already reported by an earlier run
      const key = `${appId}\u0000${metric}\u0000${dimension}\u0000${value}\u0000${d.kind}`;
      let known = this.openMoments.get(key);
      if (!known || known.startedAt !== d.startedAt) {
        // Found by a run before a restart: continue that row rather than store the moment twice.
        const stored = (
          await this.store.listMoments({
            from: d.startedAt,
            to: d.startedAt + 1,
            metric,
            dimension,
            value,
            apps: [appId],
            limit: 20,
          })
        ).find((m) => m.kind === d.kind && m.startedAt === d.startedAt);
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
}

/** One point per minute of [from, to): missing minutes get `missing` (viewers: no row means nobody watched). */
function fillMinutes(from: number, to: number, points: SeriesPoint[], missing: number | null): SeriesPoint[] {
  const byT = new Map(points.map((p) => [p.t, p]));
  const out: SeriesPoint[] = [];
  for (let t = from; t < to; t += MINUTE) out.push(byT.get(t) ?? { t, value: missing, volume: 0 });
  return out;
}
