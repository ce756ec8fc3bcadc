// Owns the write connection for ingestion (SDK sessions and webhook play events) and commits groups of
// requests in one transaction each. Runs inside the writer thread, so an fsync never blocks the HTTP event loop.
// QoE rollups: each group's deltas are summed in memory and kept pending across groups (a group of 25 single
// sessions touches ~150 rollup keys, mostly the same ones as the group before), then written together in the
// transaction of a later group, or in their own when the writer is idle or a reader asks (flushRollups). A group
// adds its deltas to the pending set as it goes and keeps a journal of what it added, so a transaction that
// rolls back takes them out again (the figures are integers: the subtraction is exact). Each
// group that leaves deltas pending marks their (app, minute) buckets in qoe_dirty in its own transaction; the
// transaction that writes the deltas deletes the marks, and marks found at start-up (a crash lost the pending
// deltas) have their minute and hour rows recomputed from the sessions table (recoverQoeRollups).
import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import { openDatabase, type Durability } from './open-database.ts';
import {
  CLOSE_OPEN_SQL,
  CLOSED_PARAMS,
  closedParams,
  INSERT_CLOSED_SQL,
  INSERT_NEW_STARTED_SQL,
  INSERT_STARTED_SQL,
  PLAY_OFFSET as P,
  PLAY_ROW_WIDTH,
  PLAY_STARTED,
  STARTED_PARAMS,
  startedParams,
} from './play-session-rows.ts';
import { QoeDeltaAccumulator } from '../../tools/qoe-deltas.ts';
import { QOE_LAYOUT, QoeRollupWriter, recoverMarkedRollups } from './qoe-rollup-writer.ts';
import {
  INSERT_NEW_SESSION_SQL,
  SESSION_COLUMNS,
  SESSION_OFFSET as S,
  SESSION_ROW_WIDTH,
  UPSERT_SESSION_SQL,
} from './session-rows.ts';

export const REQUEST_SESSIONS = 0;
export const REQUEST_PLAYS = 1;

export interface WriteRequest {
  seq: number;
  /** Flat session values, SESSION_ROW_WIDTH per session, for the session requests in order. */
  values: unknown[];
  /** Items per HTTP request, in order: each request is all-or-nothing. */
  counts: number[];
  /** Kind of each request (REQUEST_SESSIONS when absent). */
  kinds?: number[];
  /** Flat play event values, PLAY_ROW_WIDTH per event, for the play requests in order. */
  plays?: unknown[];
}

export interface WriteResult {
  seq: number;
  /** One entry per request: null when committed, else the error message. */
  errors: Array<string | null>;
  /** One code per play event (0 duplicate, 1 opened, 2 closed), in order; 0 for failed requests. */
  outcomes: number[];
  durationMs: number;
  /** QoE rollup deltas are pending after this group: a reader must ask for them to be written first. */
  pending: boolean;
}

/** A request to the writer thread that is not a write: answered with { control, value } or { control, error }. */
export type ControlMessage =
  | { control: number; op: 'flushRollups' }
  | { control: number; op: 'deleteApp'; appId: string };

/** Rows an app owns without a foreign key (rollups, moments, play sessions); sessions, keys and grants cascade. */
const APP_ROW_TABLES = [
  'qoe_minutes',
  'qoe_hours',
  'qoe_dirty',
  'moments',
  'play_sessions',
  'stream_minutes',
  'stream_hours',
  'room_minutes',
  'notification_outbox',
  'alert_events',
  'alert_rules',
  'notification_channels',
];

const MINUTE = 60_000;
const HOUR = 3_600_000;
/** Pending rollup deltas are written by the first group to commit once they are this old... */
const PERSIST_AFTER_MS = 500;
/** ...or once they hold this many keys (bounds the writer's memory under batches of many distinct values). */
const PERSIST_KEYS = 10_000;
/**
 * Deltas of hours that began earlier than this before the pending set started are written in their own
 * group's transaction, never left pending: crash recovery recomputes a marked hour from the sessions table,
 * which holds all of that hour's sessions only while none of them can have been deleted by retention (raw
 * sessions are kept at least one day).
 */
const PEND_WITHIN_MS = 23 * HOUR;
/**
 * An event for a minute that ended less than this long ago also marks it for recomputation: the minute job
 * may already be reading while this transaction commits.
 */
const COMMIT_GRACE_MS = 5_000;

// The stored session minus its large text, for subtracting its contribution on replace.
const SELECT_OLD_SQL = `SELECT ${SESSION_COLUMNS.map((c) => (c === 'payload' || c === 'custom' ? 'NULL' : c)).join(', ')}
  FROM sessions WHERE app_id = ? AND session_id = ?`;

