// The client's address: the socket peer, or the first X-Forwarded-For hop when m3w sits behind a trusted proxy.
import type { IncomingMessage } from 'node:http';
import type { HttpExchange } from './exchange.ts';

export function clientAddress(event: HttpExchange, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = event.req.headers.get('x-forwarded-for');
    const first = forwarded?.split(',')[0]?.trim();
    if (first) return first;
  }
  return (event.runtime?.node?.req as IncomingMessage | undefined)?.socket?.remoteAddress ?? 'unknown';
}
