// Where this server can be reached, for the dashboard's "send your first data" page: the address the browser
// used and every LAN address (so a phone on the same Wi-Fi can send to it), with the ingest and webhook URLs.
import os from 'node:os';
import type { RouteDef } from '../context.ts';
import { requireReader } from '../require-access.ts';
import { ServerInfo } from '../wire/server.ts';
import { errorResponses, jsonContent as json } from './openapi-shared.ts';

/** Non-internal IPv4 addresses first (what people type), then IPv6 unicast ones that are not link-local. */
export function lanAddresses(): string[] {
  const v4: string[] = [];
  const v6: string[] = [];
  for (const list of Object.values(os.networkInterfaces()))
    for (const a of list ?? []) {
      if (a.internal) continue;
      if (a.family === 'IPv4') v4.push(a.address);
      else if (!a.address.toLowerCase().startsWith('fe80')) v6.push(a.address);
    }
  return [...v4, ...v6];
}

const serverInfo: RouteDef = {
  method: 'GET',
  path: '/api/v1/server-info',
  async handler(event, ctx) {
    await requireReader(event, ctx);
    const seen = event.url;
    const port = Number(seen.port) || (seen.protocol === 'https:' ? 443 : 80);
    const wildcard = ctx.config.host === '0.0.0.0' || ctx.config.host === '::';
    const hosts = wildcard ? lanAddresses() : [ctx.config.host];
    const urls = [
      ...new Set([seen.origin, ...hosts.map((h) => `${seen.protocol}//${h.includes(':') ? `[${h}]` : h}:${port}`)]),
    ];
    // A media server or phone needs an address other machines can reach; the browser's may be localhost.
    const base = urls.find((u) => !/\/\/(localhost|127\.|\[::1\])/.test(u)) ?? seen.origin;
    return {
      version: ctx.version,
      port,
      urls,
      ingestUrl: `${base}/v1/sessions`,
      webhookUrl: `${base}/api/webhook`,
    } satisfies ServerInfo;
  },
  openapi: {
    summary: "The server's reachable URLs (LAN addresses included), ingest and webhook URLs",
    security: [{ apiKey: [] }],
    responses: {
      '200': { description: 'Addresses', content: json(ServerInfo) },
      ...errorResponses(401, 403, 429),
    },
  },
};

export const serverInfoRoutes: RouteDef[] = [serverInfo];
