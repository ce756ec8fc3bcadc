// Ingestion on Postgres with the SQLite adapter's contract and group commit: requests that arrive together
// (SDK session batches and webhook play events) share one transaction; a request's promise resolves only after
// COMMIT (a 2xx means committed). A batch of sessions is deduplicated per (app, sessionId) first, then written
// with one INSERT … SELECT FROM unnest(…) ON CONFLICT … DO UPDATE … WHERE stored.timestamp <= excluded.timestamp.
// QoE rollup deltas are computed in JS (tools/qoe-deltas.ts) from the new rows and the rows they replace, and
// added to the rollup tables with one upsert per step. Transactions run one at a time under an advisory lock,
// so the old rows a delta subtracts are the ones actually replaced, even with several m3w processes.
import type pg from 'pg';
import { QoeDeltaAccumulator, type QoeDelta } from '../../tools/qoe-deltas.ts';
import { MAX_GROUP_ROWS, StoreError, type PlayEventOutcome, type WriteBatchStats } from '../types.ts';
import type { IngestedSession, PlayEvent } from '../../ingest/index.ts';
import { pushSessionRow, SESSION_COLUMNS, SESSION_OFFSET as S, SESSION_ROW_WIDTH } from '../sqlite/session-rows.ts';
import { QOE_LAYOUT } from '../sqlite/qoe-rollup-writer.ts';

/** Key of the advisory lock every ingest transaction holds ("m3w:ingest"). */
export const INGEST_LOCK = 0x6d33_7702;
const MINUTE = 60_000;
/** As on SQLite: an event for a minute that ended less than this long ago also marks it for recomputation. */
const COMMIT_GRACE_MS = 5_000;

/** Postgres array types of the session columns, in SESSION_COLUMNS order (for unnest). */
const SESSION_TYPES: Record<string, string> = {
  rebuffer_ratio: 'float8',
};
const TEXT_COLUMNS = new Set([
  'app_id',
  'session_id',
  'session_start_date_iso',
  'content_id',
  'content_title',
  'stream_type',
  'player_name',
  'player_version',
  'app_version',
  'device_model',
  'os',
  'os_version',
  'country',
  'cdn',
  'error_code',
  'custom',
  'payload',
]);
const typeOf = (c: string) => SESSION_TYPES[c] ?? (TEXT_COLUMNS.has(c) ? 'text' : 'int8');

// Partitioning (0006): sessions are unique per (app, sessionId, start), as the partition key must be in a unique
// key. A re-sent session whose start moved goes to another partition: its stored row is deleted first, so
// (app, sessionId) stays unique (this file's transactions run one at a time and hold the old rows FOR UPDATE).
const SESSION_KEY = 'app_id, session_id, session_start_ms';
const DELETE_MOVED_SQL = `DELETE FROM sessions WHERE (${SESSION_KEY}) IN
  (SELECT * FROM unnest($1::text[], $2::text[], $3::int8[]))`;

const UPSERT_SESSIONS_SQL = `INSERT INTO sessions AS stored (${SESSION_COLUMNS.join(', ')})
  SELECT * FROM unnest(${SESSION_COLUMNS.map((c, i) => `$${i + 1}::${typeOf(c)}[]`).join(', ')})
  ON CONFLICT (${SESSION_KEY}) DO UPDATE SET ${SESSION_COLUMNS.filter((c) => c !== 'app_id' && c !== 'session_id')
    .map((c) => `${c} = excluded.${c}`)
    .join(', ')}
  WHERE stored.timestamp <= excluded.timestamp`;

// The stored rows a batch may replace, in SESSION_COLUMNS positions (large text left out), locked until commit.
const SELECT_OLD_SQL = `SELECT ${SESSION_COLUMNS.map((c) => (c === 'payload' || c === 'custom' ? 'NULL' : c)).join(', ')}
  FROM sessions WHERE (app_id, session_id) IN (SELECT * FROM unnest($1::text[], $2::text[])) FOR UPDATE`;

const QOE_SUMMED = [
  'sessions',
  'sessions_with_errors',
  'startup_sum',
  'startup_count',
  'rebuffer_sum',
  'rebuffer_count',
  'play_sum',
  'play_count',
  'dropped_sum',
  'dropped_count',
  'seeks_sum',
  'seeks_count',
  'bitrate_sum',
  'bitrate_count',
];
const qoeUpsertSql = (
  table: string,
  t: string,
) => `INSERT INTO ${table} AS r (app_id, dimension, value, ${t}, ${QOE_SUMMED.join(', ')}, startup_hist)
  SELECT app_id, dimension, value, t, ${QOE_SUMMED.join(', ')}, hist::integer[] FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[],
    ${QOE_SUMMED.map((c, i) => `$${i + 5}::${c.endsWith('_sum') ? 'float8' : 'int8'}[]`).join(', ')}, $19::text[])
    AS u(app_id, dimension, value, t, ${QOE_SUMMED.join(', ')}, hist)
  ON CONFLICT (app_id, dimension, value, ${t}) DO UPDATE SET
  ${QOE_SUMMED.map((c) => `${c} = r.${c} + excluded.${c}`).join(', ')},
  startup_hist = m3w_hist_add(r.startup_hist, excluded.startup_hist)`;
