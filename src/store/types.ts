// The Store contract: every adapter (SQLite, and Postgres in preview) implements this async interface and
// passes the same contract tests. Nothing outside src/store/ speaks SQL.
import type { QoeRollupFigures } from '../tools/qoe-deltas.ts';
import type { SessionDimensions } from '../tools/stream-dimensions.ts';
import type { IngestedSession, PlayEvent } from '../ingest/index.ts';
import type { AccountStore } from './account-types.ts';
import type { VideoStore } from './video-types.ts';
import type { RoomMinuteRecord, RoomStore } from './room-types.ts';
import type { AlertStore } from './alert-types.ts';
import type { StoredMoment } from './moment-types.ts';

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
  /** Browser origins that may use the key (CORS), exact ("https://shop.example.com") or "*"; empty: none. */
  allowedOrigins: string[];
}

export interface NewApiKey {
  appId: string;
  name: string;
  prefix: string;
  keyHash: string;
  scopes: Scope[];
  createdAt: number;
  rateLimit?: number | null;
  allowedOrigins?: readonly string[];
}

export interface StoredSession {
  appId: string;
  sessionId: string;
  timestamp: number;
  receivedAt: number;
  /** The JSON object as sent. */
  payload: string;
}

/**
 * Sessions and play events one ingest transaction takes, at most (a larger request goes alone): past a few
 * thousand rows a bigger group commits no faster per row, and each row waits in memory until its group commits.
 * Uncapped, 16 connections of 1,000-session batches made groups of up to 16,000 rows, and the SQLite writer
 * thread's heap reached 52 MB against 29 MB with the cap.
 */
export const MAX_GROUP_ROWS = 2_000;

/** Figures from one group commit, for metrics. */
export interface WriteBatchStats {
  sessions: number;
  requests: number;
  durationMs: number;
}

/**
 * Messages between m3w instances sharing one database (Postgres): small, for other instances only (a publisher
 * never hears its own), delivered in order per publisher within about a NOTIFY round trip, or by the 2 s poll.
 */
export interface InstanceBus {
  /** This process's name in the messages. */
  readonly instanceId: string;
  /**
   * Sends a message to the other instances (queued: the messages of one event-loop turn go in one insert); one
   * over 64 KB of JSON is dropped.
   */
  publish(topic: string, appId: string, payload: unknown): void;
  /** Every message another instance published; returns the removal. */
  subscribe(listener: (message: InstanceMessage) => void): () => void;
  /** Stops listening and sends what is queued. */
  close(): Promise<void>;
}

export interface InstanceMessage {
  topic: string;
  appId: string;
  payload: unknown;
  instance: string;
}

/** Open play sessions of one app with the same value of every dimension (live counts across instances). */
export interface OpenPlayGroup {
  appId: string;
  server: string;
  channel: string;
  country: string;
  protocol: string;
  device: string;
  count: number;
}

export interface Store extends AnalyticsStore, JobRunStore {
  readonly kind: 'sqlite' | 'postgres';
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
  /** Deletes the app and everything it owns (keys, sessions, grants, QoE rollups, moments) in one transaction. */
  deleteApp(id: string): Promise<boolean>;

  insertApiKey(key: NewApiKey): Promise<ApiKeyRecord>;
  /**
   * Inserts the key only if the store holds no key at all (revoked ones included), atomically, so instances
   * starting together on one database create one first key between them. Null when keys already existed.
   */
  insertFirstApiKey(key: NewApiKey): Promise<ApiKeyRecord | null>;
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
  /** Replaces a key's allowed browser origins; null when no key has that prefix. */
  setApiKeyOrigins(prefix: string, origins: readonly string[]): Promise<ApiKeyRecord | null>;
  /** Records last use, batched by the caller so that reads do not become writes. */
  markApiKeysUsed(usage: ReadonlyArray<readonly [id: number, usedAt: number]>): Promise<void>;

