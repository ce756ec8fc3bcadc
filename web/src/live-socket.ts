// The dashboard's end of /ws/live: subscribes to topics, hands updates to listeners, answers and sends
// heartbeats, and reconnects by itself (with backoff) when the connection is lost, re-subscribing on the way.
// The browser authenticates it with the session cookie.
export type LiveStatus = 'connecting' | 'live' | 'reconnecting';
type Listener = (data: unknown) => void;

const HEARTBEAT_MS = 15_000;

export class LiveSocket {
  private ws: WebSocket | null = null;
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly refusedListeners = new Map<string, Set<() => void>>();
  private readonly statusListeners = new Set<(s: LiveStatus) => void>();
  private status: LiveStatus = 'connecting';
  private attempt = 0;
  private lastHeard = 0;
  private heartbeat: ReturnType<typeof setInterval> | null = null;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;

  /**
   * @param onUnauthorized called when the server refuses the connection (4401: the access cookie expired);
   *   resolves true once the session is refreshed, false when the user must sign in again.
   */
  constructor(
    private readonly onUnauthorized: () => Promise<boolean> = async () => true,
    private readonly path = '/ws/live',
  ) {
    this.connect();
  }

  /**
   * Listens to a topic (overview:<app>, active, stream:<channel>, moments, video:<id>); returns the unsubscribe.
   * `onRefused` runs if the server refuses the topic (it closes with 4403 naming it: the thing is gone or no
   * longer visible); the topic is then dropped, so reconnecting does not ask for it again and again.
   */
  subscribe(topic: string, fn: Listener, onRefused?: () => void): () => void {
    let set = this.listeners.get(topic);
    if (!set) {
      set = new Set();
      this.listeners.set(topic, set);
      this.sendJson({ type: 'subscribe', topic });
    }
    set.add(fn);
    if (onRefused) {
      let refused = this.refusedListeners.get(topic);
      if (!refused) this.refusedListeners.set(topic, (refused = new Set()));
      refused.add(onRefused);
    }
    return () => {
      set.delete(fn);
      if (onRefused) this.refusedListeners.get(topic)?.delete(onRefused);
      if (set.size === 0 && this.listeners.get(topic) === set) {
        this.listeners.delete(topic);
        this.refusedListeners.delete(topic);
        this.sendJson({ type: 'unsubscribe', topic });
      }
    };
  }

  /** The server refused a topic: forget it and tell who followed it. */
  private refuse(topic: string): void {
    const refused = this.refusedListeners.get(topic);
    this.listeners.delete(topic);
    this.refusedListeners.delete(topic);
    for (const fn of refused ?? []) fn();
  }

  onStatus(fn: (s: LiveStatus) => void): () => void {
    this.statusListeners.add(fn);
    fn(this.status);
    return () => this.statusListeners.delete(fn);
  }

  close(): void {
    this.stopped = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.ws?.close(1000, 'signed out');
  }

  private setStatus(s: LiveStatus): void {
    if (s === this.status) return;
    this.status = s;
    for (const fn of this.statusListeners) fn(s);
  }

  private sendJson(msg: unknown): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  private connect(): void {
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${this.path}`;
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.onopen = () => {
      this.lastHeard = Date.now();
      for (const topic of this.listeners.keys()) this.sendJson({ type: 'subscribe', topic });
    };
    ws.onmessage = (ev) => {
      this.lastHeard = Date.now();
      let msg: { type?: string; topic?: string; data?: unknown; moment?: unknown };
      try {
        msg = JSON.parse(String(ev.data));
      } catch {
        return;
      }
      if (msg.type === 'welcome') {
        this.attempt = 0;
        this.setStatus('live');
      } else if (msg.type === 'ping') this.sendJson({ type: 'pong' });
      else if (msg.type === 'update' && msg.topic) for (const fn of this.listeners.get(msg.topic) ?? []) fn(msg.data);
      else if (msg.type === 'moment') for (const fn of this.listeners.get('moments') ?? []) fn(msg.moment);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      if (ev.code === 4403) {
        // "not allowed to subscribe to <topic>" / "no longer allowed to follow <topic>": the other topics are
        // fine, so reconnect at once without the refused one.
        const topic = /(?:subscribe to|follow) (\S+)$/.exec(ev.reason)?.[1];
        if (topic && this.listeners.has(topic)) {
          this.refuse(topic);
          this.attempt = 0;
        }
      }
      if (ev.code !== 4401) return this.reconnect();
      this.ws = null;
      this.setStatus('reconnecting');
      void this.onUnauthorized().then((ok) => {
        if (!ok) return this.close();
        // Signed in again: connect now, not after the backoff that the outage before it built up (up to 10 s).
        this.attempt = 0;
        this.reconnect();
      });
    };
    this.heartbeat ??= setInterval(() => {
      if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
      // A connection that has said nothing for two heartbeats is dead even if the browser has not noticed:
      // drop it without waiting for a closing handshake that will never come.
      if (Date.now() - this.lastHeard > 2 * HEARTBEAT_MS + 5000) {
        this.ws.close(4000, 'no heartbeat');
        this.reconnect();
      } else this.sendJson({ type: 'ping' });
    }, HEARTBEAT_MS);
  }

  private reconnect(): void {
    this.ws = null;
    if (this.stopped) return;
    this.setStatus('reconnecting');
    const delay = Math.min(10_000, 500 * 2 ** this.attempt++);
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }
}
