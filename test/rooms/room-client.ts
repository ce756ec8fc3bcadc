// A watch-party member for tests: a real WebSocket client (ws) whose clock runs `offsetMs` off the real one and
// whose every frame, both ways, is held back `latencyMs` — the simulated clocks and networks of the protocol
// tests. It answers the server's pings like a player would and estimates the server clock from its own pings.
import { Compile } from 'typebox/compile';
import WebSocket from 'ws';
import { RoomServerMessage } from '../../src/wire/room-socket.ts';
import { ClockEstimator } from '../../web/src/clock-estimator.ts';

// Every message a test member receives must be what the room page is typed to read: a message that does not fit
// its wire schema fails the test run (an unhandled error), whichever test it came up in.
const serverMessage = Compile(RoomServerMessage);
function checkWire(m: unknown): void {
  if (serverMessage.Check(m)) return;
  const errors = [...serverMessage.Errors(m)].map((e) => `${e.instancePath} ${e.message}`).slice(0, 5);
  throw new Error(`room message does not fit RoomServerMessage: ${JSON.stringify(m).slice(0, 300)}: ${errors}`);
}

export type Msg = Record<string, any>;

export interface ClientOptions {
  offsetMs?: number;
  latencyMs?: number;
  /** Answer server pings (default true); false simulates a member that ignores heartbeats. */
  answerPings?: boolean;
  headers?: Record<string, string>;
}

export class RoomClient {
  readonly messages: Msg[] = [];
  readonly clock = new ClockEstimator();
  /** Local (client clock) time each message was handled at, by index. */
  readonly receivedAt: number[] = [];
  closed: Promise<{ code: number; reason: string }>;
  private waiters = new Set<() => void>();
  private pings = new Map<number, number>();

  private constructor(
    readonly ws: WebSocket,
    readonly opts: Required<Omit<ClientOptions, 'headers'>>,
  ) {
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => {
        // After the frames still held back by the simulated latency.
        setTimeout(() => {
          resolve({ code, reason: reason.toString() });
          for (const w of this.waiters) w();
        }, this.opts.latencyMs + 5);
      }),
    );
    ws.on('message', (data) => {
      const text = String(data);
      setTimeout(() => this.receive(JSON.parse(text) as Msg), this.opts.latencyMs);
    });
  }

  static open(url: string, opts: ClientOptions = {}): Promise<RoomClient> {
    const ws = new WebSocket(url, { headers: opts.headers ?? {} });
    const client = new RoomClient(ws, {
      offsetMs: opts.offsetMs ?? 0,
      latencyMs: opts.latencyMs ?? 0,
      answerPings: opts.answerPings ?? true,
    });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client));
      ws.once('error', reject);
    });
  }

  /** This client's clock. */
  now(): number {
    return Date.now() + this.opts.offsetMs;
  }

  private receive(m: Msg): void {
    checkWire(m);
    this.messages.push(m);
    this.receivedAt.push(this.now());
    if (m.type === 'ping' && this.opts.answerPings) this.send({ type: 'pong', serverTime: m.serverTime });
    if (m.type === 'pong' && typeof m.clientTime === 'number' && this.pings.has(m.clientTime)) {
      this.pings.delete(m.clientTime);
      this.clock.add(m.clientTime, m.serverTime, this.now());
    }
    for (const w of this.waiters) w();
  }

  send(msg: unknown): void {
    const text = typeof msg === 'string' ? msg : JSON.stringify(msg);
    setTimeout(() => {
      if (this.ws.readyState === WebSocket.OPEN) this.ws.send(text);
    }, this.opts.latencyMs);
  }

  /** Sends a raw frame now (hostile tests: binary, oversized). */
  sendRaw(data: string | Buffer): void {
    this.ws.send(data);
  }

  /** One clock sample: ping, wait for its pong. */
  async ping(): Promise<void> {
    const t = this.now();
    this.pings.set(t, t);
    const from = this.messages.length;
    this.send({ type: 'ping', clientTime: t });
    await this.next((m) => m.type === 'pong' && m.clientTime === t, 5000, from);
  }

  async syncClock(samples = 8): Promise<void> {
    for (let i = 0; i < samples; i++) await this.ping();
  }

  next(match: (m: Msg) => boolean, timeoutMs = 5000, from = 0): Promise<Msg> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.messages.slice(from).find(match);
        if (found) {
          this.waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
        }
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(
          new Error(
            `no matching message within ${timeoutMs} ms; got ${JSON.stringify(this.messages.slice(-8)).slice(0, 800)}`,
          ),
        );
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  /** Where the log ends now: pass to after() to wait for what an action (taken next) causes. */
  mark(): number {
    return this.messages.length;
  }

  /** The first message of a type received after `from` (a mark taken before the action). */
  after(from: number, type: string, extra: (m: Msg) => boolean = () => true, timeoutMs = 5000): Promise<Msg> {
    return this.next((m) => m.type === type && extra(m), timeoutMs, from);
  }

  welcome(): Promise<Msg> {
    return this.next((m) => m.type === 'welcome');
  }

  close(): void {
    this.ws.close();
  }
}
