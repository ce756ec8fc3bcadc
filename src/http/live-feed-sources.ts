// What the live feed is wired to: who may connect (the session cookie or a ws ticket, through `authenticate`;
// or an API key with read scope in X-API-Key) and the topics whose data exists today. "overview:<app>" carries the app's session count, recounted only after a write batch, so
// an idle server does no work per interval. The engine's topics ("active", "stream:<channel>", "moments") are
// added where the engine is composed.
import type { ApiKeyAuthenticator } from '../auth/index.ts';
import type { Store } from '../store/index.ts';
import type { LiveHubOptions, LiveTopic } from '../ws/index.ts';
import { canSeeApp, type Principal } from './require-access.ts';

export interface LiveFeedDeps {
  store: Store;
  keys: ApiKeyAuthenticator;
  intervalMs: number;
  /** A signed-in user from the upgrade request (session cookie or ?ticket=), or null. */
  authenticate(request: Request): Promise<Principal | null>;
  onError(err: unknown, where: string): void;
}

/** An API key with read scope in X-API-Key (non-browser clients: scripts, Grafana-like tools). */
export async function principalFromApiKey(keys: ApiKeyAuthenticator, request: Request): Promise<Principal | null> {
  const presented = request.headers.get('x-api-key');
  if (!presented || presented.length > 512) return null;
  const key = await keys.authenticate(presented);
  return key && key.scopes.includes('read') ? { kind: 'key', key, apps: [key.appId] } : null;
}

/** overview:<app> — the app's session count, for the empty state and for "something changed, refetch". */
export function overviewTopic(store: Store): LiveTopic<Principal> {
  let writesSeen = 0;
  const cache = new Map<string, { atWrite: number; sessions: number }>();
  store.onWriteBatch(() => void writesSeen++);
  return {
    async authorize(app, principal) {
      return app !== '' && canSeeApp(principal, app) && (await store.getApp(app)) !== null;
    },
    async snapshot(app) {
      const hit = cache.get(app);
      if (hit && hit.atWrite === writesSeen) return { app, sessions: hit.sessions };
      const atWrite = writesSeen;
      const sessions = await store.countSessions(app);
      cache.set(app, { atWrite, sessions });
      return { app, sessions };
    },
  };
}

export function liveFeedOptions(deps: LiveFeedDeps): LiveHubOptions<Principal> {
  return {
    intervalMs: deps.intervalMs,
    authenticate: async (request) => (await principalFromApiKey(deps.keys, request)) ?? deps.authenticate(request),
    topics: {
      overview: overviewTopic(deps.store),
      // Pushed by the engine when it finds one; any signed-in reader may follow them.
      moments: { authorize: () => true },
    },
    onError: deps.onError,
  };
}
