// The connections of the live feed: the crossws hooks that authenticate an upgrade, open a peer (a /ws/live
// peer gets the welcome; a legacy /ws/live/{streamId} peer is handed to legacy-stream.ts), route its messages
// to the hub, note its pongs, flush its outbox when the socket drains, and forget it when it goes.
import type { Hooks, Peer } from 'crossws';
import { isLegacyPeer, type LegacyPeer, legacyHeard, openLegacyPeer } from './legacy-stream.ts';
import { PeerOutbox } from './peer-outbox.ts';
import type { LiveTopic } from './topic-feed.ts';

/** A connected peer; its outbox sends replies now, updates in one slot per topic while the socket is backed up. */
export interface PeerState<P> extends LegacyPeer {
  principal: P;
  topics: Set<string>;
  /** Client messages in the current one-second window. */
  window: { start: number; count: number };
  /** Re-checks of this peer's access begun so far: a subscribe whose own check overlapped one checks again. */
  accessChecks: number;
}

/** What the hooks need of the hub. */
export interface LiveConnections<P> {
  /** The hub's peers: a peer is added once admitted and removed when it goes. */
  peers: Set<PeerState<P>>;
  authenticate(request: Request): Promise<P | null>;
  legacyTopic?(streamId: string, request: Request, principal: P): Promise<string | null>;
  intervalMs: number;
  heartbeatMs: number;
  maxBufferedBytes: number;
  /** Topic prefixes, announced in the welcome. */
  topicNames: string[];
  topicDef(prefix: string): LiveTopic<P> | undefined;
  isClosed(): boolean;
  onMessage(s: PeerState<P>, raw: string): Promise<void>;
  onError(err: unknown, where: string): void;
}

const CONTEXT_KEY = 'm3wLive';

const stateOf = <P>(peer: Peer) => peer.context[CONTEXT_KEY] as PeerState<P> | undefined;

/** Hooks for /ws/live, or (legacy) for /ws/live/{streamId}, whose stream id is the last path segment. */
export function connectionHooks<P>(c: LiveConnections<P>, legacy: boolean): Partial<Hooks> {
  return {
    async upgrade(request) {
      let principal: P | null = null;
      try {
        principal = await c.authenticate(request);
      } catch (err) {
        c.onError(err, 'authenticate');
      }
      // Accepted even when unauthenticated, then closed with 4401: a browser cannot read a refused
      // handshake's status, but it can read a close code and reason.
      return { context: { m3wPrincipal: principal } };
    },
    open(peer) {
      if (c.isClosed()) return peer.close(1001, 'server stopping');
      const principal = peer.context.m3wPrincipal as P | null;
      if (principal === null || principal === undefined)
        return peer.close(4401, 'authentication required: sign in, or use a ticket from POST /api/v1/ws-ticket');
      const s: PeerState<P> = {
        peer,
        principal,
        topics: new Set(),
        outbox: new PeerOutbox(peer, {
          maxBufferedBytes: c.maxBufferedBytes,
          onDropped: () => c.peers.delete(s),
          onError: c.onError,
        }),
        lastHeard: Date.now(),
        accessChecks: 0,
        window: { start: 0, count: 0 },
      };
      if (legacy) {
        openLegacyPeer(s, {
          intervalMs: c.intervalMs,
          stream: c.topicDef('stream'),
          legacyTopic: c.legacyTopic,
          admit() {
            peer.context[CONTEXT_KEY] = s;
            c.peers.add(s);
          },
        });
        return;
      }
      peer.context[CONTEXT_KEY] = s;
      c.peers.add(s);
      s.outbox.sendNow(
        JSON.stringify({
          type: 'welcome',
          intervalMs: c.intervalMs,
          heartbeatMs: c.heartbeatMs,
          topics: c.topicNames,
        }),
      );
    },
    async message(peer, message) {
      const s = stateOf<P>(peer);
      if (!s) return;
      if (isLegacyPeer(s)) return legacyHeard(s);
      await c.onMessage(s, message.text()).catch((err) => c.onError(err, 'message'));
    },
    pong(peer) {
      const s = stateOf<P>(peer);
      if (s) s.lastHeard = Date.now();
    },
    drain(peer) {
      const s = stateOf<P>(peer);
      if (s) s.outbox.flush();
    },
    close(peer) {
      const s = stateOf<P>(peer);
      if (s) c.peers.delete(s);
    },
    error(peer) {
      const s = stateOf<P>(peer);
      if (s) c.peers.delete(s);
    },
  };
}
