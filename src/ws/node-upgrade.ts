// Connects WebSocket upgrades on the Node server to the h3 app: crossws asks the app (app.fetch) which route the
// request is for, and the route's defineWebSocketHandler hooks take the connection. An upgrade to a path that is
// not a WebSocket route gets that route's ordinary answer (a 404 envelope, a 426…), and the socket is closed.
import type { Server } from 'node:http';
import { getWebSocketHooks, type Hooks } from 'crossws';
import nodeAdapter from 'crossws/adapters/node';
import type { H3 } from 'h3';

export interface WebSocketAttachment {
  /** Closes every open WebSocket (1001, going away); the hub has said goodbye already. */
  closeAll(): void;
}

export function attachWebSockets(
  server: Server,
  app: H3,
  opts: { maxMessageBytes?: number; idleTimeoutSec?: number } = {},
): WebSocketAttachment {
  const adapter = nodeAdapter({
    // Protocol-level pings from crossws every idleTimeout: a socket that misses one is terminated.
    idleTimeout: opts.idleTimeoutSec ?? 30,
    // Clients only send small control messages; anything larger is a mistake or an attack.
    serverOptions: { maxPayload: opts.maxMessageBytes ?? 16 * 1024 },
    async resolve(request): Promise<Partial<Hooks>> {
      const res = (await app.fetch(request)) as Response & { crossws?: Partial<Hooks> };
      const hooks = getWebSocketHooks(request) ?? res.crossws;
      if (hooks) {
        await res.body?.cancel().catch(() => {});
        return hooks;
      }
      return { upgrade: () => res };
    },
  });
  server.on('upgrade', (req, socket, head) => {
    void adapter.handleUpgrade(req, socket, head);
  });
  return { closeAll: () => adapter.closeAll(1001, 'server stopping') };
}
