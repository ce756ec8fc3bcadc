// The Store contract: every adapter (SQLite now, Postgres later) implements this async interface and
// passes the same contract tests. Nothing outside src/store/ speaks SQL.
import type { IngestedSession } from '../ingest/index.ts';
import type { AccountStore } from './account-types.ts';

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
  /** Set when the key was rotated: it keeps working until then. */
  expiresAt: number | null;
  /** Requests per rate-limit window; null means the configured default. */
  rateLimit: number | null;
}

export interface NewApiKey {
  appId: string;
  name: string;
  prefix: string;
  keyHash: string;
  scopes: Scope[];
  createdAt: number;
  rateLimit?: number | null;
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
  /** Null when the id is taken. */
  createApp(id: string, name: string, createdAt: number): Promise<App | null>;
  getApp(id: string): Promise<App | null>;
  listApps(): Promise<App[]>;
  renameApp(id: string, name: string): Promise<App | null>;
  /** Deletes the app and everything it owns (keys, sessions, grants). */
  deleteApp(id: string): Promise<boolean>;

  insertApiKey(key: NewApiKey): Promise<ApiKeyRecord>;
  /** A key with this hash that is neither revoked nor expired at `now`, or null. */
  findApiKeyByHash(keyHash: string, now?: number): Promise<ApiKeyRecord | null>;
  getApiKey(prefix: string): Promise<ApiKeyRecord | null>;
  /** All keys, or one app's. */
  listApiKeys(appId?: string): Promise<ApiKeyRecord[]>;
  /** Marks a key revoked; false when no active key has that prefix. */
  revokeApiKey(prefix: string, revokedAt: number): Promise<boolean>;
  /**
   * Replaces an active key: inserts `replacement` and lets the old one work until `oldExpiresAt`,
   * in one transaction. Null when no active key has that prefix.
   */
  rotateApiKey(prefix: string, replacement: NewApiKey, oldExpiresAt: number): Promise<ApiKeyRecord | null>;
  /** Records last use, batched by the caller so that reads do not become writes. */
  markApiKeysUsed(usage: ReadonlyArray<readonly [id: number, usedAt: number]>): Promise<void>;

  readonly accounts: AccountStore;

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