  readonly accounts: AccountStore;
  /** Video library: videos, renditions, transcode jobs. */
  readonly videos: VideoStore;
  /** Watch-party rooms: playback state, members, chat. */
  readonly rooms: RoomStore;
  /** Alerts: notification channels, rules and their state, history, the delivery outbox. */
  readonly alerts: AlertStore;

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
  /** Part of the content's title or id, case-insensitive (the dashboard's content search). */
  content?: string;
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

/**
 * The database refused a value the caller gave, not a failure of the database: Postgres cannot store the NUL
 * character (U+0000) in text. The HTTP layer answers 400, not 503.
 */
export class StoreInputError extends StoreError {
  override name = 'StoreInputError';
}

// ---- Analytics: play sessions, rollups, moments, retention ----

/** What happened to one stored webhook event. */
export type PlayEventOutcome =
  /** (app, id, event) was already stored: nothing changed. */
  | 'duplicate'
  /** Stored, and the play session is open. */
  | 'opened'
  /** Stored, and the play session is closed. */
  | 'closed';

/** The facts of a play session the rollups and the live tracker need. */
export interface PlaySessionFacts extends SessionDimensions {
  openedAt: number;
  closedAt: number | null;
  startBytes: number | null;
  closeBytes: number | null;
}

export interface StoredPlaySession extends PlaySessionFacts {
  userName: string | null;
  userAgent: string | null;
  reason: string | null;
  receivedAt: number;
  startEvent: string | null;
  closeEvent: string | null;
}

/** Figures of one (dimension, value) over one bucket (a minute or an hour). */
export interface StreamFigures {
  sessionsStarted: number;
  sessionsClosed: number;
  totalBytes: number;
  watchTimeSeconds: number;
  uniqueUsers: number;
  peakConcurrent: number;
}

export interface StreamRollupRow extends StreamFigures {
  appId: string;
  dimension: string;
  value: string;
  /** Bucket start, epoch ms. */
  t: number;
}

export type RollupStep = 60_000 | 3_600_000;

/** Sum of bitrate (bps) × play time (ms), and the play time, of raw sessions. */
export interface QoeWeightedBitrate {
  weightedSum: number;
  playMs: number;
}

/** Sums, counts and the startup histogram of SDK sessions in one (app, dimension, value, bucket). */
export type QoeRollupRow = QoeRollupFigures;

export type { StoredMoment };

export interface MomentQuery {
  from: number;
  to: number;
  metric?: string;
  dimension?: string;
  value?: string;
  /** Moments of these apps only; undefined: all. */
  apps?: readonly string[];
  limit: number;
}

/** What the moment watch reads for one run (minutes [from, to)), all at once: see AnalyticsStore.momentWatchRows. */
export interface MomentWatchQuery {
  /** Start of the baseline window (minute rows of the watched series from here). */
  windowFrom: number;
  /** Start of the minutes looked at (channels and contents are picked by their figures here). */
  from: number;
  to: number;
  /**
   * Start of the traffic look-back: every app's 'global' QoE series is read from min(windowFrom, trafficFrom).
   * A small app — fewer than minVolume sessions a minute there (its sessions over the span from its first minute
   * there to `to`, one minute at least) — has it read from qoeHistoryFrom instead (its coarse buckets).
   */
  trafficFrom: number;
  /** Start of a small app's 'global' QoE history (see trafficFrom). */
  qoeHistoryFrom: number;
  /** Channels (per app), contents (per app) and rooms (in all) at most. */
  maxValues: number;
  /** A content is watched when one of its minutes in [from, to) holds at least this many sessions. */
  minVolume: number;
}

/** The series the moment watch judges, each series' rows together, in time order. */
export interface MomentWatchRows {
  /**
   * Minute stream rows in [windowFrom, to): the 'global' series of every app that has one there, then that app's
   * busiest `maxValues` channels seen in [from, to) (by watch time there, then value); by app id, series, minute.
   */
  stream: StreamRollupRow[];
  /**
   * Minute QoE rows: every app's 'global' series (from trafficFrom or qoeHistoryFrom, see there), then in [windowFrom, to) its first
   * `maxValues` contents that had a minute of minVolume sessions in [from, to) (by that minute, then value);
   * by app id, series, minute.
   */
  qoe: QoeRollupRow[];
  /** Room minutes in [windowFrom, to) of the first `maxValues` rooms (by id) that have any; by room, minute. */
  rooms: RoomMinuteRecord[];
}

/** Cut-offs (epoch ms): rows older than these go. */
export interface RetentionCutoffs {
  /** Raw SDK sessions and raw play sessions (closed ones). */
  raw: number;
  minuteRollups: number;
  hourlyRollups: number;
}

export interface RetentionCounts {
  sessions: number;
  playSessions: number;
  minuteRows: number;
  hourRows: number;
  moments: number;
}

export interface AnalyticsStore {
  /**
   * Stores webhook events (one request's events, all or none), group-committed like sessions: resolves once
   * durable, with one outcome per event. Idempotent on (app, id, event); a close before its start is kept.
   */
  ingestPlayEvents(appId: string, events: readonly PlayEvent[], receivedAt: number): Promise<PlayEventOutcome[]>;
  getPlaySession(appId: string, id: string): Promise<StoredPlaySession | null>;
  /** Every open play session of every app (restoring the live tracker). */
  listOpenPlaySessions(): Promise<PlaySessionFacts[]>;
  /** Open play sessions counted per app and combination of dimension values (all instances' live view). */
  countOpenPlayGroups(): Promise<OpenPlayGroup[]>;
  /** Closed play sessions that overlap [from, to): closed at or after `from`, opened before `to`. */
  closedPlaySessionsOverlapping(from: number, to: number): Promise<PlaySessionFacts[]>;
  /** Open play sessions opened before `to`, straight from the database (recomputation from raw rows). */
  openPlaySessionsBefore(to: number): Promise<PlaySessionFacts[]>;
  /** Closes still-open sessions as `reason: "stale"`; returns those actually closed. */
  closeStalePlaySessions(
    sessions: ReadonlyArray<{ appId: string; id: string }>,
    closedAt: number,
  ): Promise<Array<{ appId: string; id: string }>>;
  /**
   * Earliest minute before `upTo` whose rollup an event may have changed after it was computed. SQLite forgets
   * it here; an adapter shared by several instances keeps it until settleDirtyStreamMinutes(), so a run that dies
   * before writing its rows leaves it for the next run.
   */
  takeDirtyStreamMinute(upTo: number): Promise<number | null>;
  /** Forgets the minutes takeDirtyStreamMinute returned (after their rows are written); new marks stay. */
  settleDirtyStreamMinutes(): Promise<void>;
  /** Replaces every stream rollup row (of every app) with t in [from, to) of this step by `rows`. */
  replaceStreamRollups(step: RollupStep, from: number, to: number, rows: readonly StreamRollupRow[]): Promise<void>;
  streamSeries(
    step: RollupStep,
    appId: string,
    dimension: string,
    value: string,
    from: number,
    to: number,
  ): Promise<StreamRollupRow[]>;
  /** One app's rows of one dimension at one bucket, by value (e.g. every channel's last minute). */
  streamRowsAt(step: RollupStep, appId: string, dimension: string, t: number): Promise<StreamRollupRow[]>;
  /** Values of one app's dimension seen in [from, to), most watched first. */
  streamValues(appId: string, dimension: string, from: number, to: number): Promise<string[]>;
  /** Apps with stream rollup minutes in [from, to). */
  streamApps(from: number, to: number): Promise<string[]>;
  /**
   * Everything the moment watch reads for one run, in one read (one statement on Postgres, where a read per
   * series would cost a round trip each).
   */
  momentWatchRows(query: MomentWatchQuery): Promise<MomentWatchRows>;
  qoeRows(
    step: RollupStep,
    appId: string,
    dimension: string,
    value: string | null,
    from: number,
    to: number,
  ): Promise<QoeRollupRow[]>;
  /**
   * Play-time-weighted bitrate of the raw SDK sessions of one app (dimension 'global' or one value of a QoE
   * dimension) with timestamp in [from, to): sessions with both a bitrate and a play time count. Null when more
   * than `maxSessions` sessions fall in the range (the read is bounded; the caller uses the rollups instead).
   */
  qoeWeightedBitrate(
    appId: string,
    dimension: string,
    value: string,
    from: number,
    to: number,
    maxSessions: number,
  ): Promise<QoeWeightedBitrate | null>;
  /** QoE rollups recomputed from the raw sessions of one app (tests and repair). */
  recomputeQoeRows(step: RollupStep, appId: string, from: number, to: number): Promise<QoeRollupRow[]>;
  getEngineState(key: string): Promise<number | null>;
  setEngineState(key: string, value: number): Promise<void>;
  /** Inserts a moment (id 0) or updates one; returns its id. */
  saveMoment(moment: StoredMoment): Promise<number>;
  listMoments(query: MomentQuery): Promise<StoredMoment[]>;
  /** How many rows each cut-off would remove. */
  countExpired(cutoffs: RetentionCutoffs): Promise<RetentionCounts>;
  /**
   * Removes at most `batch` expired rows of each kind; returns what went (0s when done). Postgres also drops
   * whole partitions whose rows are all expired, counted in full (they go at once, without row deletes).
   */
  deleteExpired(cutoffs: RetentionCutoffs, batch: number): Promise<RetentionCounts>;
  /**
   * Creates the partitions of the large tables due ahead of `now` (Postgres: days of sessions and minute
   * rollups, months of hourly rollups); returns how many it created. SQLite has none: 0.
   */
  maintainPartitions(now: number): Promise<number>;
  /** Returns up to `pages` free pages to the operating system. */
  releaseFreePages(pages: number): Promise<void>;
}

// ---- Singleton jobs: one run per bucket across instances ----

/** What a job run asks for: its bucket width, how long a claim lasts without renewal, and this process's clock. */
export interface JobClaimRequest {
  widthMs: number;
  leaseMs: number;
  /**
   * This process's clock (epoch ms). Used only where no shared clock exists (SQLite, one process); an adapter
   * shared by several instances takes the bucket and the run's clock from the database (`now()`).
   */
  now: number;
}

/** A granted run of a singleton job. */
export interface JobClaim {
  job: string;
  /** Start of the claimed bucket (epoch ms): floor(clock / widthMs) * widthMs. */
  bucket: number;
  /** The clock the run uses (the database's on a shared adapter). */
  now: number;
  /** Earlier buckets of the job that an instance claimed and never finished (past the lease): this run redoes them. */
  redone: number[];
}

export interface JobRunStore {
  /**
   * True when other m3w processes may write this database at the same time (Postgres): the engine then reads
   * open plays from the database rather than from its own live tracker, and guards its singleton jobs by claims.
   */
  readonly sharedByInstances: boolean;
  /**
   * Starts this process's messages to and from the other instances on the database (the server; a CLI command
   * only to announce a change, such as a revoked key); null when nothing else can share it (SQLite).
   */
  openInstanceBus(): Promise<InstanceBus | null>;
  /**
   * Records the fingerprints of this instance's keys (key file name → fingerprint) and returns the names of those
   * that differ from what another live instance on the database recorded (sorted); when any differ, nothing is
   * recorded. Called at start-up and then every minute, which keeps the record live; a record not refreshed for
   * three minutes is of an instance that is gone and no longer counts. SQLite (one process): always [].
   */
  differingKeyFingerprints(instanceId: string, fingerprints: Readonly<Record<string, string>>): Promise<string[]>;
  /** Removes this instance's key record (it is stopping), so the keys can change once every instance has stopped. */
  forgetKeyFingerprints(instanceId: string): Promise<void>;
  /**
   * Claims the current bucket of `job` for this instance, or null when another instance has it (running, or
   * finished) or is claiming the job right now. A claim unfinished past its lease (its instance died) is taken
   * over. SQLite (one process, guarded by the instance lock) always grants.
   */
  claimJobRun(job: string, request: JobClaimRequest): Promise<JobClaim | null>;
  /** Extends a running claim's lease; false when another instance took it over meanwhile. */
  renewJobRun(claim: JobClaim): Promise<boolean>;
  /** Marks the claimed bucket (and the ones it redid) finished; false when another instance took it over. */
  finishJobRun(claim: JobClaim): Promise<boolean>;
}
