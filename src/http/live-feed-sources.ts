// What the live feed is wired to: who may connect (the session cookie or a ws ticket, through `authenticate`;
// or an API key with read scope in X-API-Key), how a connected principal is checked again (`refresh`: grants,
// disabled users, revoked logins and keys), and where each topic's data comes from. "overview:<app>" carries
// the app's session count, recounted only after a write batch (which also tells the hub, so the first session
// after a lull is on screen at once), so an idle server does no work per interval.
// With the analytics engine, every stream topic is one app's: "active:<app>" (who is watching now),
// "stream:<app>:<channel>" and the legacy per-stream feed /ws/live/{streamId} (the app of the key, or ?app=),
// and moments pushed as the engine finds them to those who see their app.
import type { ApiKeyAuthenticator } from '../auth/index.ts';
import type { ActiveCounts } from '../live/index.ts';
import type { InstanceBus, Store } from '../store/index.ts';
import type { LiveHubOptions, LiveTopic } from '../ws/index.ts';
import type { HttpContext } from './context.ts';
import { canSeeApp, type Principal, resolveStreamApp } from './require-access.ts';
import type { VideoLibrary } from '../media/index.ts';
import { videoTopic } from './video-live-topic.ts';
import type { OverviewUpdate } from '../wire/live-topics.ts';
import { isRoomStream, recentRoomMoments, roomLiveFigures, roomOfStream, visibleRoomStream } from './room-stream.ts';

/** What the live feed needs of the analytics engine (src/engine's AnalyticsEngine fits it). */
export interface LiveEngineSource {
  viewers: {
    counts(appId: string): ActiveCounts;
    /** Open sessions of one app's dimension value (0 when none). */
    countOf(appId: string, dim: 'channel', value: string): number;
  };
  onMoment(listener: (moment: { appId: string | null; dimension: string; value: string }) => void): () => void;
  recentSeries(
    appId: string,
    dimension: string,
    value: string,
    minutes?: number,
  ): Promise<
    Array<{ t: number; peakConcurrent: number; totalBytes: number; sessionsStarted: number; uniqueUsers: number }>
  >;
}

export interface LiveFeedDeps {
  /**
   * The other instances on a shared database (Postgres), or null: sessions stored and moments found on one are
   * told to the others, whose subscribers then see them as if they had come in there.
   */
  bus?: InstanceBus | null;
  /** The analytics engine, when it runs in this process. */
  engine?: LiveEngineSource;
  store: Store;
  /** The video library: topic "video:<id>" (status and transcode progress). */
  media?: VideoLibrary;
  keys: ApiKeyAuthenticator;
  intervalMs: number;
  /** A signed-in user from the upgrade request (session cookie or ?ticket=), or null. */
  authenticate(request: Request): Promise<Principal | null>;
  /** The user principal as it is now (login still active, user enabled, current grants), or null. */
  refreshUser(principal: Principal & { kind: 'user' }): Promise<Principal | null>;
  /** For resolving the app of a legacy stream connection (?app=, the key's app, the user's one app). */
  ctx: () => HttpContext;
  onError(err: unknown, where: string): void;
}

/** An API key with read scope in X-API-Key (non-browser clients: scripts, Grafana-like tools). */
export async function principalFromApiKey(keys: ApiKeyAuthenticator, request: Request): Promise<Principal | null> {
  const presented = request.headers.get('x-api-key');
  if (!presented || presented.length > 512) return null;
  const key = await keys.authenticate(presented);
  return key?.scopes.includes('read') ? { kind: 'key', key, apps: [key.appId] } : null;
}

/** How often at most an instance tells the others that it stored sessions (one message however many batches). */
export const SESSIONS_NOTICE_MS = 250;

/** overview:<app> — the app's session count, for the empty state and for "something changed, refetch". */
export function overviewTopic(store: Store, bus?: InstanceBus | null): LiveTopic<Principal> {
  let writesSeen = 0;
  let changed = () => {};
  const cache = new Map<string, { atWrite: number; sessions: number }>();
  const written = () => {
    writesSeen++;
    changed();
  };
  // Another instance's writes: never one message per session or batch — the first at once, then at most one per
  // SESSIONS_NOTICE_MS for everything stored meanwhile.
  let lastNotice = 0;
  let noticeTimer: NodeJS.Timeout | null = null;
  const notice = () => {
    noticeTimer = null;
    lastNotice = Date.now();
    bus?.publish('sessions', '', {});
  };
  bus?.subscribe((m) => {
    if (m.topic === 'sessions') written();
  });
  store.onWriteBatch(() => {
    written();
    if (!bus || noticeTimer) return;
    const wait = lastNotice + SESSIONS_NOTICE_MS - Date.now();
    if (wait <= 0) notice();
    else noticeTimer = setTimeout(notice, wait);
  });
  return {
    watch(fn) {
      changed = fn;
    },
    authorize: (app, principal) => appVisible(store, app, principal),
    async snapshot(app): Promise<OverviewUpdate> {
      const hit = cache.get(app);
      if (hit && hit.atWrite === writesSeen) return { app, sessions: hit.sessions };
      const atWrite = writesSeen;
      const sessions = await store.countSessions(app);
      cache.set(app, { atWrite, sessions });
      return { app, sessions };
    },
  };
}

