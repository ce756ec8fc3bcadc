// The client's address: the socket peer, or the first X-Forwarded-For hop when m3w sits behind a trusted proxy.
import type { H3Event } from 'h3';

export function clientAddress(event: H3Event, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = event.req.headers.get('x-forwarded-for');
    const first = forwarded?.split(',')[0]?.trim();
    if (first) return first;
  }
  return event.runtime?.node?.req?.socket?.remoteAddress ?? 'unknown';
}
