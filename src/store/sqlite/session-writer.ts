// Owns the write connection for ingestion (SDK sessions and webhook play events) and commits groups of
// requests in one transaction each, QoE rollups included. Runs inside the writer thread, so an fsync never
// blocks the HTTP event loop.
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
import { QOE_LAYOUT, QoeRollupWriter } from './qoe-rollup-writer.ts';
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
}

const MINUTE = 60_000;
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
  /** The group's rollup deltas, computed here and persisted once at the end of its transaction. */
  private readonly qoe = new QoeDeltaAccumulator(QOE_LAYOUT);
  private readonly rollups: QoeRollupWriter;
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
    this.rollups = new QoeRollupWriter(this.db);
    const row = new Array<unknown>(SESSION_ROW_WIDTH);
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
              for (let c = 0; c < SESSION_ROW_WIDTH; c++) row[c] = req.values[base + c];
              // Most sessions are new: one insert, and no lookup of an old row to subtract.
              if (this.insertNew.run(row).changes === 0) {
                const old = this.selectOld.get(row[S.app_id], row[S.session_id]) as unknown[];
                // An older summary is ignored, as by the upsert.
                if ((row[S.timestamp] as number) < (old[S.timestamp] as number)) continue;
                this.qoe.add(old, -1);
                this.upsert.run(row);
              }
              this.qoe.add(row, 1);
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
        this.rollups.persist(this.qoe.deltas());
        this.qoe.clear();
      } catch (err) {
        this.qoe.clear();
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
      this.db.transaction(() => {
        for (const r of batch) this.qoe.add(r.slice(1), 1);
        this.rollups.persist(this.qoe.deltas());
        this.qoe.clear();
        setState.run((batch.at(-1)![0] as number) + 1);
      })();
      total += batch.length;
    }
  }

  write(req: WriteRequest): WriteResult {
    const started = performance.now();
    const playCount = req.plays ? req.plays.length / PLAY_ROW_WIDTH : 0;
    let outcomes = new Array<number>(playCount).fill(0);
    let errors: Array<string | null>;
    try {
      this.writeRange(req, 0, req.counts.length, outcomes);
      errors = req.counts.map(() => null);
    } catch {
      // One request's failure must not fail the others it was grouped with: retry each on its own.
      outcomes = new Array<number>(playCount).fill(0);
      errors = [];
      for (let r = 0; r < req.counts.length; r++) {
        try {
          this.writeRange(req, r, r + 1, outcomes);
          errors.push(null);
        } catch (err) {
          errors.push((err as Error).message);
        }
      }
    }
    return { seq: req.seq, errors, outcomes, durationMs: performance.now() - started };
  }

  close(): void {
    this.db.close();
  }
}