export class SessionWriter {
  private readonly db: Database.Database;
  private readonly upsert: Database.Statement;
  private readonly insertNew: Database.Statement;
  private readonly selectOld: Database.Statement;
  private readonly started: Database.Statement;
  private readonly closed: Database.Statement;
  private readonly startNew: Database.Statement;
  private readonly closeOpen: Database.Statement;
  private readonly markDirty: Database.Statement;
  private readonly markPending: { run(appId: string, minute: number): void };
  private readonly clearMarks: { run(): void };
  /** What this group added to `pending`, (row, sign) after (row, sign): taken out again should it roll back. */
  private readonly journal: unknown[] = [];
  /** Keys in `pending` when this group began: a rolled-back group whose deltas were all new leaves none. */
  private pendingAtStart = 0;
  /** This group's deltas of older hours: written in its own transaction. */
  private readonly immediate = new QoeDeltaAccumulator(QOE_LAYOUT);
  /** Deltas not yet written to the rollup tables: of committed groups, and of the group being written. */
  private readonly pending = new QoeDeltaAccumulator(QOE_LAYOUT);
  /** When `pending` got its first delta (performance.now()). */
  private pendingSince = 0;
  /** Sessions of hours from this one on have their deltas kept pending; fixed while anything is pending. */
  private pendFrom = 0;
  /** (app, minute) marks in qoe_dirty, committed, covering `pending`. */
  private readonly marked = new Set<string>();
  /** This group's marks not yet in `marked`, and whether its transaction wrote `pending`. */
  private readonly groupMarks = new Map<string, [string, number]>();
  private lastMark = '';
  private persistedInGroup = false;
  private readonly rollups: QoeRollupWriter;
  private readonly deleteAppTx: (appId: string) => boolean;
  private readonly writeRange: (req: WriteRequest, from: number, to: number, outcomes: number[]) => void;

  constructor(file: string, durability: Durability) {
    this.db = openDatabase(file, { durability });
    this.upsert = this.db.prepare(UPSERT_SESSION_SQL);
    this.insertNew = this.db.prepare(INSERT_NEW_SESSION_SQL);
    this.selectOld = this.db.prepare(SELECT_OLD_SQL).raw();
    this.started = this.db.prepare(INSERT_STARTED_SQL).raw();
    this.closed = this.db.prepare(INSERT_CLOSED_SQL).raw();
    this.startNew = this.db.prepare(INSERT_NEW_STARTED_SQL);
    this.closeOpen = this.db.prepare(CLOSE_OPEN_SQL);
    this.markDirty = this.db.prepare('INSERT OR IGNORE INTO stream_dirty (minute) VALUES (?)');
    // Marks carry this writer's id: another writer on the file (an import beside the server) must not clear
    // marks over deltas this one still holds.
    const writer = randomUUID();
    const mark = this.db.prepare('INSERT OR IGNORE INTO qoe_dirty (app_id, minute, writer) VALUES (?, ?, ?)');
    this.markPending = { run: (appId: string, minute: number) => mark.run(appId, minute, writer) };
    const clear = this.db.prepare('DELETE FROM qoe_dirty WHERE writer = ?');
    this.clearMarks = { run: () => clear.run(writer) };
    this.rollups = new QoeRollupWriter(this.db);
    const appRows = APP_ROW_TABLES.map((t) => this.db.prepare(`DELETE FROM ${t} WHERE app_id = ?`));
    const deleteApp = this.db.prepare('DELETE FROM apps WHERE id = ?');
    this.deleteAppTx = this.db.transaction((appId: string) => {
      for (const st of appRows) st.run(appId);
      return deleteApp.run(appId).changes > 0;
    });
    const startedRow = new Array<unknown>(STARTED_PARAMS);
    const closedRow = new Array<unknown>(CLOSED_PARAMS);
    // Requests [from, to) in one transaction; offsets of each kind's values are found by walking the counts.
    this.writeRange = this.db.transaction((req: WriteRequest, from: number, to: number, outcomes: number[]) => {
      let sessionBase = 0;
      let playBase = 0;
      for (let r = 0; r < from; r++) {
        if ((req.kinds?.[r] ?? REQUEST_SESSIONS) === REQUEST_PLAYS) playBase += req.counts[r]!;
        else sessionBase += req.counts[r]!;
      }
      const playStart = playBase;
      const dirtyBefore = Math.floor((Date.now() + COMMIT_GRACE_MS) / MINUTE) * MINUTE;
      let dirty = Infinity;
      try {
        for (let r = from; r < to; r++) {
          const n = req.counts[r]!;
          if ((req.kinds?.[r] ?? REQUEST_SESSIONS) === REQUEST_SESSIONS) {
            for (let i = 0; i < n; i++) {
              const base = (sessionBase + i) * SESSION_ROW_WIDTH;
              // Its own array, not a reused one: the group's journal keeps it (see contribute).
              const row = req.values.slice(base, base + SESSION_ROW_WIDTH);
              // Most sessions are new: one insert, and no lookup of an old row to subtract.
              if (this.insertNew.run(row).changes === 0) {
                const old = this.selectOld.get(row[S.app_id], row[S.session_id]) as unknown[];
                // An older summary is ignored, as by the upsert.
                if ((row[S.timestamp] as number) < (old[S.timestamp] as number)) continue;
                this.contribute(old, -1);
                this.upsert.run(row);
              }
              this.contribute(row, 1);
            }
            sessionBase += n;
          } else {
            const plays = req.plays!;
            for (let i = 0; i < n; i++) {
              const b = (playBase + i) * PLAY_ROW_WIDTH;
              let code: number;
              let affected: number;
              if (plays[b + P.kind] === PLAY_STARTED) {
                startedParams(startedRow, plays, b);
                if (this.startNew.run(startedRow).changes === 1) code = 1;
                else {
                  const ret = this.started.get(startedRow) as [number | null] | undefined;
                  code = ret === undefined ? 0 : ret[0] === null ? 1 : 2;
                }
                affected = plays[b + P.openedAt] as number;
              } else {
                if (
                  this.closeOpen.run(
                    plays[b + P.closedAt],
                    plays[b + P.bytes],
                    plays[b + P.reason],
                    plays[b + P.receivedAt],
                    plays[b + P.raw],
                    plays[b + P.id],
                    plays[b + P.appId],
                  ).changes === 1
                ) {
                  code = 2;
                  affected = plays[b + P.closedAt] as number;
                } else {
                  closedParams(closedRow, plays, b);
                  // A close without a start inserts the whole session: the minutes from its opening change.
                  const ret = this.closed.get(closedRow) as [number] | undefined;
                  code = ret === undefined ? 0 : 2;
                  affected = ret === undefined ? Infinity : ret[0];
                }
              }
              outcomes[playBase + i] = code;
              if (code !== 0 && affected < dirty) dirty = affected;
            }
            playBase += n;
          }
        }
        this.endGroup();
      } catch (err) {
        // Requests are retried in order, so nothing after this one has an outcome yet.
        outcomes.fill(0, playStart);
        throw err;
      }
      const dirtyMinute = Math.floor(dirty / MINUTE) * MINUTE;
      if (dirtyMinute < dirtyBefore) this.markDirty.run(dirtyMinute);
    });
  }

