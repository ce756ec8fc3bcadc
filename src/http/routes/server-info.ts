// Where this server can be reached, for the dashboard's "send your first data" page: the configured publicUrl,
// else the addresses it listens on, every LAN address included (so a phone on the same Wi-Fi can send to it),
// with the ingest and webhook URLs. Never the Host header: whoever sends the request chooses that.
import os from 'node:os';
import type { RouteDef } from '../context.ts';
import { requireReader } from '../require-access.ts';
import { ServerInfo } from '../../wire/server.ts';
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
    const port = event.runtime?.node?.req?.socket.localPort ?? ctx.config.port;
    const wildcard = ctx.config.host === '0.0.0.0' || ctx.config.host === '::';
    const hosts = wildcard ? ['localhost', ...lanAddresses()] : [ctx.config.host];
    const publicUrl = ctx.config.publicUrl?.replace(/\/+$/, '');
    const urls = [
      ...new Set([
        ...(publicUrl ? [publicUrl] : []),
        ...hosts.map((h) => `http://${h.includes(':') ? `[${h}]` : h}:${port}`),
      ]),
    ];
    // A media server or phone needs an address other machines can reach, not localhost.
    const base = publicUrl ?? urls.find((u) => !/\/\/(localhost|127\.|\[::1\])/.test(u)) ?? urls[0]!;
    return {
      version: ctx.version,
      port,
      urls,
      ingestUrl: `${base}/v1/sessions`,
      webhookUrl: `${base}/api/webhook`,
    } satisfies ServerInfo;
  },
  openapi: {
    summary: "The server's reachable URLs (publicUrl, else its listening and LAN addresses), ingest and webhook URLs",
    security: [{ apiKey: [] }],
    responses: {
      '200': { description: 'Addresses', content: json(ServerInfo) },
      ...errorResponses(401, 403, 429),
    },
  },
};

export const serverInfoRoutes: RouteDef[] = [serverInfo];
