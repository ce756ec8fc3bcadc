// The Postgres adapter (preview): the Store contract on a pooled `pg` connection, in one schema. Ingestion is
// group-committed like SQLite's (session-ingest.ts); reads and rare writes go straight to the pool. Not on
// Postgres yet: backup() throws a StoreError "not yet supported on Postgres: backup" (pg_dump does that job).
import type pg from 'pg';
import type { IngestedSession, PlayEvent } from '../../ingest/index.ts';
import type { MigrationReport } from '../migration-files.ts';
import {
  StoreError,
  type ApiKeyRecord,
  type App,
  type JobClaim,
  type JobClaimRequest,
  type MomentQuery,
  type MomentWatchQuery,
  type MomentWatchRows,
  type NewApiKey,
  type PlayEventOutcome,
  type PlaySessionFacts,
  type QoeRollupRow,
  type QoeWeightedBitrate,
  type RetentionCounts,
  type RetentionCutoffs,
  type RollupStep,
  type Scope,
  type SessionListItem,
  type SessionListPage,
  type SessionListQuery,
  type Store,
  type StoredMoment,
  type StoredPlaySession,
  type StoredSession,
  type StreamRollupRow,
  type WriteBatchStats,
  type InstanceBus,
  type OpenPlayGroup,
} from '../types.ts';
import { QOE_DIMENSIONS, type QoeDimension } from '../sqlite/qoe-rollup-writer.ts';
import { PostgresAccountStore } from './account-store.ts';
import { PostgresAlertStore } from './alert-store.ts';
import { PostgresAnalytics } from './analytics.ts';
import { openPool, q, redactUrl, transaction, type PostgresOptions } from './database.ts';
import { newInstanceId, PostgresJobRuns } from './job-runs.ts';
import { dropExpiredPartitions, upkeepPartitions } from './partitions.ts';
import { migratePostgres } from './migrate.ts';
import { PostgresRoomStore } from './room-store.ts';
import { PostgresInstanceBus } from './instance-bus.ts';
import { differingKeyFingerprints, forgetKeyFingerprints } from './key-fingerprints.ts';
import { PostgresIngest } from './session-ingest.ts';
import { PostgresVideoStore } from './video-store.ts';

interface ApiKeyRow {
  id: number;
  app_id: string;
  name: string;
  prefix: string;
  scopes: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
  expires_at: number | null;
  rate_limit: number | null;
  allowed_origins: string;
}

const toApiKey = (r: ApiKeyRow): ApiKeyRecord => ({
  id: r.id,
  appId: r.app_id,
  name: r.name,
  prefix: r.prefix,
  scopes: r.scopes.split(',').filter(Boolean) as Scope[],
  createdAt: r.created_at,
  lastUsedAt: r.last_used_at,
  revokedAt: r.revoked_at,
  expiresAt: r.expires_at,
  rateLimit: r.rate_limit,
  allowedOrigins: JSON.parse(r.allowed_origins) as string[],
});

const toApp = (r: { id: string; name: string; created_at: number }): App => ({
  id: r.id,
  name: r.name,
  createdAt: r.created_at,
});

const INSERT_KEY = `INSERT INTO api_keys (app_id, name, prefix, key_hash, scopes, created_at, rate_limit, allowed_origins)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`;
const keyParams = (k: NewApiKey) => [
  k.appId,
  k.name,
  k.prefix,
  k.keyHash,
  k.scopes.join(','),
  k.createdAt,
  k.rateLimit ?? null,
  JSON.stringify(k.allowedOrigins ?? []),
];

const SESSION_LIST_COLUMNS = `id, session_id AS "sessionId", timestamp, received_at AS "receivedAt",
  session_duration_ms AS "sessionDurationMs", content_id AS "contentId", content_title AS "contentTitle",
  stream_type AS "streamType", player_name AS "playerName", app_version AS "appVersion", device_model AS "deviceModel",
  os, os_version AS "osVersion", country, cdn, startup_time_ms AS "startupTimeMs", rebuffer_time_ms AS "rebufferTimeMs",
  rebuffer_ratio AS "rebufferRatio", play_time_ms AS "playTimeMs", total_dropped_frames AS "totalDroppedFrames",
  mean_video_format_bitrate AS "meanVideoFormatBitrate", error_count AS "errorCount", error_code AS "errorCode"`;

