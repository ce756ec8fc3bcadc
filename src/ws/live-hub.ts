// The live feed behind the dashboard: WebSocket peers subscribe to topics ("overview:<app>", "active:<app>",
// "stream:<app>:<channel>", "moments"); every interval the hub takes each subscribed topic's snapshot once and sends
// it to its subscribers only when it changed. A topic that can tell when its data changed (watch) is sent at
// once if it was quiet for an interval — the first session after a lull shows without waiting for the next
// tick — but never more than once per interval. Moments are pushed the moment they are published. A slow peer is
// never buffered without bound: while its socket holds more than maxBufferedBytes unsent, updates wait in one
// slot per topic that the next update overwrites (latest state wins), and go out when it drains.
//
// Who may connect and what each topic holds are injected (authenticate, topics, onMoment), so the hub knows
// nothing of accounts, the store or the engine; it is generic over the principal type for the same reason.
//
// Protocol (JSON text frames):
//   server → {"type":"welcome","intervalMs","heartbeatMs","topics":[prefixes]}
//   client → {"type":"subscribe","topic"} | {"type":"unsubscribe","topic"} | {"type":"ping"} | {"type":"pong"}
//   server → {"type":"subscribed","topic"} | {"type":"unsubscribed","topic"} | {"type":"update","topic","data","at"}
//            | {"type":"moment","moment"} | {"type":"ping","t"} | {"type":"pong","t"} | {"type":"error","message"}
//   Close codes: 4401 not authenticated (or no longer: login revoked, user disabled), 4403 topic not allowed
//   (or no longer: grant revoked; every peer is re-authorised on each interval and on reauthorize()), 4429 more than maxMessagesPerSecond from the
//   client, 1001 server stopping. A peer that answers neither protocol pings nor JSON pings for two heartbeats
//   is terminated, and so is one that keeps sending while reading nothing (its replies would pile up).
// This module holds the peers and their topics, the client messages, the interval and the heartbeat. What was
// last sent of each topic is topic-feed.ts's; accepting and opening connections is live-connection.ts's; legacy
// Telemetra clients (/ws/live/{streamId}) speak the protocol of legacy-stream.ts; every peer's sending goes
// through its PeerOutbox (peer-outbox.ts).
import type { Hooks } from 'crossws';
import { isLegacyPeer, type LegacyStream, legacyFollows, legacyTick } from './legacy-stream.ts';
import { connectionHooks, type LiveConnections, type PeerState } from './live-connection.ts';
import { type LiveTopic, splitTopic, TopicFeed, updateMessage } from './topic-feed.ts';

export type { LiveTopic } from './topic-feed.ts';

export interface LiveHubOptions<P> {
  intervalMs: number;
  /** The principal behind an upgrade request (cookie, ticket, key…), or null to refuse it (close 4401). */
  authenticate(request: Request): Promise<P | null>;
  /** Topic prefix → definition; "overview" serves "overview:<app>", "active" serves "active:<app>". */
  topics: Record<string, LiveTopic<P>>;
  /**
   * The principal as it is now (grants change, users are disabled, logins revoked), or null when it may no
   * longer connect (closed 4401). Without it a principal keeps what it had at connection.
   */
  refresh?(principal: P): Promise<P | null>;
  /**
   * The `stream` topic argument a legacy /ws/live/{streamId} connection follows (e.g. "<app>:<streamId>"), or
   * null when the caller may not watch it (closed 4403). Default: the stream id itself.
   */
  legacyTopic?(streamId: string, request: Request, principal: P): Promise<string | null>;
  /** Registers a listener for new or updated moments; returns its removal. */
  onMoment?(listener: (moment: unknown) => void): () => void;
  /** Who may receive a pushed moment (default: every "moments" subscriber). */
  momentVisibleTo?(moment: unknown, principal: P): boolean;
  legacy?: LegacyStream;
  /** Application-level heartbeat; a peer silent for two of them (plus a grace second) is closed. */
  heartbeatMs?: number;
  maxBufferedBytes?: number;
  maxTopicsPerPeer?: number;
  /** Client messages allowed per second (subscribe, ping…); a client over it is closed with 4429. */
  maxMessagesPerSecond?: number;
  onError?(err: unknown, where: string): void;
}

export interface LiveHealth {
  connections: number;
  legacyConnections: number;
  /** Subscribers per topic kind (the prefix before the colon). */
  topics: Record<string, number>;
}

export interface LiveHub {
  /** Hooks for /ws/live. */
  readonly hooks: Partial<Hooks>;
  /** Hooks for /ws/live/{streamId}; the stream id is the last path segment. */
  readonly legacyHooks: Partial<Hooks>;
  health(): LiveHealth;
  /** Pushes a moment to subscribers now (also what onMoment calls). */
  publishMoment(moment: unknown): void;
  /** Runs one interval immediately (tests, and after a burst of ingestion). */
  tick(): Promise<void>;
  /** Checks every peer's principal and topics again now (after a grant, user or login changed). */
  reauthorize(): Promise<void>;
  close(): void;
}

