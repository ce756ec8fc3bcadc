// Drives one scenario with autocannon (warm-up, discarded, then the measured run, same connections), sends
// a fresh body (new sessionIds) with every request, and keeps the books on which sessions the server
// acknowledged so the row count can be checked afterwards.
import os from 'node:os';
import autocannon from 'autocannon';
import { startCpuMeter, type CpuUse } from './cpu-meter.ts';
import type { BodyFactory } from './payloads.ts';
import { requestText } from './servers.ts';

export interface LoadOptions {
  url: string;
  path: string;
  headers: Record<string, string>;
  bodies: BodyFactory;
  connections: number;
  warmupSec: number;
  durationSec: number;
  /** The server child, whose CPU use is measured. */
  serverPid: number;
  /** Units the server says it accepted, read from each 2xx body (the webhook's `accepted`); counted when given. */
  acceptedIn?: (body: string) => number;
}

export interface LoadFigures {
  /** Of the measured run only. */
  reqPerSec: number;
  sessionsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  measuredSec: number;
  /** Over warm-up and measured run: each must be 0. */
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  /** During the measured run; null where /proc is not available. */
  cpu: CpuUse | null;
  /** With acceptedIn: units accepted over warm-up and measured run, and per second of the measured run. */
  accepted: { total: number; perSec: number } | null;
}

/**
 * Which bodies were sent and not yet answered, and how many sessions were acknowledged with a 2xx.
 * autocannon ends a run by destroying its connections, so the requests in flight at that moment (one per
 * connection) get no answer, although the server may well commit them. Like the SDK, we send those again
 * (ingestion is idempotent on sessionId) so that every session sent ends up acknowledged exactly once.
 */
export class Ledger {
  private readonly unanswered = new Map<number, string>();
  private nextKey = 0;
  ackedSessions = 0;
  rejectedSessions = 0;
  resentBodies = 0;
  answeredBodies = 0;

  constructor(private readonly sessionsPerBody: number) {}

  sent(body: string): number {
    const key = this.nextKey++;
    this.unanswered.set(key, body);
    return key;
  }

  answered(key: number, status: number): void {
    if (!this.unanswered.delete(key)) return;
    this.answeredBodies++;
    if (status >= 200 && status < 300) this.ackedSessions += this.sessionsPerBody;
    else this.rejectedSessions += this.sessionsPerBody;
  }

  /** Sends the unanswered bodies again, one at a time; `onBody` sees each answer's body. */
  async resend(url: string, headers: Record<string, string>, onBody?: (body: string) => void): Promise<void> {
    for (const [key, body] of [...this.unanswered]) {
      this.resentBodies++;
      const res = await requestText(url, { method: 'POST', headers, body }).catch(() => ({ status: 0, body: '' }));
      if (res.status >= 200 && res.status < 300) onBody?.(res.body);
      this.answered(key, res.status);
    }
  }

  /** Bodies sent and not (yet) answered. */
  get unansweredBodies(): number {
    return this.unanswered.size;
  }
}

/**
 * The part of autocannon's per-connection Client (lib/httpClient.js, v8 and v9) this bench relies on:
 * getRequestBuffer() is called once for every request written, and 'response' is emitted once for every
 * response, before the next request is written (one request in flight per connection: no pipelining).
 */
interface CannonClient {
  getRequestBuffer(): Buffer;
  on(event: 'response', listener: (status: number) => void): unknown;
}

/**
 * Every request gets a fresh body, written here as raw HTTP/1.1 bytes. autocannon's own way (setupRequest)
 * rebuilds the whole request through its generic builder each time, which costs ~50 µs per request on this
 * kind of machine: enough to make the load generator, not the floor server, the bottleneck of scenario (a).
 */
function freshBodies(opts: LoadOptions, ledger: Ledger): (client: autocannon.Client) => void {
  const host = new URL(opts.url).host;
  const head =
    `POST ${opts.path} HTTP/1.1\r\nHost: ${host}\r\nConnection: keep-alive\r\n` +
    Object.entries(opts.headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('') +
    'Content-Length: ';
  return (client) => {
    const c = client as unknown as CannonClient;
    if (typeof c.getRequestBuffer !== 'function')
      throw new Error('this autocannon version has no Client.getRequestBuffer(); test/bench/load.ts needs adapting');
    let key = -1;
    c.getRequestBuffer = () => {
      const body = opts.bodies.next();
      key = ledger.sent(body);
      return Buffer.from(`${head}${Buffer.byteLength(body)}\r\n\r\n${body}`);
    };
    c.on('response', (status) => ledger.answered(key, status));
  };
}

function runOnce(
  opts: LoadOptions,
  ledger: Ledger,
  seconds: number,
  accepted: { n: number },
): Promise<autocannon.Result> {
  const count = opts.acceptedIn;
  return autocannon({
    url: opts.url,
    connections: opts.connections,
    pipelining: 1, // freshBodies() relies on one request in flight per connection
    duration: seconds,
    setupClient: freshBodies(opts, ledger),
    // Called with every complete response body; always "verified", only counted.
    ...(count
      ? {
          verifyBody: (body: string | Buffer | undefined) => {
            accepted.n += count(String(body ?? ''));
            return true;
          },
        }
      : {}),
  });
}

export async function runLoad(opts: LoadOptions, ledger: Ledger): Promise<LoadFigures> {
  // Warm-up: JIT, SQLite page cache, WAL growth; figures discarded but status codes still checked.
  const warmAccepted = { n: 0 };
  const measuredAccepted = { n: 0 };
  const warm = await runOnce(opts, ledger, opts.warmupSec, warmAccepted);
  const stopMeter = startCpuMeter(opts.serverPid, os.cpus().length);
  const r = await runOnce(opts, ledger, opts.durationSec, measuredAccepted);
  const cpu = stopMeter();
  const statusCodes: Record<string, number> = {};
  for (const res of [warm, r])
    for (const [code, s] of Object.entries(res.statusCodeStats ?? {}))
      statusCodes[code] = (statusCodes[code] ?? 0) + (s.count ?? 0);
  // Counted over the run's real duration: clients keep going until autocannon's next 1 s tick after the end.
  const reqPerSec = r['2xx'] / r.duration;
  return {
    reqPerSec,
    sessionsPerSec: reqPerSec * opts.bodies.sessionsPerBody,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    measuredSec: r.duration,
    non2xx: warm.non2xx + r.non2xx,
    errors: warm.errors + r.errors,
    timeouts: warm.timeouts + r.timeouts,
    statusCodes,
    cpu,
    accepted: opts.acceptedIn
      ? { total: warmAccepted.n + measuredAccepted.n, perSec: measuredAccepted.n / r.duration }
      : null,
  };
}