/** LIKE with the user's text taken literally. */
const likeLiteral = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  readonly accounts: PostgresAccountStore;
  readonly videos: PostgresVideoStore;
  readonly rooms: PostgresRoomStore;
  readonly alerts: PostgresAlertStore;
  private readonly ingest: PostgresIngest;
  private readonly analytics: PostgresAnalytics;
  private readonly jobRuns: PostgresJobRuns;
  /** Other m3w processes may share the schema: the engine claims its singleton jobs (job_runs). */
  readonly sharedByInstances = true;
  private closed: Promise<void> | null = null;

  private constructor(
    private readonly pool: pg.Pool,
    readonly migrations: MigrationReport,
    /** The database, password hidden, and schema: for messages. */
    readonly location: string,
    /** For the instance bus's own LISTEN connection. */
    private readonly connection: PostgresOptions,
  ) {
    this.accounts = new PostgresAccountStore(pool);
    const instanceId = newInstanceId();
    this.videos = new PostgresVideoStore(pool, instanceId);
    this.rooms = new PostgresRoomStore(pool);
    this.alerts = new PostgresAlertStore(pool);
    this.analytics = new PostgresAnalytics(pool);
    this.ingest = new PostgresIngest(pool);
    this.jobRuns = new PostgresJobRuns(pool, instanceId);
  }

  /** Who this process's job claims name (host:pid:random). */
  get instanceId(): string {
    return this.jobRuns.instanceId;
  }

  /** Connects, creates the schema if missing and applies pending migrations. */
  static async open(opts: PostgresOptions): Promise<PostgresStore> {
    const pool = await openPool(opts);
    try {
      const report = await migratePostgres(pool, opts.schema);
      return new PostgresStore(pool, report, `${redactUrl(opts.url)} (schema ${opts.schema})`, opts);
    } catch (err) {
      await pool.end().catch(() => {});
      throw err;
    }
  }

  upsertSessions(appId: string, sessions: readonly IngestedSession[], receivedAt: number): Promise<void> {
    if (sessions.length === 0) return Promise.resolve();
    return this.ingest.upsertSessions(appId, sessions, receivedAt);
  }

  async getSession(appId: string, sessionId: string): Promise<StoredSession | null> {
    const r = await q<{ app_id: string; session_id: string; timestamp: number; received_at: number; payload: string }>(
      this.pool,
      'getSession',
      'SELECT app_id, session_id, timestamp, received_at, payload FROM sessions WHERE app_id = $1 AND session_id = $2',
      [appId, sessionId],
    );
    const x = r.rows[0];
    return x
      ? {
          appId: x.app_id,
          sessionId: x.session_id,
          timestamp: x.timestamp,
          receivedAt: x.received_at,
          payload: x.payload,
        }
      : null;
  }

  async countSessions(appId?: string): Promise<number> {
    const r =
      appId === undefined
        ? await q<{ n: number }>(this.pool, 'countSessions', 'SELECT count(*) AS n FROM sessions')
        : await q<{ n: number }>(this.pool, 'countSessions', 'SELECT count(*) AS n FROM sessions WHERE app_id = $1', [
            appId,
          ]);
    return r.rows[0]!.n;
  }

  async ensureApp(id: string, name: string, createdAt: number): Promise<App> {
    await q(
      this.pool,
      'ensureApp',
      'INSERT INTO apps (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING',
      [id, name, createdAt],
    );
    return (await this.getApp(id))!;
  }

  async createApp(id: string, name: string, createdAt: number): Promise<App | null> {
    const r = await q(
      this.pool,
      'createApp',
      'INSERT INTO apps (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING',
      [id, name, createdAt],
    );
    return (r.rowCount ?? 0) > 0 ? { id, name, createdAt } : null;
  }

  async getApp(id: string): Promise<App | null> {
    const r = await q<{ id: string; name: string; created_at: number }>(
      this.pool,
      'getApp',
      'SELECT id, name, created_at FROM apps WHERE id = $1',
      [id],
    );
    return r.rows[0] ? toApp(r.rows[0]) : null;
  }

  async listApps(): Promise<App[]> {
    const r = await q<{ id: string; name: string; created_at: number }>(
      this.pool,
      'listApps',
      'SELECT id, name, created_at FROM apps ORDER BY created_at, id COLLATE "C"',
    );
    return r.rows.map(toApp);
  }

  async renameApp(id: string, name: string): Promise<App | null> {
    const r = await q<{ id: string; name: string; created_at: number }>(
      this.pool,
      'renameApp',
      'UPDATE apps SET name = $1 WHERE id = $2 RETURNING id, name, created_at',
      [name, id],
    );
    return r.rows[0] ? toApp(r.rows[0]) : null;
  }

  /** Deletes the app and everything it owns in one transaction (rows without a foreign key explicitly). */
  async deleteApp(id: string): Promise<boolean> {
    return transaction(this.pool, 'deleteApp', async (c) => {
      for (const table of [
        'qoe_minutes',
        'qoe_hours',
        'moments',
        'play_sessions',
        'stream_minutes',
        'stream_hours',
        'instance_events',
      ])
        await c.query(`DELETE FROM ${table} WHERE app_id = $1`, [id]);
      return ((await c.query('DELETE FROM apps WHERE id = $1', [id])).rowCount ?? 0) > 0;
    });
  }

  async insertApiKey(k: NewApiKey): Promise<ApiKeyRecord> {
    return toApiKey((await q<ApiKeyRow>(this.pool, 'insertApiKey', INSERT_KEY, keyParams(k))).rows[0]!);
  }

  async insertFirstApiKey(k: NewApiKey): Promise<ApiKeyRecord | null> {
    // The table lock (it conflicts with itself and with inserts) makes instances starting together take turns,
    // so the second sees the first one's key.
    return transaction(this.pool, 'insertFirstApiKey', async (c) => {
      await c.query('LOCK TABLE api_keys IN SHARE ROW EXCLUSIVE MODE');
      if ((await c.query('SELECT 1 FROM api_keys LIMIT 1')).rowCount !== 0) return null;
      return toApiKey((await c.query<ApiKeyRow>(INSERT_KEY, keyParams(k))).rows[0]!);
    });
  }

  async findApiKeyByHash(keyHash: string, now = Date.now()): Promise<ApiKeyRecord | null> {
    const r = await q<ApiKeyRow>(
      this.pool,
      'findApiKeyByHash',
      'SELECT * FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)',
      [keyHash, now],
    );
    return r.rows[0] ? toApiKey(r.rows[0]) : null;
  }

  async getApiKey(prefix: string): Promise<ApiKeyRecord | null> {
    const r = await q<ApiKeyRow>(this.pool, 'getApiKey', 'SELECT * FROM api_keys WHERE prefix = $1', [prefix]);
    return r.rows[0] ? toApiKey(r.rows[0]) : null;
  }

  async listApiKeys(appId?: string): Promise<ApiKeyRecord[]> {
    const r =
      appId === undefined
        ? await q<ApiKeyRow>(this.pool, 'listApiKeys', 'SELECT * FROM api_keys ORDER BY created_at, id')
        : await q<ApiKeyRow>(
            this.pool,
            'listApiKeys',
            'SELECT * FROM api_keys WHERE app_id = $1 ORDER BY created_at, id',
            [appId],
          );
    return r.rows.map(toApiKey);
  }

  async revokeApiKey(prefix: string, revokedAt: number): Promise<boolean> {
    const r = await q(
      this.pool,
      'revokeApiKey',
      'UPDATE api_keys SET revoked_at = $1 WHERE prefix = $2 AND revoked_at IS NULL',
      [revokedAt, prefix],
    );
    return (r.rowCount ?? 0) > 0;
  }

  async rotateApiKey(prefix: string, k: NewApiKey, oldExpiresAt: number): Promise<ApiKeyRecord | null> {
    return transaction(this.pool, 'rotateApiKey', async (c) => {
      const expired = await c.query(
        'UPDATE api_keys SET expires_at = $1 WHERE prefix = $2 AND revoked_at IS NULL AND expires_at IS NULL',
        [oldExpiresAt, prefix],
      );
      if (expired.rowCount === 0) return null;
      return toApiKey((await c.query<ApiKeyRow>(INSERT_KEY, keyParams(k))).rows[0]!);
    });
  }

  async setApiKeyOrigins(prefix: string, origins: readonly string[]): Promise<ApiKeyRecord | null> {
    const r = await q<ApiKeyRow>(
      this.pool,
      'setApiKeyOrigins',
      'UPDATE api_keys SET allowed_origins = $1 WHERE prefix = $2 RETURNING *',
      [JSON.stringify(origins), prefix],
    );
    return r.rows[0] ? toApiKey(r.rows[0]) : null;
  }

  async markApiKeysUsed(usage: ReadonlyArray<readonly [number, number]>): Promise<void> {
    if (usage.length === 0) return;
    await q(
      this.pool,
      'markApiKeysUsed',
      `UPDATE api_keys k SET last_used_at = u.at FROM
         (SELECT id, max(at) AS at FROM unnest($1::int8[], $2::int8[]) AS x(id, at) GROUP BY id) u
       WHERE k.id = u.id AND (k.last_used_at IS NULL OR k.last_used_at < u.at)`,
      [usage.map((u) => u[0]), usage.map((u) => u[1])],
    );
  }

  async ping(): Promise<void> {
    await q(this.pool, 'ping', 'SELECT count(*) FROM schema_migrations');
  }

  async backup(_destination: string): Promise<void> {
    throw new StoreError('not yet supported on Postgres: backup (use pg_dump for a Postgres database)');
  }

  onWriteBatch(listener: (stats: WriteBatchStats) => void): void {
    this.ingest.onBatch(listener);
  }

  close(): Promise<void> {
    this.closed ??= (async () => {
      await this.ingest.close();
      await this.pool.end();
    })();
    return this.closed;
  }

  async listSessions(query: SessionListQuery): Promise<SessionListPage> {
    const params: unknown[] = [query.appId];
    const where = ['app_id = $1'];
    const p = (v: unknown) => {
      params.push(v);
      return `$${params.length}`;
    };
    if (query.from !== undefined) where.push(`timestamp >= ${p(query.from)}`);
    if (query.to !== undefined) where.push(`timestamp < ${p(query.to)}`);
    if (query.contentId !== undefined) where.push(`content_id = ${p(query.contentId)}`);
    if (query.content !== undefined) {
      const pattern = p(`%${likeLiteral(query.content)}%`);
      where.push(`(content_title ILIKE ${pattern} ESCAPE '\\' OR content_id ILIKE ${pattern} ESCAPE '\\')`);
    }
    if (query.errorsOnly) where.push('error_count > 0');
    if (query.device !== undefined) where.push(`device_model ILIKE ${p(`%${likeLiteral(query.device)}%`)} ESCAPE '\\'`);
    if (query.sessionIdPrefix !== undefined) where.push(`starts_with(session_id, ${p(query.sessionIdPrefix)})`);
    if (query.after) {
      const ts = p(query.after.timestamp);
      where.push(`(timestamp < ${ts} OR (timestamp = ${ts} AND id < ${p(query.after.id)}))`);
    }
    const r = await q<SessionListItem>(
      this.pool,
      'listSessions',
      `SELECT ${SESSION_LIST_COLUMNS} FROM sessions WHERE ${where.join(' AND ')} ORDER BY timestamp DESC, id DESC LIMIT ${p(query.limit + 1)}`,
      params,
    );
    const hasMore = r.rows.length > query.limit;
    return { sessions: hasMore ? r.rows.slice(0, query.limit) : r.rows, hasMore };
  }

  // ---- Analytics ----

  async ingestPlayEvents(appId: string, events: readonly PlayEvent[], receivedAt: number): Promise<PlayEventOutcome[]> {
    if (events.length === 0) return [];
    return this.ingest.ingestPlayEvents(appId, events, receivedAt);
  }
  getPlaySession(appId: string, id: string): Promise<StoredPlaySession | null> {
    return this.analytics.getPlaySession(appId, id);
  }
  listOpenPlaySessions(): Promise<PlaySessionFacts[]> {
    return this.analytics.listOpenPlaySessions();
  }
  closedPlaySessionsOverlapping(from: number, to: number): Promise<PlaySessionFacts[]> {
    return this.analytics.closedPlaySessionsOverlapping(from, to);
  }
  countOpenPlayGroups(): Promise<OpenPlayGroup[]> {
    return this.analytics.countOpenPlayGroups();
  }
  openPlaySessionsBefore(to: number): Promise<PlaySessionFacts[]> {
    return this.analytics.openPlaySessionsBefore(to);
  }
  closeStalePlaySessions(
    sessions: ReadonlyArray<{ appId: string; id: string }>,
    closedAt: number,
  ): Promise<Array<{ appId: string; id: string }>> {
    return this.analytics.closeStalePlaySessions(sessions, closedAt);
  }
  takeDirtyStreamMinute(upTo: number): Promise<number | null> {
    return this.analytics.takeDirtyStreamMinute(upTo);
  }
  settleDirtyStreamMinutes(): Promise<void> {
    return this.analytics.settleDirtyStreamMinutes();
  }
  openInstanceBus(): Promise<InstanceBus | null> {
    return PostgresInstanceBus.open(this.pool, this.connection, this.instanceId);
  }
  differingKeyFingerprints(instanceId: string, fingerprints: Readonly<Record<string, string>>): Promise<string[]> {
    return differingKeyFingerprints(this.pool, instanceId, fingerprints);
  }
  forgetKeyFingerprints(instanceId: string): Promise<void> {
    return forgetKeyFingerprints(this.pool, instanceId);
  }
  claimJobRun(job: string, request: JobClaimRequest): Promise<JobClaim | null> {
    return this.jobRuns.claim(job, request);
  }
  renewJobRun(claim: JobClaim): Promise<boolean> {
    return this.jobRuns.renew(claim);
  }
  finishJobRun(claim: JobClaim): Promise<boolean> {
    return this.jobRuns.finish(claim);
  }
  replaceStreamRollups(step: RollupStep, from: number, to: number, rows: readonly StreamRollupRow[]): Promise<void> {
    return this.analytics.replaceStreamRollups(step, from, to, rows);
  }
  streamSeries(
    step: RollupStep,
    appId: string,
    dimension: string,
    value: string,
    from: number,
    to: number,
  ): Promise<StreamRollupRow[]> {
    return this.analytics.streamSeries(step, appId, dimension, value, from, to);
  }
  streamRowsAt(step: RollupStep, appId: string, dimension: string, t: number): Promise<StreamRollupRow[]> {
    return this.analytics.streamRowsAt(step, appId, dimension, t);
  }
  streamValues(appId: string, dimension: string, from: number, to: number): Promise<string[]> {
    return this.analytics.streamValues(appId, dimension, from, to);
  }
  streamApps(from: number, to: number): Promise<string[]> {
    return this.analytics.streamApps(from, to);
  }
  momentWatchRows(query: MomentWatchQuery): Promise<MomentWatchRows> {
    return this.analytics.momentWatchRows(query);
  }
  qoeRows(
    step: RollupStep,
    appId: string,
    dimension: string,
    value: string | null,
    from: number,
    to: number,
  ): Promise<QoeRollupRow[]> {
    return this.analytics.qoeRows(step, appId, dimension, value, from, to);
  }
  recomputeQoeRows(step: RollupStep, appId: string, from: number, to: number): Promise<QoeRollupRow[]> {
    return this.analytics.recomputeQoeRows(step, appId, from, to);
  }
  async qoeWeightedBitrate(
    appId: string,
    dimension: string,
    value: string,
    from: number,
    to: number,
    maxSessions: number,
  ): Promise<QoeWeightedBitrate | null> {
    const column = dimension === 'global' ? null : QOE_DIMENSIONS[dimension as QoeDimension];
    if (column === undefined) throw new StoreError(`unknown QoE dimension ${dimension}`);
    // The inner LIMIT bounds the work: past maxSessions the caller falls back to the rollups.
    const r = await q<{ n: number; weighted_sum: number; play_ms: number }>(
      this.pool,
      'qoeWeightedBitrate',
      `SELECT count(*) AS n,
              coalesce(sum(CASE WHEN b IS NOT NULL AND p > 0 THEN b::double precision * p END), 0) AS weighted_sum,
              coalesce(sum(CASE WHEN b IS NOT NULL AND p > 0 THEN p END), 0) AS play_ms
         FROM (SELECT mean_video_format_bitrate AS b, play_time_ms AS p FROM sessions
                WHERE app_id = $1 AND timestamp >= $2 AND timestamp < $3${column ? ` AND ${column} = $5` : ''}
                LIMIT $4) AS s`,
      column ? [appId, from, to, maxSessions + 1, value] : [appId, from, to, maxSessions + 1],
    );
    const row = r.rows[0]!;
    return Number(row.n) > maxSessions ? null : { weightedSum: Number(row.weighted_sum), playMs: Number(row.play_ms) };
  }
  getEngineState(key: string): Promise<number | null> {
    return this.analytics.getEngineState(key);
  }
  setEngineState(key: string, value: number): Promise<void> {
    return this.analytics.setEngineState(key, value);
  }
  saveMoment(moment: StoredMoment): Promise<number> {
    return this.analytics.saveMoment(moment);
  }
  listMoments(query: MomentQuery): Promise<StoredMoment[]> {
    return this.analytics.listMoments(query);
  }
  countExpired(cutoffs: RetentionCutoffs): Promise<RetentionCounts> {
    return this.analytics.countExpired(cutoffs);
  }
  /** Whole expired partitions first (detached and dropped), then at most `batch` rows of each kind. */
  async deleteExpired(cutoffs: RetentionCutoffs, batch: number): Promise<RetentionCounts> {
    const dropped = await dropExpiredPartitions(this.pool, cutoffs);
    const rows = await this.analytics.deleteExpired(cutoffs, batch);
    for (const k of Object.keys(rows) as Array<keyof RetentionCounts>) rows[k] += dropped[k];
    return rows;
  }
  maintainPartitions(now: number): Promise<number> {
    return upkeepPartitions(this.pool, now);
  }
  /** Postgres returns space through (auto)vacuum: nothing to do. */
  async releaseFreePages(_pages: number): Promise<void> {}
}