export function createLiveHub<P>(opts: LiveHubOptions<P>): LiveHub {
  const heartbeatMs = opts.heartbeatMs ?? 15_000;
  const maxBuffered = opts.maxBufferedBytes ?? 256 * 1024;
  const maxTopics = opts.maxTopicsPerPeer ?? 64;
  const maxMessages = opts.maxMessagesPerSecond ?? 20;
  const onError = opts.onError ?? (() => {});
  const peers = new Set<PeerState<P>>();
  const feed = new TopicFeed(opts.topics, opts.intervalMs, onError);
  let ticking = false;
  let checkQueued = false;
  let momentSeq = 0;
  let closed = false;

  const split = splitTopic;
  const topicDef = (prefix: string): LiveTopic<P> | undefined => feed.definition(prefix);

  const sendNow = (s: PeerState<P>, text: string) => s.outbox.sendNow(text);
  const queue = (s: PeerState<P>, slot: string, text: string) => s.outbox.queue(slot, text);
  const flush = (s: PeerState<P>) => s.outbox.flush();

  async function subscribe(s: PeerState<P>, topic: unknown): Promise<void> {
    if (typeof topic !== 'string' || topic.length === 0 || topic.length > 200) {
      sendNow(
        s,
        JSON.stringify({ type: 'error', message: 'subscribe: topic must be a string of 1 to 200 characters' }),
      );
      return;
    }
    const [prefix, arg] = split(topic);
    const def = topicDef(prefix);
    if (!def) {
      sendNow(
        s,
        JSON.stringify({
          type: 'error',
          message: `unknown topic ${JSON.stringify(topic)}; topics are ${Object.keys(opts.topics).join(', ')}`,
        }),
      );
      return;
    }
    // A re-check that began while this one awaited may have run before the topic was added: check again
    // (with the principal it refreshed) until none overlapped, so a revoked grant never lets one through.
    let allowed: boolean;
    let checks: number;
    do {
      checks = s.accessChecks;
      allowed = await def.authorize(arg, s.principal);
    } while (allowed && checks !== s.accessChecks);
    if (!allowed) {
      // Refused outright, as the protocol promises: a client that asks for what it may not see is misconfigured.
      s.peer.close(4403, `not allowed to subscribe to ${topic}`.slice(0, 120));
      return;
    }
    if (!s.topics.has(topic) && s.topics.size >= maxTopics) {
      sendNow(s, JSON.stringify({ type: 'error', message: `at most ${maxTopics} topics per connection` }));
      return;
    }
    s.topics.add(topic);
    sendNow(s, JSON.stringify({ type: 'subscribed', topic }));
    // The current state at once, so a page does not wait an interval to draw: the state other subscribers
    // last got (the next interval brings any change to all of them), or, for a topic nobody watched, a fresh one.
    const known = feed.lastSent(topic);
    if (known !== undefined) {
      queue(s, topic, updateMessage(topic, known));
      return;
    }
    const text = await feed.snapshotText(topic).catch((err) => void onError(err, `snapshot ${topic}`));
    if (text === undefined || !s.topics.has(topic)) return;
    const meanwhile = feed.lastSent(topic); // an interval ran during the await and sent it to the others
    if (meanwhile !== undefined) return queue(s, topic, updateMessage(topic, meanwhile));
    feed.sent(topic, text);
    const message = updateMessage(topic, text);
    for (const other of peers) if (other.topics.has(topic)) queue(other, topic, message);
  }

  async function onMessage(s: PeerState<P>, raw: string): Promise<void> {
    const now = Date.now();
    s.lastHeard = now;
    if (now - s.window.start >= 1000) s.window = { start: now, count: 0 };
    if (++s.window.count > maxMessages) {
      s.peer.close(4429, `more than ${maxMessages} messages per second`);
      return;
    }
    let msg: { type?: unknown; topic?: unknown };
    try {
      msg = JSON.parse(raw) as typeof msg;
    } catch {
      sendNow(s, JSON.stringify({ type: 'error', message: 'messages must be JSON objects' }));
      return;
    }
    switch (msg?.type) {
      case 'subscribe':
        return subscribe(s, msg.topic);
      case 'unsubscribe':
        if (typeof msg.topic === 'string') {
          s.topics.delete(msg.topic);
          s.outbox.forget(msg.topic);
          // Nobody watches it any more: its last snapshot is forgotten now, not at the next interval, so one who
          // subscribes again soon (a video retried right after it failed) gets the state of now, not a stale one.
          const topic = msg.topic;
          if (![...peers].some((other) => other.topics.has(topic))) feed.forget(topic);
          sendNow(s, JSON.stringify({ type: 'unsubscribed', topic: msg.topic }));
        }
        return;
      case 'ping':
        sendNow(s, `{"type":"pong","t":${Date.now()}}`);
        return;
      case 'pong':
        return;
      default:
        sendNow(s, JSON.stringify({ type: 'error', message: 'type must be subscribe, unsubscribe, ping or pong' }));
    }
  }

  function publishMoment(moment: unknown): void {
    const text = JSON.stringify({ type: 'moment', moment });
    const slot = `moment:${++momentSeq}`;
    for (const s of peers) {
      if (!s.topics.has('moments')) continue;
      if (opts.momentVisibleTo && !opts.momentVisibleTo(moment, s.principal)) continue;
      // Moments are events, not states: each keeps its own slot so a backed-up peer still gets every one.
      queue(s, slot, text);
    }
  }

  /** Sends each changed topic's new state to its subscribers (see TopicFeed.sendChanged). */
  function sendChanged(topics: Iterable<string>): Promise<void> {
    return feed.sendChanged(topics, (topic, message) => {
      for (const s of peers) if (s.topics.has(topic)) queue(s, topic, message);
    });
  }

  function subscribedTopics(): Set<string> {
    const wanted = new Set<string>();
    for (const s of peers) for (const t of s.topics) wanted.add(t);
    return wanted;
  }

  /** Closes a peer that may no longer see what it follows: 4401 when it may not connect at all, else 4403. */
  async function reauthorizePeer(s: PeerState<P>): Promise<void> {
    s.accessChecks++;
    if (opts.refresh) {
      const fresh = await opts.refresh(s.principal);
      if (fresh === null) {
        peers.delete(s);
        s.peer.close(4401, 'authentication no longer valid: sign in again');
        return;
      }
      s.principal = fresh;
    }
    const follows = isLegacyPeer(s) ? legacyFollows(s) : [...s.topics];
    for (const topic of follows) {
      const [prefix, arg] = split(topic);
      const def = topicDef(prefix);
      if (def && !(await def.authorize(arg, s.principal))) {
        peers.delete(s);
        s.peer.close(4403, `no longer allowed to follow ${topic}`.slice(0, 120));
        return;
      }
    }
  }

  async function reauthorize(): Promise<void> {
    await Promise.all([...peers].map((s) => reauthorizePeer(s).catch((err) => onError(err, 'reauthorize'))));
  }

  async function tick(): Promise<void> {
    if (ticking || closed) return;
    ticking = true;
    try {
      // Permissions change (grants, disabled users, revoked logins, deleted apps): nothing more is sent to a
      // peer that lost them.
      await reauthorize();
      const now = Date.now();
      for (const s of peers) {
        // A peer silent for two heartbeats is gone (a browser tab frozen, a phone off Wi-Fi): free its slot.
        // Terminated, not closed: a dead peer would never finish a closing handshake.
        if (now - s.lastHeard > 2 * heartbeatMs + 1000) {
          s.peer.terminate();
          peers.delete(s);
        }
      }
      const wanted = subscribedTopics();
      await sendChanged(wanted);
      feed.keepOnly(wanted);
      for (const s of peers) flush(s);
      if (opts.legacy) await legacyTick(opts.legacy, peers, onError);
    } finally {
      ticking = false;
    }
  }

  /** A topic said its data changed: check the quiet topics now (coalesced; a running tick covers it anyway). */
  function changed(): void {
    if (checkQueued || closed) return;
    checkQueued = true;
    setImmediate(() => {
      checkQueued = false;
      if (ticking || closed) return;
      ticking = true;
      sendChanged(subscribedTopics())
        .catch((err) => onError(err, 'changed'))
        .finally(() => (ticking = false));
    });
  }

  const interval = setInterval(() => void tick().catch((err) => onError(err, 'tick')), opts.intervalMs);
  for (const topic of Object.values(opts.topics)) topic.watch?.(changed);
  interval.unref();
  // Both kinds of ping: every WebSocket client answers a protocol ping by itself (so clients written against the
  // legacy API, which never speak, stay alive), and pages, which cannot see protocol pings, get a JSON one.
  const heartbeat = setInterval(() => {
    const text = `{"type":"ping","t":${Date.now()}}`;
    for (const s of peers) {
      s.peer.ping('m3w');
      if (!isLegacyPeer(s)) sendNow(s, text);
    }
  }, heartbeatMs);
  heartbeat.unref();
  const stopMoments = opts.onMoment?.(publishMoment);
  const connections: LiveConnections<P> = {
    peers,
    authenticate: opts.authenticate,
    legacyTopic: opts.legacyTopic,
    intervalMs: opts.intervalMs,
    heartbeatMs,
    maxBufferedBytes: maxBuffered,
    topicNames: Object.keys(opts.topics),
    topicDef,
    isClosed: () => closed,
    onMessage,
    onError,
  };

  return {
    hooks: connectionHooks(connections, false),
    legacyHooks: connectionHooks(connections, true),
    health() {
      const topics: Record<string, number> = {};
      let legacyConnections = 0;
      for (const s of peers) {
        if (isLegacyPeer(s)) legacyConnections++;
        for (const t of s.topics) {
          const kind = split(t)[0];
          topics[kind] = (topics[kind] ?? 0) + 1;
        }
      }
      return { connections: peers.size - legacyConnections, legacyConnections, topics };
    },
    publishMoment,
    tick,
    reauthorize,
    close() {
      closed = true;
      clearInterval(interval);
      clearInterval(heartbeat);
      stopMoments?.();
      for (const s of peers) s.peer.close(1001, 'server stopping');
      peers.clear();
    },
  };
}