  /**
   * Adds the QoE rollups of sessions stored before migration 0003, before the writer takes any request (the
   * store opens only once this returns). Chunked and resumable: each chunk commits with its progress mark.
   */
  backfillQoeRollups(chunk = 5_000): number {
    const state = this.db.prepare("SELECT value FROM engine_state WHERE key = 'qoe.backfill_next_id'").pluck();
    const setState = this.db.prepare("UPDATE engine_state SET value = ? WHERE key = 'qoe.backfill_next_id'");
    const done = this.db.prepare("DELETE FROM engine_state WHERE key = 'qoe.backfill_next_id'");
    const rows = this.db
      .prepare(
        `SELECT id, ${SESSION_COLUMNS.map((c) => (c === 'payload' || c === 'custom' ? 'NULL' : c)).join(', ')} FROM sessions WHERE id >= ? ORDER BY id LIMIT ?`,
      )
      .raw();
    let total = 0;
    for (;;) {
      const next = state.get() as number | undefined;
      if (next === undefined) return total;
      const batch = rows.all(next, chunk) as unknown[][];
      if (batch.length === 0) {
        done.run();
        return total;
      }
      const qoe = new QoeDeltaAccumulator(QOE_LAYOUT);
      this.db.transaction(() => {
        for (const r of batch) qoe.add(r.slice(1), 1);
        this.rollups.persist(qoe.deltas());
        setState.run((batch.at(-1)![0] as number) + 1);
      })();
      total += batch.length;
    }
  }

  /**
   * Recomputes from the sessions table the QoE minute rows, and their hour rows, of every bucket still marked
   * in qoe_dirty: marks left by a crash that lost pending deltas. Runs before the writer takes any request.
   * Returns the number of marks.
   */
  recoverQoeRollups(): number {
    return recoverMarkedRollups(this.db, this.rollups);
  }

  /** Adds (1) or takes away (-1) one session's contribution to the rollups, in this group. */
  private contribute(row: ArrayLike<unknown>, sign: 1 | -1): void {
    const ts = row[S.timestamp] as number;
    if (ts < this.pendFrom) {
      this.immediate.add(row, sign);
      return;
    }
    this.pending.add(row, sign);
    this.journal.push(row, sign);
    const appId = row[S.app_id] as string;
    const minute = Math.floor(ts / MINUTE) * MINUTE;
    const key = `${appId}\u0000${minute}`;
    if (key === this.lastMark) return;
    this.lastMark = key;
    if (!this.marked.has(key)) this.groupMarks.set(key, [appId, minute]);
  }