const QOE_SQL = {
  60000: {
    upsert: qoeUpsertSql('qoe_minutes', 'minute'),
    deleteEmpty: `DELETE FROM qoe_minutes WHERE (app_id, dimension, value, minute) IN
      (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[])) AND sessions <= 0`,
  },
  3600000: {
    upsert: qoeUpsertSql('qoe_hours', 'hour'),
    deleteEmpty: `DELETE FROM qoe_hours WHERE (app_id, dimension, value, hour) IN
      (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[])) AND sessions <= 0`,
  },
} as const;

const COMMON =
  'app_id, id, server, channel, country, protocol, device, user_id, user_name, address, user_agent, opened_at';
// The SQLite adapter's play statements (play-session-rows.ts), in Postgres spelling.
const START_NEW_SQL = `INSERT INTO play_sessions (${COMMON}, start_bytes, started_seen, received_at, start_event)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 1, $14, $15) ON CONFLICT (app_id, id) DO NOTHING`;
const STARTED_SQL = `INSERT INTO play_sessions AS p (${COMMON}, start_bytes, started_seen, received_at, start_event)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 1, $14, $15)
  ON CONFLICT (app_id, id) DO UPDATE SET
    server = excluded.server, channel = excluded.channel, country = excluded.country, protocol = excluded.protocol,
    device = excluded.device, user_id = excluded.user_id, user_name = excluded.user_name, address = excluded.address,
    user_agent = excluded.user_agent, opened_at = LEAST(excluded.opened_at, coalesce(p.closed_at, excluded.opened_at)),
    start_bytes = excluded.start_bytes, started_seen = 1, received_at = excluded.received_at, start_event = excluded.start_event
  WHERE p.started_seen = 0
  RETURNING closed_at`;
const CLOSE_OPEN_SQL = `UPDATE play_sessions SET closed_at = GREATEST($1::int8, opened_at), close_bytes = $2, reason = $3,
  closed_seen = 1, received_at = $4, close_event = $5 WHERE id = $6 AND app_id = $7 AND closed_seen = 0`;
const CLOSED_SQL = `INSERT INTO play_sessions AS p (${COMMON}, closed_at, close_bytes, reason, closed_seen, received_at, close_event)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 1, $16, $17)
  ON CONFLICT (app_id, id) DO UPDATE SET
    closed_at = GREATEST(excluded.closed_at, p.opened_at), close_bytes = excluded.close_bytes, reason = excluded.reason,
    closed_seen = 1, received_at = excluded.received_at, close_event = excluded.close_event
  WHERE p.closed_seen = 0
  RETURNING opened_at`;

// The two usual cases for many events at once (see writePlays): new starts, and closes of open sessions.
type StartField = (appId: string, e: PlayEvent, receivedAt: number) => unknown;
const START_COLUMNS: StartField[] = [
  (a) => a,
  (_, e) => e.id,
  (_, e) => e.server,
  (_, e) => e.channel,
  (_, e) => e.country,
  (_, e) => e.protocol,
  (_, e) => e.device,
  (_, e) => e.userId,
  (_, e) => e.userName,
  (_, e) => e.address,
  (_, e) => e.userAgent,
  (_, e) => e.openedAt,
  (_, e) => e.bytes,
  (_, _e, r) => r,
  (_, e) => e.raw,
];
const START_NEW_BULK_SQL = `INSERT INTO play_sessions (${COMMON}, start_bytes, received_at, start_event, started_seen)
  SELECT *, 1 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
    $9::text[], $10::text[], $11::text[], $12::int8[], $13::int8[], $14::int8[], $15::text[])
  ON CONFLICT (app_id, id) DO NOTHING RETURNING app_id, id`;
