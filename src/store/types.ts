// The Store contract: every adapter (SQLite now, Postgres later) implements this async interface and
// passes the same contract tests. Nothing outside src/store/ speaks SQL.
import type { IngestedSession } from '../ingest/index.ts';

export type Scope = 'ingest' | 'read';
export const SCOPES: readonly Scope[] = ['ingest', 'read'];

export interface App {
  id: string;
  name: string;
  createdAt: number;
}

export interface ApiKeyRecord {
  id: number;
  appId: string;
  name: string;
  /** Visible, non-secret part of the key, used to list and revoke it. */
  prefix: string;
  scopes: Scope[];
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

export interface NewApiKey {
  appId: string;
  name: string;
  prefix: string;
  keyHash: string;
  scopes: Scope[];
  createdAt: number;
}

export interface StoredSession {
  appId: string;
  sessionId: string;
  timestamp: number;
  receivedAt: number;
  /** The JSON object as sent. */
  payload: string;
}

/** Figures from one group commit, for metrics. */
export interface WriteBatchStats {
  sessions: number;
  requests: number;
  durationMs: number;
}

export interface Store {
  readonly kind: 'sqlite';
  /**
   * Inserts or replaces sessions of one app: a stored session is replaced only by one whose timestamp is
   * greater than or equal to its own. Resolves once the rows are durably committed; requests that arrive
   * together share one transaction (group commit). All rows of one call commit or none do.
   */
  upsertSessions(appId: string, sessions: readonly IngestedSession[], receivedAt: number): Promise<void>;
  getSession(appId: string, sessionId: string): Promise<StoredSession | null>;
  countSessions(appId?: string): Promise<number>;

  ensureApp(id: string, name: string, createdAt: number): Promise<App>;
  getApp(id: string): Promise<App | null>;
  listApps(): Promise<App[]>;

  insertApiKey(key: NewApiKey): Promise<ApiKeyRecord>;
  /** An active (not revoked) key with this hash, or null. */
  findApiKeyByHash(keyHash: string): Promise<ApiKeyRecord | null>;
  listApiKeys(): Promise<ApiKeyRecord[]>;
  /** Marks a key revoked; false when no active key has that prefix. */
  revokeApiKey(prefix: string, revokedAt: number): Promise<boolean>;
  /** Records last use, batched by the caller so that reads do not become writes. */
  markApiKeysUsed(usage: ReadonlyArray<readonly [id: number, usedAt: number]>): Promise<void>;

  /** Throws when the database cannot be read. */
  ping(): Promise<void>;
  /** A consistent copy of the live database at `destination`, taken while writes go on. */
  backup(destination: string): Promise<void>;
  /** Observes each group commit (metrics). */
  onWriteBatch(listener: (stats: WriteBatchStats) => void): void;
  /** Waits for queued writes, then closes. */
  close(): Promise<void>;

  // Dashboard (sessions page): recent sessions of one app, newest first, filtered, a page at a time.
  listSessions(query: SessionListQuery): Promise<SessionListPage>;
}

export interface SessionListQuery {
  appId: string;
  /** Session timestamp bounds, epoch ms, inclusive from, exclusive to. */
  from?: number;
  to?: number;
  contentId?: string;
  /** Only sessions with errorCount > 0. */
  errorsOnly?: boolean;
  /** Part of the device model, case-insensitive. */
  device?: string;
  /** Start of a sessionId. */
  sessionIdPrefix?: string;
  limit: number;
  /** Where the previous page ended (its last row's timestamp and row id). */
  after?: { timestamp: number; id: number };
}

export interface SessionListItem {
  /** Row id, for paging. */
  id: number;
  sessionId: string;
  timestamp: number;
  receivedAt: number;
  sessionDurationMs: number;
  contentId: string | null;
  contentTitle: string | null;
  streamType: string | null;
  playerName: string | null;
  appVersion: string | null;
  deviceModel: string | null;
  os: string | null;
  osVersion: string | null;
  country: string | null;
  cdn: string | null;
  startupTimeMs: number | null;
  rebufferTimeMs: number | null;
  rebufferRatio: number | null;
  playTimeMs: number | null;
  totalDroppedFrames: number | null;
  meanVideoFormatBitrate: number | null;
  errorCount: number | null;
  errorCode: string | null;
}

export interface SessionListPage {
  sessions: SessionListItem[];
  /** Set when more rows follow. */
  hasMore: boolean;
}

export class StoreError extends Error {
  override name = 'StoreError';
}