  /**
   * The end of a group's transaction: writes its deltas of older hours, and either writes everything pending
   * with its own deltas (and clears the marks), or marks the buckets its deltas leave pending.
   */
  private endGroup(): void {
    if (this.immediate.size > 0) this.rollups.persist(this.immediate.deltas());
    const due = this.pendingAtStart > 0 && performance.now() - this.pendingSince >= PERSIST_AFTER_MS;
    if (due || this.pending.size >= PERSIST_KEYS) {
      // `pending` is cleared only once this commits: should it roll back, the deltas are still pending.
      this.rollups.persist(this.pending.deltas());
      this.clearMarks.run();
      this.persistedInGroup = true;
      return;
    }
    for (const [appId, minute] of this.groupMarks.values()) this.markPending.run(appId, minute);
  }

  /** Starts a group: before its transaction. */
  private beginGroup(): void {
    this.journal.length = 0;
    this.immediate.clear();
    this.groupMarks.clear();
    this.lastMark = '';
    this.persistedInGroup = false;
    this.pendingAtStart = this.pending.size;
    if (this.pending.size === 0) this.pendFrom = Math.floor((Date.now() - PEND_WITHIN_MS) / HOUR) * HOUR;
  }

  /** After a group's transaction committed. */
  private commitGroup(): void {
    if (this.persistedInGroup) {
      this.pending.clear();
      this.marked.clear();
    } else if (this.pending.size > 0) {
      if (this.pendingAtStart === 0) this.pendingSince = performance.now();
      for (const key of this.groupMarks.keys()) this.marked.add(key);
    }
    this.journal.length = 0;
    this.immediate.clear();
    this.groupMarks.clear();
  }

  /** After a group's transaction rolled back: its deltas leave `pending` again. */
  private rollBackGroup(): void {
    if (this.pendingAtStart === 0) this.pending.clear();
    else {
      const j = this.journal;
      // Keys this group created are left at zero: persist() deletes a row left without sessions.
      for (let i = 0; i < j.length; i += 2) this.pending.add(j[i] as unknown[], -(j[i + 1] as number) as 1 | -1);
    }
    this.journal.length = 0;
    this.immediate.clear();
    this.groupMarks.clear();
  }

  /** One transaction over requests [from, to), with the rollup bookkeeping around it. */
  private writeGroup(req: WriteRequest, from: number, to: number, outcomes: number[]): void {
    this.beginGroup();
    try {
      this.writeRange(req, from, to, outcomes);
    } catch (err) {
      this.rollBackGroup();
      throw err;
    }
    this.commitGroup();
  }

  write(req: WriteRequest): WriteResult {
    const started = performance.now();
    const playCount = req.plays ? req.plays.length / PLAY_ROW_WIDTH : 0;
    let outcomes = new Array<number>(playCount).fill(0);
    let errors: Array<string | null>;
    try {
      this.writeGroup(req, 0, req.counts.length, outcomes);
      errors = req.counts.map(() => null);
    } catch {
      // One request's failure must not fail the others it was grouped with: retry each on its own.
      outcomes = new Array<number>(playCount).fill(0);
      errors = [];
      for (let r = 0; r < req.counts.length; r++) {
        try {
          this.writeGroup(req, r, r + 1, outcomes);
          errors.push(null);
        } catch (err) {
          errors.push((err as Error).message);
        }
      }
    }
    return {
      seq: req.seq,
      errors,
      outcomes,
      durationMs: performance.now() - started,
      pending: this.pending.size > 0,
    };
  }

  /** Whether rollup deltas are waiting to be written. */
  hasPendingRollups(): boolean {
    return this.pending.size > 0 || this.marked.size > 0;
  }

  /** Writes the pending rollup deltas in a transaction of their own (idle writer, a reader asking, closing). */
  flushRollups(): void {
    if (!this.hasPendingRollups()) return;
    this.db.transaction(() => {
      this.rollups.persist(this.pending.deltas());
      this.clearMarks.run();
    })();
    this.pending.clear();
    this.marked.clear();
  }

  /**
   * Deletes an app and everything it owns, here so that no group commits between the deletion and the
   * dropping of the app's pending rollup deltas (which would otherwise write its rows back).
   */
  deleteApp(appId: string): boolean {
    const deleted = this.deleteAppTx(appId);
    this.pending.dropApp(appId);
    const prefix = `${appId}\u0000`;
    for (const key of this.marked) if (key.startsWith(prefix)) this.marked.delete(key);
    return deleted;
  }

  close(): void {
    try {
      this.flushRollups();
    } finally {
      // Should that fail, the marks stay: the next start recomputes their rows.
      this.db.close();
    }
  }
}