const CLOSE_OPEN_BULK_SQL = `UPDATE play_sessions p SET closed_at = GREATEST(u.closed_at, p.opened_at), close_bytes = u.bytes,
    reason = u.reason, closed_seen = 1, received_at = u.received_at, close_event = u.raw
  FROM unnest($1::text[], $2::text[], $3::int8[], $4::int8[], $5::text[], $6::int8[], $7::text[])
    AS u(app_id, id, closed_at, bytes, reason, received_at, raw)
  WHERE p.app_id = u.app_id AND p.id = u.id AND p.closed_seen = 0 RETURNING p.app_id, p.id`;

const CODES: Record<PlayEventOutcome, number> = { duplicate: 0, opened: 1, closed: 2 };
const OUTCOMES: readonly PlayEventOutcome[] = ['duplicate', 'opened', 'closed'];

interface Pending {
  sessions?: unknown[][];
  plays?: readonly PlayEvent[];
  appId: string;
  receivedAt: number;
  resolve: (outcomes: PlayEventOutcome[]) => void;
  reject: (err: Error) => void;
}

/** How many of the queued requests go into the next transaction: up to MAX_GROUP_ROWS rows, at least one. */
function groupLength(queue: readonly Pending[]): number {
  let n = 0;
  let rows = 0;
  while (n < queue.length) {
    const size = queue[n]!.sessions?.length ?? queue[n]!.plays?.length ?? 0;
    if (n > 0 && rows + size > MAX_GROUP_ROWS) break;
    rows += size;
    n++;
  }
  return n;
}

export class PostgresIngest {
  private queue: Pending[] = [];
  private running = false;
  private closing = false;
  private idle: (() => void) | null = null;
  private readonly listeners: Array<(stats: WriteBatchStats) => void> = [];

  constructor(private readonly pool: pg.Pool) {}

  onBatch(listener: (stats: WriteBatchStats) => void): void {
    this.listeners.push(listener);
  }

  upsertSessions(appId: string, sessions: readonly IngestedSession[], receivedAt: number): Promise<void> {
    const rows = sessions.map((s) => {
      const row: unknown[] = [];
      pushSessionRow(row, appId, s, receivedAt);
      return row;
    });
    return this.enqueue({ sessions: rows, appId, receivedAt }).then(() => {});
  }

  ingestPlayEvents(appId: string, events: readonly PlayEvent[], receivedAt: number): Promise<PlayEventOutcome[]> {
    return this.enqueue({ plays: events, appId, receivedAt });
  }

  private enqueue(p: Omit<Pending, 'resolve' | 'reject'>): Promise<PlayEventOutcome[]> {
    if (this.closing) return Promise.reject(new StoreError('the store is closing'));
    return new Promise((resolve, reject) => {
      this.queue.push({ ...p, resolve, reject });
      if (!this.running) {
        this.running = true;
        // Everything that arrives in this turn of the event loop joins the first transaction.
        setImmediate(() => void this.drain());
      }
    });
  }

