// What the live feed is wired to: who may connect (the session cookie or a ws ticket, through `authenticate`;
// or an API key with read scope in X-API-Key) and where each topic's data comes from. "overview:<app>" carries
// the app's session count, recounted only after a write batch (which also tells the hub, so the first session
// after a lull is on screen at once), so an idle server does no work per interval.
// With the analytics engine: "active" (who is watching now), "stream:<channel>" and the legacy per-stream
// feed (that channel's viewers and last complete minute), and moments pushed as the engine finds them.
import type { ApiKeyAuthenticator } from '../auth/index.ts';
import type { ActiveCounts } from '../live/index.ts';
import type { Store } from '../store/index.ts';
import type { LiveHubOptions, LiveTopic } from '../ws/index.ts';
import { canSeeApp, type Principal } from './require-access.ts';
import type { VideoLibrary } from '../media/index.ts';
import { videoTopic } from './video-live-topic.ts';

/** What the live feed needs of the analytics engine (src/engine's AnalyticsEngine fits it). */
export interface LiveEngineSource {
  live: { counts(): ActiveCounts };
  onMoment(listener: (moment: { appId: string | null; dimension: string; value: string }) => void): () => void;
  recentSeries(
    dimension: string,
    value: string,
    minutes?: number,
  ): Promise<
    Array<{ t: number; peakConcurrent: number; totalBytes: number; sessionsStarted: number; uniqueUsers: number }>
  >;
}

export interface LiveFeedDeps {
  /** The analytics engine, when it runs in this process. */
  engine?: LiveEngineSource;
  store: Store;
  /** The video library: topic "video:<id>" (status and transcode progress). */
  media?: VideoLibrary;
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
  return key?.scopes.includes('read') ? { kind: 'key', key, apps: [key.appId] } : null;
}

/** overview:<app> — the app's session count, for the empty state and for "something changed, refetch". */
export function overviewTopic(store: Store): LiveTopic<Principal> {
  let writesSeen = 0;
  let changed = () => {};
  const cache = new Map<string, { atWrite: number; sessions: number }>();
  store.onWriteBatch(() => {
    writesSeen++;
    changed();
  });
  return {
    watch(fn) {
      changed = fn;
    },
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

/** One channel's live figures: viewers now and the last complete minute's rollup. */
async function channelFigures(engine: LiveEngineSource, channel: string): Promise<Record<string, unknown>> {
  const last = (await engine.recentSeries('channel', channel, 2)).at(-1);
  return {
    viewers: engine.live.counts().by_channel[channel] ?? 0,
    minute: last
      ? {
          t: last.t,
          peak_concurrent: last.peakConcurrent,
          bandwidth_bps: Math.round((last.totalBytes * 8) / 60),
          sessions_started: last.sessionsStarted,
          unique_users: last.uniqueUsers,
        }
      : null,
  };
}

export function liveFeedOptions(deps: LiveFeedDeps): LiveHubOptions<Principal> {
  const { engine } = deps;
  // Stream figures (webhooks from media servers) belong to no app: any signed-in reader may follow them,
  // as GET /stats/active allows. QoE moments belong to an app and go only to those who see it.
  const anyReader = () => true;
  return {
    intervalMs: deps.intervalMs,
    authenticate: async (request) => (await principalFromApiKey(deps.keys, request)) ?? deps.authenticate(request),
    topics: {
      overview: overviewTopic(deps.store),
      moments: { authorize: anyReader },
      ...(deps.media ? { video: videoTopic(deps.media) } : {}),
      ...(engine
        ? {
            active: { authorize: anyReader, snapshot: () => engine.live.counts() },
            stream: {
              authorize: (channel: string) => channel !== '',
              snapshot: (channel: string) => channelFigures(engine, channel),
            },
          }
        : {}),
    },
    ...(engine
      ? {
          onMoment: (listener: (moment: unknown) => void) => engine.onMoment(listener),
          momentVisibleTo: (moment: unknown, principal: Principal) => {
            const appId = (moment as { appId?: string | null }).appId ?? null;
            return appId === null || canSeeApp(principal, appId);
          },
          legacy: {
            metrics: (streamId: string) => channelFigures(engine, streamId),
          },
        }
      : {}),
    onError: deps.onError,
  };
}
