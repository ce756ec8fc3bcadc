// The legacy Telemetra protocol on /ws/live/{streamId}: after a welcome, one {"type":"metrics","streamId",…,
// "moments"} message every interval, whether or not it changed (that API promised a steady tick). Clients of
// it never speak; they are kept alive by protocol pings alone. The hub (live-hub.ts) accepts the connection and
// authenticates it; what follows — which stream it may watch, its welcome, its ticks — is this module's.
import type { Peer } from 'crossws';
import type { PeerOutbox } from './peer-outbox.ts';

export interface LegacyStream {
  /** Figures of one stream (the `stream` topic argument, e.g. "<app>:<channel>") for the {"type":"metrics"} message. */
  metrics(stream: string): Record<string, unknown> | Promise<Record<string, unknown>>;
  /** Moments of the stream to attach to each message. */
  recentMoments?(stream: string): unknown[] | Promise<unknown[]>;
}

/**
 * A connected client as this protocol sees it: the stream it watches (the `stream` topic argument and the id it
 * asked for; both unset on a /ws/live peer), its outbox, and when it was last heard from.
 */
export interface LegacyPeer {
  peer: Peer;
  legacyStream?: string;
  legacyName?: string;
  outbox: PeerOutbox;
  lastHeard: number;
}

/** What opening a legacy connection needs from the hub. */
export interface LegacyOpen<P> {
  intervalMs: number;
  /** The hub's `stream` topic, whose authorize() has the last word on the resolved argument. */
  stream?: { authorize(arg: string, principal: P): boolean | Promise<boolean> };
  /** The `stream` topic argument a stream id maps to for this caller, or null when it may not watch it. */
  legacyTopic?(streamId: string, request: Request, principal: P): Promise<string | null>;
  /** Adds the peer to the hub's peers (only once it may watch its stream). */
  admit(): void;
}

/** Whether a hub peer speaks this protocol. */
export const isLegacyPeer = (s: LegacyPeer): boolean => s.legacyStream !== undefined;

/** The topics a legacy peer follows, for re-authorisation. */
export const legacyFollows = (s: LegacyPeer): string[] => [`stream:${s.legacyStream}`];

/** A legacy client spoke: whatever it says is ignored, but it is alive. */
export function legacyHeard(s: LegacyPeer): void {
  s.lastHeard = Date.now();
}

/**
 * Opens an authenticated legacy connection: resolves the stream of its URL for the principal, closes it 4403 when
 * it may not watch that stream, and otherwise admits it to the hub and sends its welcome.
 */
export function openLegacyPeer<P>(s: LegacyPeer & { principal: P }, o: LegacyOpen<P>): void {
  const { peer, principal } = s;
  const streamId = legacyStreamId(peer.request.url);
  const resolve = async (): Promise<string | null> => {
    const arg = o.legacyTopic ? await o.legacyTopic(streamId, peer.request as Request, principal) : streamId;
    if (arg === null) return null;
    return !o.stream || (await o.stream.authorize(arg, principal)) ? arg : null;
  };
  void resolve().then((arg) => {
    if (arg === null) return peer.close(4403, `not allowed to watch stream ${streamId}`.slice(0, 120));
    s.legacyStream = arg;
    s.legacyName = streamId;
    o.admit();
    s.outbox.sendNow(legacyWelcome(streamId, o.intervalMs));
  });
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
  for (const [stream, list] of byStream) {
    try {
      const [metrics, moments] = await Promise.all([legacy.metrics(stream), legacy.recentMoments?.(stream) ?? []]);
      const streamId = list[0]!.legacyName ?? stream;
      const text = JSON.stringify({ ...metrics, type: 'metrics', streamId, timestamp: Date.now(), moments });
      for (const s of list) s.outbox.queue('metrics', text);
    } catch (err) {
      onError(err, `legacy metrics ${stream}`);
    }
  }
}