/** Whether the principal sees `app` and it exists (the same answer for both, so existence does not leak). */
async function appVisible(store: Store, app: string, principal: Principal): Promise<boolean> {
  return app !== '' && canSeeApp(principal, app) && (await store.getApp(app)) !== null;
}

/** "<app>:<channel>" → [app, channel]; the channel may itself hold colons. */
function splitStream(arg: string): [string, string] {
  const i = arg.indexOf(':');
  return i < 0 ? [arg, ''] : [arg.slice(0, i), arg.slice(i + 1)];
}

/** One app's channel's live figures: viewers now and the last complete minute's rollup. */
async function channelFigures(engine: LiveEngineSource, stream: string): Promise<Record<string, unknown>> {
  const [app, channel] = splitStream(stream);
  const last = (await engine.recentSeries(app, 'channel', channel, 2)).at(-1);
  return {
    // Looked up in the tracker's map: a channel named "constructor" or "__proto__" must not read Object.prototype.
    viewers: engine.viewers.countOf(app, 'channel', channel),
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

/** A channel's figures, or a room's (`<app>:room:<id>`): viewers now, the minute in progress, the last minute. */
async function streamFigures(
  deps: LiveFeedDeps,
  engine: LiveEngineSource,
  stream: string,
): Promise<Record<string, unknown>> {
  const [app, channel] = splitStream(stream);
  const id = roomOfStream(channel);
  if (id === null) return channelFigures(engine, stream);
  const room = await deps.store.rooms.getRoom(id);
  if (!room || room.appId !== app) return { room: id, viewers: 0, current: null, minute: null };
  return roomLiveFigures(deps.ctx(), room);
}

export function liveFeedOptions(deps: LiveFeedDeps): LiveHubOptions<Principal> {
  const { engine, store } = deps;
  // Every figure belongs to an app: a topic names its app, and only those who see the app may follow it.
  return {
    intervalMs: deps.intervalMs,
    authenticate: async (request) => (await principalFromApiKey(deps.keys, request)) ?? deps.authenticate(request),
    refresh: async (principal) => {
      if (principal.kind === 'user') return deps.refreshUser(principal);
      const key = await store.getApiKey(principal.key.prefix);
      const now = Date.now();
      if (!key || key.revokedAt !== null || (key.expiresAt !== null && key.expiresAt <= now)) return null;
      return key.scopes.includes('read') ? { kind: 'key', key, apps: [key.appId] } : null;
    },
    legacyTopic: async (streamId, request, principal) => {
      if (streamId === '') return null;
      const requested = new URL(request.url).searchParams.get('app') ?? undefined;
      if (isRoomStream(streamId)) {
        // A room is its own app's: no ?app= needed, and a room of an app the caller does not see is refused.
        const room = await visibleRoomStream(deps.ctx(), principal, streamId, requested);
        return room ? `${room.appId}:${streamId}` : null;
      }
      try {
        return `${await resolveStreamApp(deps.ctx(), principal, requested)}:${streamId}`;
      } catch {
        return null; // an app the caller does not see, or several without ?app=
      }
    },
    topics: {
      overview: overviewTopic(store, deps.bus),
      moments: { authorize: () => true },
      ...(deps.media ? { video: videoTopic(deps.media) } : {}),
      ...(engine
        ? {
            active: {
              authorize: (app: string, principal: Principal) => appVisible(store, app, principal),
              snapshot: (app: string) => engine.viewers.counts(app),
            },
            stream: {
              authorize: async (arg: string, principal: Principal) => {
                const [app, channel] = splitStream(arg);
                if (channel === '' || !(await appVisible(store, app, principal))) return false;
                // A room stream: the room must (still) exist in that app; checked again on every re-check.
                if (isRoomStream(channel))
                  return (await visibleRoomStream(deps.ctx(), principal, channel, app)) !== null;
                return true;
              },
              snapshot: (arg: string) => streamFigures(deps, engine, arg),
            },
          }
        : {}),
    },
    ...(engine
      ? {
          onMoment: (listener: (moment: unknown) => void) => {
            const stop = engine.onMoment(listener);
            // The minute job runs on one instance: its moments reach the subscribers of every other one.
            const bus = deps.bus;
            if (!bus) return stop;
            const stopSharing = engine.onMoment((m) => bus.publish('moment', m.appId ?? '', m));
            const stopHearing = bus.subscribe((m) => {
              if (m.topic === 'moment') listener(m.payload);
            });
            return () => {
              stop();
              stopSharing();
              stopHearing();
            };
          },
          momentVisibleTo: (moment: unknown, principal: Principal) => {
            const appId = (moment as { appId?: string | null }).appId ?? null;
            return appId === null ? principal.apps === 'all' : canSeeApp(principal, appId);
          },
          legacy: {
            metrics: (streamId: string) => streamFigures(deps, engine, streamId),
            recentMoments: async (streamId: string) => {
              const [, channel] = splitStream(streamId);
              const id = roomOfStream(channel);
              const room = id ? await store.rooms.getRoom(id) : null;
              return room ? recentRoomMoments(deps.ctx(), room) : [];
            },
          },
        }
      : {}),
    onError: deps.onError,
  };
}
