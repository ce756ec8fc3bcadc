// Owns the write connection for sessions and commits groups of requests in one transaction each.
// Runs inside the writer thread, so an fsync never blocks the HTTP event loop.
import type Database from 'better-sqlite3';
import { openDatabase, type Durability } from './open-database.ts';
import { SESSION_ROW_WIDTH, UPSERT_SESSION_SQL } from './session-rows.ts';

export interface WriteRequest {
  seq: number;
  /** Flat values, SESSION_ROW_WIDTH per session. */
  values: unknown[];
  /** Sessions per HTTP request, in order: each request is all-or-nothing. */
  counts: number[];
}

export interface WriteResult {
  seq: number;
  /** One entry per request: null when committed, else the error message. */
  errors: Array<string | null>;
  durationMs: number;
}

export class SessionWriter {
  private readonly db: Database.Database;
  private readonly upsert: Database.Statement;
  private readonly writeAll: (values: unknown[], from: number, sessions: number) => void;

  constructor(file: string, durability: Durability) {
    this.db = openDatabase(file, { durability });
    this.upsert = this.db.prepare(UPSERT_SESSION_SQL);
    const row = new Array<unknown>(SESSION_ROW_WIDTH);
    this.writeAll = this.db.transaction((values: unknown[], from: number, sessions: number) => {
      for (let i = 0; i < sessions; i++) {
        const base = (from + i) * SESSION_ROW_WIDTH;
        for (let c = 0; c < SESSION_ROW_WIDTH; c++) row[c] = values[base + c];
        this.upsert.run(row);
      }
    });
  }

  write(req: WriteRequest): WriteResult {
    const started = performance.now();
    const total = req.counts.reduce((a, b) => a + b, 0);
    let errors: Array<string | null>;
    try {
      this.writeAll(req.values, 0, total);
      errors = req.counts.map(() => null);
    } catch {
      // One request's failure must not fail the others it was grouped with: retry each on its own.
      errors = [];
      let from = 0;
      for (const n of req.counts) {
        try {
          this.writeAll(req.values, from, n);
          errors.push(null);
        } catch (err) {
          errors.push((err as Error).message);
        }
        from += n;
      }
    }
    return { seq: req.seq, errors, durationMs: performance.now() - started };
  }

  close(): void {
    this.db.close();
  }
}
