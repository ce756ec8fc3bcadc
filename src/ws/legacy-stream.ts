// The legacy Telemetra protocol on /ws/live/{streamId}: after a welcome, one {"type":"metrics","streamId",…,
// "moments"} message every interval, whether or not it changed (that API promised a steady tick). Clients of
// it never speak; they are kept alive by protocol pings alone.
import type { PeerOutbox } from './peer-outbox.ts';

export interface LegacyStream {
  /** Figures of one channel for the legacy {"type":"metrics"} message. */
  metrics(streamId: string): Record<string, unknown> | Promise<Record<string, unknown>>;
  /** Moments of the channel to attach to each message. */
  recentMoments?(streamId: string): unknown[] | Promise<unknown[]>;
}

/** A connected legacy client: the stream it watches and its outbox. */
export interface LegacyPeer {
  legacyStream?: string;
  outbox: PeerOutbox;
}

/** The stream id of a legacy connection: the last path segment of its URL, decoded. */
export function legacyStreamId(url: string): string {
  return decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '');
}

/** The first message on a legacy connection. */
export function legacyWelcome(streamId: string, intervalMs: number): string {
  return JSON.stringify({ type: 'welcome', streamId, intervalMs });
}

/** One interval of the legacy feed: each watched stream's figures fetched once, sent to all its clients. */
export async function legacyTick(
  legacy: LegacyStream,
  peers: Iterable<LegacyPeer>,
  onError: (err: unknown, where: string) => void,
): Promise<void> {
  const byStream = new Map<string, LegacyPeer[]>();
  for (const s of peers)
    if (s.legacyStream !== undefined) byStream.set(s.legacyStream, [...(byStream.get(s.legacyStream) ?? []), s]);
  for (const [streamId, list] of byStream) {
    try {
      const [metrics, moments] = await Promise.all([legacy.metrics(streamId), legacy.recentMoments?.(streamId) ?? []]);
      const text = JSON.stringify({ ...metrics, type: 'metrics', streamId, timestamp: Date.now(), moments });
      for (const s of list) s.outbox.queue('metrics', text);
    } catch (err) {
      onError(err, `legacy metrics ${streamId}`);
    }
  }
}
