// The SQLite adapter, the reference Store: reads and rare writes on this thread's connection,
// session ingestion through the group-committing writer thread. WAL lets both work at once.
import Database from 'better-sqlite3';
import type { IngestedSession } from '../../ingest/index.ts';
import {
  StoreError,
  type ApiKeyRecord,
  type App,
  type NewApiKey,
  type Scope,
  type SessionListPage,
  type SessionListQuery,
  type JobClaim,
  type JobClaimRequest,
  type Store,
  type StoredSession,
  type WriteBatchStats,
} from '../types.ts';
import type { PlayEvent } from '../../ingest/index.ts';
import type {
  MomentQuery,
  MomentWatchQuery,
  MomentWatchRows,
  PlayEventOutcome,
  PlaySessionFacts,
  QoeRollupRow,
  QoeWeightedBitrate,
  RetentionCounts,
  RetentionCutoffs,
  RollupStep,
  StoredMoment,
  StoredPlaySession,
  StreamRollupRow,
  InstanceBus,
  OpenPlayGroup,
} from '../types.ts';
import { SqliteAnalytics } from './analytics-queries.ts';
import { QOE_DIMENSIONS, QoeRollupWriter, recoverMarkedRollups, type QoeDimension } from './qoe-rollup-writer.ts';
import { OUTCOME_CODES, pushPlayRow } from './play-session-rows.ts';
import { GroupCommitter } from './group-commit.ts';
import { migrate, type MigrationReport } from './migrate.ts';
import { openDatabase, type Durability } from './open-database.ts';
import { pushSessionRow } from './session-rows.ts';
import { listSessionPage } from './session-list.ts';
import { run } from './run-query.ts';
import { SqliteAccountStore } from './account-store.ts';
import { ensurePrivateFile, makePrivate } from '../private-files.ts';
import { SqliteVideoStore } from './video-store.ts';
import { SqliteRoomStore } from './room-store.ts';
import { SqliteAlertStore } from './alert-store.ts';

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

export interface SqliteStoreOptions {
  file: string;
  durability: Durability;
  /**
   * This process is the server that holds the instance lock: its writer repairs the QoE rollups a crash left
   * marked. Other processes (CLI commands beside a running server) must not.
   */
  owner?: boolean;
}

