// The outgoing HTTP client for notifications: one POST with a deadline over the whole exchange, redirects
// followed only within the same host (a receiver cannot bounce m3w to another host), and at most
// maxResponseBytes of the answer read. With `publicOnly`, the address a name resolves to is checked at the moment
// of connecting, so a name cannot resolve to a public address for the check and to a private one for the request.
import http from 'node:http';
import https from 'node:https';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { isPrivateAddress } from './private-targets.ts';

export interface DeliveryLimits {
  timeoutMs: number;
  maxResponseBytes: number;
  /** Refuse to connect to loopback, private and link-local addresses (channels not made by an admin). */
  publicOnly?: boolean;
}

export interface DeliveryResult {
  ok: boolean;
  status?: number;
  error?: string;
}

const MAX_REDIRECTS = 3;

/** dns.lookup that fails for private addresses. */
const publicLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
    if (err) return callback(err, '', 0);
    const inside = addresses.find((a) => isPrivateAddress(a.address));
    if (inside || addresses.length === 0)
      return callback(
        Object.assign(new Error(`${hostname} resolves to a loopback, private or link-local address`), {
          code: 'EPRIVATE',
        }),
        '',
        0,
      );
    if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
    callback(null, addresses[0]!.address, addresses[0]!.family);
  });
};

interface Answer {
  status: number;
  location: string | null;
}

export async function postNotification(
  target: { url: string; headers: Record<string, string>; body: string },
  limits: DeliveryLimits,
): Promise<DeliveryResult> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), limits.timeoutMs);
  try {
    let url = new URL(target.url);
    for (let hop = 0; ; hop++) {
      const res = await send(url, target, limits, controller.signal);
      if (res.status >= 300 && res.status < 400 && res.location) {
        const next = new URL(res.location, url);
        if (next.host !== url.host || (next.protocol !== url.protocol && next.protocol !== 'https:'))
          return { ok: false, status: res.status, error: `redirect to another host (${next.host}) refused` };
        if (hop >= MAX_REDIRECTS) return { ok: false, status: res.status, error: 'too many redirects' };
        url = next;
        continue;
      }
      if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status };
      // The receiver's words are not repeated: the attempt log is shown to the app's users, and echoing what any
      // URL answers would let them read internal services through m3w.
      return { ok: false, status: res.status, error: `receiver answered ${res.status}` };
    }
  } catch (err) {
    if (controller.signal.aborted) return { ok: false, error: `no answer within ${limits.timeoutMs / 1000} s` };
    const e = err as { code?: string; message?: string };
    if (e.code === 'EPRIVATE') return { ok: false, error: e.message };
    return { ok: false, error: e.code ?? e.message };
  } finally {
    clearTimeout(timer);
  }
}

/** One POST; reads at most maxResponseBytes of the answer (none of a redirect's) and drops the rest. */
function send(
  url: URL,
  target: { headers: Record<string, string>; body: string },
  limits: DeliveryLimits,
  signal: AbortSignal,
): Promise<Answer> {
  return new Promise<Answer>((resolve, reject) => {
    const body = Buffer.from(target.body);
    const client = url.protocol === 'https:' ? https : http;
    const req = client.request(url, {
      method: 'POST',
      headers: { ...target.headers, 'content-length': String(body.length) },
      signal,
      ...(limits.publicOnly ? { lookup: publicLookup } : {}),
    });
    req.on('error', reject);
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      const location = typeof res.headers.location === 'string' ? res.headers.location : null;
      const max = status >= 300 && status < 400 && location ? 0 : limits.maxResponseBytes;
      let size = 0;
      const done = () => {
        res.destroy();
        resolve({ status, location });
      };
      if (size >= max) return done();
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size >= max) done();
      });
      res.on('end', done);
      // Cut off by the deadline while the answer was arriving: no answer in time.
      res.on('close', () => (signal.aborted ? reject(signal.reason) : done()));
      res.on('error', reject);
    });
    req.end(body);
  });
}
