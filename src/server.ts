// The composition root: opens the store, ensures the bootstrap key, builds the HTTP app and listens.
// The CLI and the tests start m3w through here.
import { mkdirSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { toNodeHandler } from 'h3';
import {
  Accounts,
  ApiKeyAuthenticator,
  differingKeysMessage,
  ensureBootstrap,
  InstanceKeys,
  KEY_FILE as AUTH_KEY_FILE,
  TokenSigner,
  type Bootstrap,
} from './auth/index.ts';
import type { ResolvedConfig } from './config/index.ts';
import {
  accessChanges,
  createHttpApp,
  INGEST_BUDGET_BYTES,
  IngestBudget,
  TokenBucketLimiter,
  type HttpApp,
} from './http/index.ts';
import { createLogger, Metrics, type Logger } from './observability/index.ts';
import {
  acquireInstanceLock,
  ensurePrivateDir,
  type InstanceBus,
  openStore,
  PRIVATE_DIR_MODE,
  type Store,
} from './store/index.ts';
import { VERSION } from './version.ts';
import type { HttpContext } from './http/context.ts';
import { liveFeedOptions } from './http/live-feed-sources.ts';
import { principalFromUpgrade, refreshUserPrincipal } from './http/require-access.ts';
import { attachWebSockets, createLiveHub, type LiveHub } from './ws/index.ts';
import { AnalyticsEngine } from './engine/index.ts';
import { URL_KEY_FILE, VideoLibrary } from './media/index.ts';
import { afinnScorer, createRoomHub, type RoomHub } from './rooms/index.ts';
import { identifyRoomMember } from './http/routes/rooms.ts';
import { ALERTS_KEY_FILE, AlertEvaluator, NotificationOutbox, SecretBox } from './alerts/index.ts';

export interface RunningServer {
  url: string;
  port: number;
  store: Store;
  http: HttpApp;
  metrics: Metrics;
  bootstrap: Bootstrap;
  /** The one-time token of the setup link (`/setup#<token>`), while no admin exists. */
  setupToken: string | null;
  accounts: Accounts;
  logger: Logger;
  /** The dashboard's live feed, for wiring data sources and for tests. */
  live: LiveHub;
  /** Live tracker, rollups, moments and retention. */
  analytics: AnalyticsEngine;
  /** Video library: uploads, transcode queue, signed playback. */
  media: VideoLibrary;
  /** Watch-party rooms (sync WebSocket). */
  rooms: RoomHub;
  /** Stops accepting, finishes in-flight requests and queued writes, closes the database. */
  close(): Promise<void>;
}

export class StartupError extends Error {
  override name = 'StartupError';
}

export interface StartOptions {
  logger?: Logger;
  /** false: the analytics jobs are not scheduled (tests drive them with their own clock). */
  analyticsSchedules?: boolean;
}

export async function startServer(config: ResolvedConfig, opts: StartOptions = {}): Promise<RunningServer> {
  const logger = opts.logger ?? createLogger({ level: config.logLevel });
  ensurePrivateDir(config.dataDirPath);
  mkdirSync(path.dirname(config.databasePath), { recursive: true, mode: PRIVATE_DIR_MODE });
  const lock = acquireInstanceLock(config.databasePath);
  let store: Store;
  try {
    store = await openStore(config, { owner: true });
  } catch (err) {
    lock.release();
    throw err;
  }
  // Several instances on one Postgres schema: the live feed and rooms talk to the others through it (SQLite: null).
  let bus: InstanceBus | null;
  try {
    bus = await store.openInstanceBus();
  } catch (err) {
    await store.close();
    lock.release();
    throw err;
  }
  // The keys of the data directory (made on first start). Instances sharing the database must hold the same ones,
  // checked before anything runs: a sealed channel secret, a login or a media URL of another instance would fail.
  const tokens = new TokenSigner(config.dataDirPath);
  const box = SecretBox.forDataDir(config.dataDirPath);
  const media = new VideoLibrary(store, config, logger);
  let instanceKeys: InstanceKeys | null = null;
  if (bus) {
    instanceKeys = new InstanceKeys(
      store,
      bus.instanceId,
      {
        [AUTH_KEY_FILE]: tokens.fingerprint,
        [URL_KEY_FILE]: media.signer.fingerprint,
        [ALERTS_KEY_FILE]: box.fingerprint,
      },
      (problem) =>
        problem.differing
          ? logger.error({ files: problem.differing }, differingKeysMessage(problem.differing, config.dataDirPath))
          : logger.warn({ err: problem.err }, 'key fingerprints: refresh failed'),
    );
    let refusal: unknown = null;
    try {
      const differing = await instanceKeys.check();
      if (differing.length > 0) refusal = new StartupError(differingKeysMessage(differing, config.dataDirPath));
    } catch (err) {
      refusal = err;
    }
    if (refusal) {
      await bus.close();
      await store.close();
      lock.release();
      throw refusal;
    }
  }
  const metrics = new Metrics();
  store.onWriteBatch((s) => {
    metrics.dbWriteBatchSize.observe(s.sessions);
    metrics.dbQueryDuration.observe({ operation: 'upsert_sessions' }, s.durationMs / 1000);
  });
  const bootstrap = await ensureBootstrap(store, config.apiKey);
  const accounts = new Accounts(store, tokens);
  const setupToken = await accounts.issueSetupToken();
  const keys = new ApiKeyAuthenticator(store);
  const limiter = new TokenBucketLimiter(config.rateLimit.requests, config.rateLimit.windowSec);
  // Restores the open play sessions before the first request can ask how many there are.
  const analytics = new AnalyticsEngine(store, config, logger);
  // Alert rules are evaluated after each minute job; their notifications go out through the outbox, never
  // inside the job. Rows a crash left pending are delivered after the restart.
  const outbox = new NotificationOutbox(store, box, logger, {
    retryDelaysMs: config.notifications.retrySeconds.map((s) => s * 1000),
    timeoutMs: config.notifications.timeoutSeconds * 1000,
    maxInFlight: config.notifications.maxInFlight,
    maxResponseBytes: config.notifications.maxResponseBytes,
  });
  let dashboardUrl = config.publicUrl ?? `http://127.0.0.1:${config.port}`;
  const evaluator = new AlertEvaluator(
    store,
    () => dashboardUrl,
    () => outbox.wake(),
  );
  analytics.onMinuteDone(async (now) => {
    const report = await evaluator.evaluate(now);
    for (const t of report.transitions) logger.info(t, `alert rule ${t.state}`);
  });
  await outbox.start();
  await analytics.start({ schedules: opts.analyticsSchedules ?? true });
  // Re-queues jobs a crash interrupted and starts the transcode workers; ffmpeg is looked for in the background.
  await media.start();
  // The live feed authenticates upgrades through the same context the routes use (it is read only once a
  // connection arrives, after ctx is complete).
  const live = createLiveHub(
    liveFeedOptions({
      store,
      bus,
      keys,
      engine: analytics,
      media,
      intervalMs: config.liveIntervalMs,
      authenticate: (request) => principalFromUpgrade(ctx, request),
      refreshUser: (principal) => refreshUserPrincipal(ctx, principal),
      ctx: () => ctx,
      onError: (err, where) => logger.warn({ err, where }, 'live feed'),
    }),
  );
  // Rooms are loaded from the store when their first member connects (state, members and chat survive restarts).
  const rooms = createRoomHub({
    store,
    bus,
    identify: (request, room) => identifyRoomMember(ctx, request, room),
    videoDurationSec: async (id) => {
      const v = await media.get(id);
      return v?.durationMs ? v.durationMs / 1000 : null;
    },
    sentiment: afinnScorer(),
    onError: (err, where) => logger.warn({ err, where }, 'rooms'),
  });
  const ctx: HttpContext = {
    config,
    store,
    keys,
    accounts,
    limiter,
    ingestBudget: new IngestBudget(INGEST_BUDGET_BYTES),
    metrics,
    logger,
    version: VERSION,
    startedAt: Date.now(),
    live,
    analytics,
    media,
    rooms,
    access: accessChanges({ bus, keys, live, rooms }),
    alerts: { box, outbox, evaluator },
  };
  const httpApp = createHttpApp(ctx);
  // Open WebSockets lose what a revoked grant, a disabled user or an ended login took away at once.
  accounts.onAccessChange(() => ctx.access.changed());
  metrics.openPlaysSource = () => analytics.viewers.size;

  const h3Handler = toNodeHandler(httpApp.app);
  const server = http.createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    if (!httpApp.fastPath(req, res)) void h3Handler(req, res);
  });
  const sockets = attachWebSockets(server, httpApp.app);
  server.headersTimeout = 30_000;
  server.requestTimeout = 60_000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    ctx.access.stop();
    live.close();
    rooms.close();
    await media.stop();
    await analytics.stop();
    await outbox.stop();
    await bus?.close();
    await instanceKeys?.stop();
    await store.close();
    await keys.stop();
    limiter.stop();
    lock.release();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE')
      throw new StartupError(
        `port ${config.port} on ${config.host} is already in use; choose another with --port or PORT`,
      );
    if (code === 'EACCES')
      throw new StartupError(
        `not allowed to listen on port ${config.port}; use a port above 1023 or run with the needed rights`,
      );
    throw err;
  }
  const port = (server.address() as AddressInfo).port;
  const shownHost = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  if (!config.publicUrl) dashboardUrl = `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}`;

  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      // WebSocket peers are told goodbye first; their sockets are no longer the HTTP server's to wait for.
      ctx.access.stop();
      live.close();
      rooms.close();
      sockets.closeAll();
      // Stop accepting; idle keep-alive connections close now, busy ones when their response is sent.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // Node keeps a busy keep-alive connection open after its response (for up to keepAliveTimeout), so
      // the ones that turn idle while we drain are closed as they do, not only by the 10 s backstop.
      const sweep = setInterval(() => server.closeIdleConnections(), 50).unref();
      const force = setTimeout(() => server.closeAllConnections(), 10_000).unref();
      await closed;
      clearInterval(sweep);
      clearTimeout(force);
      await keys.stop();
      limiter.stop();
      await media.stop();
      // Last snapshot of the live tracker, while the store is still open.
      await analytics.stop();
      await outbox.stop();
      await bus?.close();
      await instanceKeys?.stop();
      await store.close();
      lock.release();
    })());

  return {
    url: `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}`,
    port,
    store,
    http: httpApp,
    metrics,
    bootstrap,
    setupToken,
    accounts,
    logger,
    live,
    analytics,
    media,
    rooms,
    close,
  };
}