export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly migrations: MigrationReport;
  private readonly db: Database.Database;
  private readonly writer: GroupCommitter;
  readonly accounts: SqliteAccountStore;
  readonly videos: SqliteVideoStore;
  readonly rooms: SqliteRoomStore;
  readonly alerts: SqliteAlertStore;
  private readonly stmt;
  private readonly analytics: SqliteAnalytics;

  private constructor(opts: SqliteStoreOptions) {
    this.db = openDatabase(opts.file, { durability: opts.durability });
    try {
      this.migrations = migrate(this.db);
    } catch (err) {
      this.db.close();
      throw err;
    }
    this.stmt = {
      getSession: this.db.prepare(
        'SELECT app_id, session_id, timestamp, received_at, payload FROM sessions WHERE app_id = ? AND session_id = ?',
      ),
      countAll: this.db.prepare('SELECT count(*) AS n FROM sessions').pluck(),
      countApp: this.db.prepare('SELECT count(*) AS n FROM sessions WHERE app_id = ?').pluck(),
      insertApp: this.db.prepare(
        'INSERT INTO apps (id, name, created_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING',
      ),
      renameApp: this.db.prepare('UPDATE apps SET name = ? WHERE id = ? RETURNING id, name, created_at'),
      getApp: this.db.prepare('SELECT id, name, created_at FROM apps WHERE id = ?'),
      listApps: this.db.prepare('SELECT id, name, created_at FROM apps ORDER BY created_at, id'),
      insertKey: this.db.prepare(
        'INSERT INTO api_keys (app_id, name, prefix, key_hash, scopes, created_at, rate_limit, allowed_origins) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING *',
      ),
      findKey: this.db.prepare(
        'SELECT * FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)',
      ),
      getKey: this.db.prepare('SELECT * FROM api_keys WHERE prefix = ?'),
      listKeys: this.db.prepare('SELECT * FROM api_keys ORDER BY created_at, id'),
      listAppKeys: this.db.prepare('SELECT * FROM api_keys WHERE app_id = ? ORDER BY created_at, id'),
      expireKey: this.db.prepare(
        'UPDATE api_keys SET expires_at = ? WHERE prefix = ? AND revoked_at IS NULL AND expires_at IS NULL',
      ),
      setKeyOrigins: this.db.prepare('UPDATE api_keys SET allowed_origins = ? WHERE prefix = ? RETURNING *'),
      revokeKey: this.db.prepare('UPDATE api_keys SET revoked_at = ? WHERE prefix = ? AND revoked_at IS NULL'),
      touchKey: this.db.prepare(
        'UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)',
      ),
      ping: this.db.prepare('SELECT count(*) FROM schema_migrations').pluck(),
    };
    this.accounts = new SqliteAccountStore(this.db);
    this.videos = new SqliteVideoStore(this.db);
    this.rooms = new SqliteRoomStore(this.db);
    this.alerts = new SqliteAlertStore(this.db);
    this.analytics = new SqliteAnalytics(this.db);
    this.writer = new GroupCommitter(opts.file, opts.durability, opts.owner ?? false);
  }

  /** Opens (creating if needed) and migrates the database, then starts the writer thread. */
  static async open(opts: SqliteStoreOptions): Promise<SqliteStore> {
    const store = new SqliteStore(opts);
    try {
      await store.writer.whenReady();
    } catch (err) {
      store.db.close();
      throw err;
    }
    return store;
  }

  upsertSessions(appId: string, sessions: readonly IngestedSession[], receivedAt: number): Promise<void> {
    return this.writer.write(sessions.length, (values) => {
      for (const s of sessions) pushSessionRow(values, appId, s, receivedAt);
    });
  }

  async getSession(appId: string, sessionId: string): Promise<StoredSession | null> {
    const r = run('getSession', () => this.stmt.getSession.get(appId, sessionId)) as
      | { app_id: string; session_id: string; timestamp: number; received_at: number; payload: string }
      | undefined;
    return r
      ? {
          appId: r.app_id,
          sessionId: r.session_id,
          timestamp: r.timestamp,
          receivedAt: r.received_at,
          payload: r.payload,
        }
      : null;
  }

  async countSessions(appId?: string): Promise<number> {
    return run('countSessions', () =>
      appId === undefined ? this.stmt.countAll.get() : this.stmt.countApp.get(appId),
    ) as number;
  }

  async ensureApp(id: string, name: string, createdAt: number): Promise<App> {
    return run('ensureApp', () => {
      this.stmt.insertApp.run(id, name, createdAt);
      return toApp(this.stmt.getApp.get(id) as { id: string; name: string; created_at: number });
    });
  }

  async createApp(id: string, name: string, createdAt: number): Promise<App | null> {
    return run('createApp', () =>
      this.stmt.insertApp.run(id, name, createdAt).changes > 0 ? { id, name, createdAt } : null,
    );
  }

  async renameApp(id: string, name: string): Promise<App | null> {
    const r = run('renameApp', () => this.stmt.renameApp.get(name, id)) as
      | { id: string; name: string; created_at: number }
      | undefined;
    return r ? toApp(r) : null;
  }

  /**
   * Deletes the app and everything it owns in one transaction, so an app created later with the same id starts
   * empty. The writer thread runs it, between two groups, and drops the app's pending rollup deltas with it.
   */
  async deleteApp(id: string): Promise<boolean> {
    return this.writer.deleteApp(id);
  }

  async getApp(id: string): Promise<App | null> {
    const r = run('getApp', () => this.stmt.getApp.get(id)) as
      | { id: string; name: string; created_at: number }
      | undefined;
    return r ? toApp(r) : null;
  }

  async listApps(): Promise<App[]> {
    return (
      run('listApps', () => this.stmt.listApps.all()) as Array<{ id: string; name: string; created_at: number }>
    ).map(toApp);
  }

  async insertApiKey(k: NewApiKey): Promise<ApiKeyRecord> {
    return toApiKey(
      run('insertApiKey', () =>
        this.stmt.insertKey.get(
          k.appId,
          k.name,
          k.prefix,
          k.keyHash,
          k.scopes.join(','),
          k.createdAt,
          k.rateLimit ?? null,
          JSON.stringify(k.allowedOrigins ?? []),
        ),
      ) as ApiKeyRow,
    );
  }

  async insertFirstApiKey(k: NewApiKey): Promise<ApiKeyRecord | null> {
    // One process owns the file (the instance lock), and this runs synchronously: no other write comes between.
    if (run('insertFirstApiKey', () => this.db.prepare('SELECT 1 FROM api_keys LIMIT 1').get()) !== undefined)
      return null;
    return this.insertApiKey(k);
  }

  async findApiKeyByHash(keyHash: string, now = Date.now()): Promise<ApiKeyRecord | null> {
    const r = run('findApiKeyByHash', () => this.stmt.findKey.get(keyHash, now)) as ApiKeyRow | undefined;
    return r ? toApiKey(r) : null;
  }

  async getApiKey(prefix: string): Promise<ApiKeyRecord | null> {
    const r = run('getApiKey', () => this.stmt.getKey.get(prefix)) as ApiKeyRow | undefined;
    return r ? toApiKey(r) : null;
  }

  async listApiKeys(appId?: string): Promise<ApiKeyRecord[]> {
    const rows = run('listApiKeys', () =>
      appId === undefined ? this.stmt.listKeys.all() : this.stmt.listAppKeys.all(appId),
    );
    return (rows as ApiKeyRow[]).map(toApiKey);
  }

  async rotateApiKey(prefix: string, k: NewApiKey, oldExpiresAt: number): Promise<ApiKeyRecord | null> {
    return run('rotateApiKey', () =>
      this.db.transaction(() => {
        if (this.stmt.expireKey.run(oldExpiresAt, prefix).changes === 0) return null;
        const row = this.stmt.insertKey.get(
          k.appId,
          k.name,
          k.prefix,
          k.keyHash,
          k.scopes.join(','),
          k.createdAt,
          k.rateLimit ?? null,
          JSON.stringify(k.allowedOrigins ?? []),
        );
        return toApiKey(row as ApiKeyRow);
      })(),
    );
  }

  async setApiKeyOrigins(prefix: string, origins: readonly string[]): Promise<ApiKeyRecord | null> {
    const r = run('setApiKeyOrigins', () => this.stmt.setKeyOrigins.get(JSON.stringify(origins), prefix)) as
      | ApiKeyRow
      | undefined;
    return r ? toApiKey(r) : null;
  }

  async revokeApiKey(prefix: string, revokedAt: number): Promise<boolean> {
    return run('revokeApiKey', () => this.stmt.revokeKey.run(revokedAt, prefix).changes > 0);
  }

  async markApiKeysUsed(usage: ReadonlyArray<readonly [number, number]>): Promise<void> {
    if (usage.length === 0) return;
    run('markApiKeysUsed', () =>
      this.db.transaction(() => {
        for (const [id, at] of usage) this.stmt.touchKey.run(at, id, at);
      })(),
    );
  }

  async ping(): Promise<void> {
    run('ping', () => this.stmt.ping.get());
  }

  async backup(destination: string): Promise<void> {
    // SQLite's online backup API copies page by page and restarts if a write lands mid-copy, so the copy
    // is one consistent snapshot while ingestion carries on.
    try {
      // The copy holds everything the database does: private from the first byte.
      ensurePrivateFile(destination);
      await this.db.backup(destination);
      // The copy inherits WAL mode; a backup is one self-contained file, so reading it (restore's checks)
      // must not leave -wal/-shm files beside it.
      const copy = new Database(destination);
      try {
        // The copy holds the marks of rollup deltas the writer had not yet written (its sessions are in
        // the copy, the deltas were only in memory): recompute those rows so the copy is whole on its own.
        recoverMarkedRollups(copy, new QoeRollupWriter(copy));
        copy.pragma('journal_mode = DELETE');
      } finally {
        copy.close();
      }
      makePrivate(destination);
    } catch (err) {
      throw new StoreError(`backup to ${destination} failed: ${(err as Error).message}`, { cause: err });
    }
  }

  /** The SQLite library version linked into this build. */
  static sqliteVersion(): string {
    const db = new Database(':memory:');
    try {
      return db.prepare('SELECT sqlite_version()').pluck().get() as string;
    } finally {
      db.close();
    }
  }

  onWriteBatch(listener: (stats: WriteBatchStats) => void): void {
    this.writer.onBatch(listener);
  }

  async close(): Promise<void> {
    await this.writer.close();
    this.db.close();
  }

  // Dashboard: the sessions page (statements prepared once per filter combination).
  private readonly sessionListStatements = new Map<string, Database.Statement>();
  async listSessions(query: SessionListQuery): Promise<SessionListPage> {
    return run('listSessions', () => listSessionPage(this.db, this.sessionListStatements, query));
  }

  // ---- Analytics engine: ingestion through the writer thread, the rest in analytics-queries.ts ----

  async ingestPlayEvents(appId: string, events: readonly PlayEvent[], receivedAt: number): Promise<PlayEventOutcome[]> {
    if (events.length === 0) return [];
    const codes = await this.writer.writePlays(events.length, (values) => {
      for (const e of events) pushPlayRow(values, appId, e, receivedAt);
    });
    return codes.map((c) => OUTCOME_CODES[c]!);
  }

  async getPlaySession(appId: string, id: string): Promise<StoredPlaySession | null> {
    return run('getPlaySession', () => this.analytics.getPlaySession(appId, id));
  }
  async listOpenPlaySessions(): Promise<PlaySessionFacts[]> {
    return run('listOpenPlaySessions', () => this.analytics.listOpenPlaySessions());
  }
  async countOpenPlayGroups(): Promise<OpenPlayGroup[]> {
    return run('countOpenPlayGroups', () => this.analytics.countOpenPlayGroups());
  }
  async closedPlaySessionsOverlapping(from: number, to: number): Promise<PlaySessionFacts[]> {
    return run('closedPlaySessionsOverlapping', () => this.analytics.closedPlaySessionsOverlapping(from, to));
  }
  async openPlaySessionsBefore(to: number): Promise<PlaySessionFacts[]> {
    return run('openPlaySessionsBefore', () => this.analytics.openPlaySessionsBefore(to));
  }
  async closeStalePlaySessions(
    sessions: ReadonlyArray<{ appId: string; id: string }>,
    closedAt: number,
  ): Promise<Array<{ appId: string; id: string }>> {
    return run('closeStalePlaySessions', () => this.analytics.closeStalePlaySessions(sessions, closedAt));
  }
  async takeDirtyStreamMinute(upTo: number): Promise<number | null> {
    return run('takeDirtyStreamMinute', () => this.analytics.takeDirtyStreamMinute(upTo));
  }
  /** The take forgot them already (one process). */
  async settleDirtyStreamMinutes(): Promise<void> {}

  // ---- Singleton jobs: one process, guarded by the instance lock, so every claim is granted ----

  readonly sharedByInstances = false;
  /** One process owns the file (the instance lock): there is nobody to talk to. */
  async openInstanceBus(): Promise<InstanceBus | null> {
    return null;
  }
  async differingKeyFingerprints(
    _instanceId: string,
    _fingerprints: Readonly<Record<string, string>>,
  ): Promise<string[]> {
    return [];
  }
  async forgetKeyFingerprints(_instanceId: string): Promise<void> {}
  async claimJobRun(job: string, request: JobClaimRequest): Promise<JobClaim | null> {
    return { job, bucket: Math.floor(request.now / request.widthMs) * request.widthMs, now: request.now, redone: [] };
  }
  async renewJobRun(_claim: JobClaim): Promise<boolean> {
    return true;
  }
  async finishJobRun(_claim: JobClaim): Promise<boolean> {
    return true;
  }
  async replaceStreamRollups(
    step: RollupStep,
    from: number,
    to: number,
    rows: readonly StreamRollupRow[],
  ): Promise<void> {
    run('replaceStreamRollups', () => this.analytics.replaceStreamRollups(step, from, to, rows));
  }
  async streamSeries(
    step: RollupStep,
    appId: string,
    dimension: string,
    value: string,
    from: number,
    to: number,
  ): Promise<StreamRollupRow[]> {
    return run('streamSeries', () => this.analytics.streamSeries(step, appId, dimension, value, from, to));
  }
  async streamRowsAt(step: RollupStep, appId: string, dimension: string, t: number): Promise<StreamRollupRow[]> {
    return run('streamRowsAt', () => this.analytics.streamRowsAt(step, appId, dimension, t));
  }
  async streamValues(appId: string, dimension: string, from: number, to: number): Promise<string[]> {
    return run('streamValues', () => this.analytics.streamValues(appId, dimension, from, to));
  }
  async streamApps(from: number, to: number): Promise<string[]> {
    return run('streamApps', () => this.analytics.streamApps(from, to));
  }
  async momentWatchRows(query: MomentWatchQuery): Promise<MomentWatchRows> {
    // It reads the QoE rollups too: the writer's pending deltas first, as for qoeRows.
    await this.writer.flushRollups();
    return run('momentWatchRows', () => this.analytics.momentWatchRows(query));
  }
  async qoeRows(
    step: RollupStep,
    appId: string,
    dimension: string,
    value: string | null,
    from: number,
    to: number,
  ): Promise<QoeRollupRow[]> {
    await this.writer.flushRollups();
    return run('qoeRows', () => this.analytics.qoeRows(step, appId, dimension, value, from, to));
  }
  private readonly weightedBitrate = new Map<string, Database.Statement>();
  async qoeWeightedBitrate(
    appId: string,
    dimension: string,
    value: string,
    from: number,
    to: number,
    maxSessions: number,
  ): Promise<QoeWeightedBitrate | null> {
    return run('qoeWeightedBitrate', () => {
      const column = dimension === 'global' ? null : QOE_DIMENSIONS[dimension as QoeDimension];
      if (column === undefined) throw new Error(`unknown QoE dimension ${dimension}`);
      let st = this.weightedBitrate.get(dimension);
      if (!st) {
        // The inner LIMIT bounds the work: past maxSessions the caller falls back to the rollups.
        st = this.db.prepare(
          `SELECT count(*) AS n,
                  coalesce(sum(CASE WHEN b IS NOT NULL AND p > 0 THEN CAST(b AS REAL) * p END), 0) AS weightedSum,
                  coalesce(sum(CASE WHEN b IS NOT NULL AND p > 0 THEN p END), 0) AS playMs
             FROM (SELECT mean_video_format_bitrate AS b, play_time_ms AS p FROM sessions
                    WHERE app_id = ? AND timestamp >= ? AND timestamp < ?${column ? ` AND ${column} = ?` : ''}
                    LIMIT ?)`,
        );
        this.weightedBitrate.set(dimension, st);
      }
      const args: unknown[] = [appId, from, to];
      if (column) args.push(value);
      args.push(maxSessions + 1);
      const r = st.get(...args) as { n: number; weightedSum: number; playMs: number };
      return r.n > maxSessions ? null : { weightedSum: r.weightedSum, playMs: r.playMs };
    });
  }
  async recomputeQoeRows(step: RollupStep, appId: string, from: number, to: number): Promise<QoeRollupRow[]> {
    return run('recomputeQoeRows', () => this.analytics.recomputeQoeRows(step, appId, from, to));
  }
  async getEngineState(key: string): Promise<number | null> {
    return run('getEngineState', () => this.analytics.getEngineState(key));
  }
  async setEngineState(key: string, value: number): Promise<void> {
    run('setEngineState', () => this.analytics.setEngineState(key, value));
  }
  async saveMoment(moment: StoredMoment): Promise<number> {
    return run('saveMoment', () => this.analytics.saveMoment(moment));
  }
  async listMoments(query: MomentQuery): Promise<StoredMoment[]> {
    return run('listMoments', () => this.analytics.listMoments(query));
  }
  async countExpired(cutoffs: RetentionCutoffs): Promise<RetentionCounts> {
    await this.writer.flushRollups();
    return run('countExpired', () => this.analytics.countExpired(cutoffs));
  }
  async deleteExpired(cutoffs: RetentionCutoffs, batch: number): Promise<RetentionCounts> {
    // The rollups' pending deltas first: deleted rows must not come back with deltas written after.
    await this.writer.flushRollups();
    return run('deleteExpired', () => this.analytics.deleteExpired(cutoffs, batch));
  }
  /** SQLite tables are not partitioned. */
  async maintainPartitions(_now: number): Promise<number> {
    return 0;
  }
  async releaseFreePages(pages: number): Promise<void> {
    run('releaseFreePages', () => this.analytics.releaseFreePages(pages));
  }
}