  /** One transaction at a time; whatever queued up meanwhile goes into the next. */
  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const group = this.queue.splice(0, groupLength(this.queue));
      const started = performance.now();
      try {
        const outcomes = await this.commit(group);
        for (let i = 0; i < group.length; i++) group[i]!.resolve(outcomes[i]!);
      } catch {
        // One request's failure must not fail the others it was grouped with: retry each on its own.
        for (const p of group) {
          try {
            p.resolve((await this.commit([p]))[0]!);
          } catch (err) {
            const what = p.plays ? 'play events' : 'sessions';
            p.reject(
              err instanceof StoreError
                ? new StoreError(`could not write ${what}: ${err.message}`, { cause: err })
                : (err as Error),
            );
          }
        }
      }
      const stats: WriteBatchStats = {
        sessions: group.reduce((n, p) => n + (p.sessions?.length ?? 0), 0),
        requests: group.length,
        durationMs: performance.now() - started,
      };
      for (const l of this.listeners) l(stats);
    }
    this.running = false;
    this.idle?.();
  }

  /** Writes the group in one transaction; resolves after COMMIT with each request's play outcomes. */
  private async commit(group: readonly Pending[]): Promise<PlayEventOutcome[][]> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw new StoreError((err as Error).message, { cause: err });
    }
    let broken = false;
    try {
      // One round trip: the transaction and its turn (a constant, so no parameters are needed).
      await client.query(`BEGIN; SELECT pg_advisory_xact_lock(${INGEST_LOCK})`);
      const qoe = new QoeDeltaAccumulator(QOE_LAYOUT);
      const rows = group.flatMap((p) => p.sessions ?? []);
      if (rows.length > 0) await this.writeSessions(client, rows, qoe);
      const outcomes: PlayEventOutcome[][] = group.map((p) => new Array<PlayEventOutcome>(p.plays?.length ?? 0));
      const dirty = await this.writePlays(client, group, outcomes);
      await this.persistQoe(client, qoe.deltas());
      const dirtyBefore = Math.floor((Date.now() + COMMIT_GRACE_MS) / MINUTE) * MINUTE;
      const dirtyMinute = Math.floor(dirty / MINUTE) * MINUTE;
      if (dirtyMinute < dirtyBefore)
        await client.query(
          'INSERT INTO stream_dirty (minute) VALUES ($1) ON CONFLICT (minute) DO UPDATE SET taken = false',
          [dirtyMinute],
        );
      await client.query('COMMIT');
      return outcomes;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw err instanceof StoreError ? err : new StoreError((err as Error).message, { cause: err });
    } finally {
      client.release(broken);
    }
  }

  private async writeSessions(client: pg.PoolClient, all: unknown[][], qoe: QoeDeltaAccumulator): Promise<void> {
    // Per (app, sessionId) only the winner goes in: the newest timestamp, the last sent among equals (what
    // upserting them one by one would leave).
    const latest = new Map<string, unknown[]>();
    for (const row of all) {
      const key = `${row[S.app_id]}\u0000${row[S.session_id]}`;
      const seen = latest.get(key);
      if (!seen || (row[S.timestamp] as number) >= (seen[S.timestamp] as number)) latest.set(key, row);
    }
    const batch = [...latest.values()];
    const old = await client.query({
      text: SELECT_OLD_SQL,
      values: [batch.map((r) => r[S.app_id]), batch.map((r) => r[S.session_id])],
      rowMode: 'array',
    });
    const stored = new Map<string, unknown[]>();
    for (const r of old.rows as unknown[][]) stored.set(`${r[S.app_id]}\u0000${r[S.session_id]}`, r);
    const write: unknown[][] = [];
    const moved: unknown[][] = [];
    for (const row of batch) {
      const prev = stored.get(`${row[S.app_id]}\u0000${row[S.session_id]}`);
      // An older summary is ignored, as by the upsert's WHERE.
      if (prev && (row[S.timestamp] as number) < (prev[S.timestamp] as number)) continue;
      if (prev) qoe.add(prev, -1);
      qoe.add(row, 1);
      write.push(row);
      if (prev && prev[S.session_start_ms] !== row[S.session_start_ms]) moved.push(prev);
    }
    if (write.length === 0) return;
    if (moved.length > 0)
      await client.query(DELETE_MOVED_SQL, [
        moved.map((r) => r[S.app_id]),
        moved.map((r) => r[S.session_id]),
        moved.map((r) => r[S.session_start_ms]),
      ]);
    const columns: unknown[][] = Array.from({ length: SESSION_ROW_WIDTH }, () => new Array<unknown>(write.length));
    for (let i = 0; i < write.length; i++) {
      const row = write[i]!;
      for (let c = 0; c < SESSION_ROW_WIDTH; c++) columns[c]![i] = row[c];
    }
    await client.query(UPSERT_SESSIONS_SQL, columns);
  }

  /**
   * Writes the group's play events, filling `outcomes`; returns the earliest minute they changed. When no play id
   * occurs twice in the group, the events are independent of each other's order: the usual cases (a new start, a
   * close of an open session) go in two statements for the whole group and only the rest one by one. Otherwise
   * every event goes one by one, in order.
   */
  private async writePlays(
    client: pg.PoolClient,
    group: readonly Pending[],
    outcomes: PlayEventOutcome[][],
  ): Promise<number> {
    let dirty = Infinity;
    const events: Array<{ p: number; i: number; appId: string; e: PlayEvent; receivedAt: number }> = [];
    const seen = new Set<string>();
    let repeated = false;
    for (let pi = 0; pi < group.length; pi++) {
      const p = group[pi]!;
      for (const [i, e] of (p.plays ?? []).entries()) {
        const key = `${p.appId}\u0000${e.id}`;
        if (seen.has(key)) repeated = true;
        seen.add(key);
        events.push({ p: pi, i, appId: p.appId, e, receivedAt: p.receivedAt });
      }
    }
    if (events.length === 0) return dirty;
    let rest = events;
    if (!repeated && events.length > 1) {
      const done = new Set<string>();
      const starts = events.filter((x) => x.e.event === 'play_started');
      if (starts.length > 0) {
        const r = await client.query<{ app_id: string; id: string }>(START_NEW_BULK_SQL, [
          ...START_COLUMNS.map((f) => starts.map((x) => f(x.appId, x.e, x.receivedAt))),
        ]);
        for (const row of r.rows) done.add(`${row.app_id}\u0000${row.id}`);
      }
      const closes = events.filter((x) => x.e.event === 'play_closed');
      if (closes.length > 0) {
        const r = await client.query<{ app_id: string; id: string }>(CLOSE_OPEN_BULK_SQL, [
          closes.map((x) => x.appId),
          closes.map((x) => x.e.id),
          closes.map((x) => x.e.closedAt),
          closes.map((x) => x.e.bytes),
          closes.map((x) => x.e.reason),
          closes.map((x) => x.receivedAt),
          closes.map((x) => x.e.raw),
        ]);
        for (const row of r.rows) done.add(`${row.app_id}\u0000${row.id}`);
      }
      rest = [];
      for (const x of events) {
        if (!done.has(`${x.appId}\u0000${x.e.id}`)) {
          rest.push(x);
          continue;
        }
        const started = x.e.event === 'play_started';
        outcomes[x.p]![x.i] = started ? 'opened' : 'closed';
        const affected = started ? x.e.openedAt : x.e.closedAt!;
        if (affected < dirty) dirty = affected;
      }
    }
    for (const x of rest) {
      const [code, affected] = await this.writePlay(client, x.appId, x.e, x.receivedAt);
      outcomes[x.p]![x.i] = OUTCOMES[code]!;
      if (code !== CODES.duplicate && affected < dirty) dirty = affected;
    }
    return dirty;
  }

  private async writePlay(
    client: pg.PoolClient,
    appId: string,
    e: PlayEvent,
    receivedAt: number,
  ): Promise<[code: number, affected: number]> {
    const common = [
      appId,
      e.id,
      e.server,
      e.channel,
      e.country,
      e.protocol,
      e.device,
      e.userId,
      e.userName,
      e.address,
      e.userAgent,
      e.openedAt,
    ];
    if (e.event === 'play_started') {
      const params = [...common, e.bytes, receivedAt, e.raw];
      if ((await client.query(START_NEW_SQL, params)).rowCount === 1) return [CODES.opened, e.openedAt];
      const r = await client.query<{ closed_at: number | null }>(STARTED_SQL, params);
      const code = r.rows.length === 0 ? CODES.duplicate : r.rows[0]!.closed_at === null ? CODES.opened : CODES.closed;
      return [code, e.openedAt];
    }
    const closed = await client.query(CLOSE_OPEN_SQL, [e.closedAt, e.bytes, e.reason, receivedAt, e.raw, e.id, appId]);
    if (closed.rowCount === 1) return [CODES.closed, e.closedAt!];
    // A close without a start inserts the whole session: the minutes from its opening change.
    const r = await client.query<{ opened_at: number }>(CLOSED_SQL, [
      ...common,
      e.closedAt,
      e.bytes,
      e.reason,
      receivedAt,
      e.raw,
    ]);
    return r.rows.length === 0 ? [CODES.duplicate, Infinity] : [CODES.closed, r.rows[0]!.opened_at];
  }

  private async persistQoe(client: pg.PoolClient, deltas: Iterable<QoeDelta>): Promise<void> {
    const bySteps = { 60000: [] as QoeDelta[], 3600000: [] as QoeDelta[] };
    for (const d of deltas) bySteps[d.step].push(d);
    for (const step of [60_000, 3_600_000] as const) {
      const list = bySteps[step];
      if (list.length === 0) continue;
      const keys = [
        list.map((d) => d.appId),
        list.map((d) => d.dimension),
        list.map((d) => d.value),
        list.map((d) => d.t),
      ];
      const figures = QOE_SUMMED.map((_, k) => list.map((d) => d.figures[k]));
      const hists = list.map((d) => `{${sortedPairs(d.hist).join(',')}}`);
      await client.query(QOE_SQL[step].upsert, [...keys, ...figures, hists]);
      // Only a replacement subtracts; a row left without sessions goes.
      const emptied = list.filter((d) => d.figures[0]! <= 0);
      if (emptied.length > 0)
        await client.query(QOE_SQL[step].deleteEmpty, [
          emptied.map((d) => d.appId),
          emptied.map((d) => d.dimension),
          emptied.map((d) => d.value),
          emptied.map((d) => d.t),
        ]);
    }
  }

  /** Waits for queued writes; later writes are refused. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.running) await new Promise<void>((resolve) => (this.idle = resolve));
  }
}

/** (bucket, count) pairs sorted by bucket, zero counts dropped. */
function sortedPairs(hist: readonly number[]): number[] {
  const pairs: Array<[number, number]> = [];
  for (let i = 0; i < hist.length; i += 2) if (hist[i + 1] !== 0) pairs.push([hist[i]!, hist[i + 1]!]);
  pairs.sort((a, b) => a[0] - b[0]);
  return pairs.flat();
}
