// Messages between m3w instances on one schema (the live feed's "sessions were stored", moments, watch-party
// rooms): rows of instance_events plus one NOTIFY per insert, on a LISTEN connection of its own. The NOTIFY only
// says "read" (its payload is the sender's instance id, far under Postgres's 8,000-byte limit whatever is sent);
// the rows carry the messages, so a NOTIFY lost while the LISTEN connection reconnects costs at most the 2 s poll.
// Reading by seq alone would skip a row whose insert began before a later one's but committed after it: a seq
// missing below the highest one read is asked for again on each read for GAP_MS (a rolled-back insert leaves
// one for good). Messages queued in one event-loop turn go in one INSERT, and a publisher's inserts are one
// after another, so its messages arrive in the order sent.
import pg from 'pg';
import type { InstanceBus, InstanceMessage } from '../types.ts';
import { q, quoteIdent, type PostgresOptions } from './database.ts';

const POLL_MS = 2000;
const GAP_MS = 10_000;
const PRUNE_MS = 30_000;
const RECONNECT_MS = 1000;
/** A message is small by design (a room command, a chat line, presence of up to 200 members); beyond this it is not sent. */
const MAX_PAYLOAD_CHARS = 64 * 1024;

interface EventRow {
  seq: number;
  instance: string;
  topic: string;
  app_id: string;
  payload: string;
}

export class PostgresInstanceBus implements InstanceBus {
  private readonly listeners = new Set<(m: InstanceMessage) => void>();
  private queue: Array<{ topic: string; appId: string; payload: string }> = [];
  private flushing: Promise<void> | null = null;
  private flushScheduled = false;
  /** Highest seq read; seqs below it not seen yet, with when they were first missed. */
  private hi = 0;
  private readonly gaps = new Map<number, number>();
  private reading: Promise<void> | null = null;
  private readAgain = false;
  private listener: pg.Client | null = null;
  private closed = false;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly channel: string;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly connection: PostgresOptions,
    readonly instanceId: string,
  ) {
    this.channel = `m3w_events_${connection.schema}`.slice(0, 63);
  }

  static async open(pool: pg.Pool, connection: PostgresOptions, instanceId: string): Promise<PostgresInstanceBus> {
    const bus = new PostgresInstanceBus(pool, connection, instanceId);
    // Only what is published from now on: older rows were for instances running before this one started.
    bus.hi = (
      await q<{ hi: number }>(pool, 'instance bus start', 'SELECT coalesce(max(seq), 0) AS hi FROM instance_events')
    ).rows[0]!.hi;
    await bus.listen();
    bus.timers.push(
      setInterval(() => bus.read(), POLL_MS),
      setInterval(() => void bus.prune(), PRUNE_MS),
    );
    for (const t of bus.timers) t.unref();
    return bus;
  }

  publish(topic: string, appId: string, payload: unknown): void {
    if (this.closed) return;
    const text = JSON.stringify(payload);
    // Never thrown at a caller in the middle of a room command or a timer: such a message is dropped.
    if (text.length > MAX_PAYLOAD_CHARS) return;
    this.queue.push({ topic, appId, payload: text });
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => void this.flush());
  }

  subscribe(listener: (m: InstanceMessage) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    await this.flush();
    await this.reading?.catch(() => {});
    const client = this.listener;
    this.listener = null;
    await client?.end().catch(() => {});
  }

  /** Sends the queued messages in one INSERT (after the previous one committed) with the NOTIFY in the same commit. */
  private flush(): Promise<void> {
    this.flushScheduled = false;
    const prior = this.flushing ?? Promise.resolve();
    const next = prior.then(async () => {
      const batch = this.queue;
      this.queue = [];
      if (batch.length === 0) return;
      try {
        await this.pool.query(
          `WITH ins AS (
             INSERT INTO instance_events (instance, topic, app_id, payload)
             SELECT $1, t, a, p FROM unnest($2::text[], $3::text[], $4::text[]) AS u(t, a, p) RETURNING seq)
           SELECT pg_notify($5, $1) FROM (SELECT count(*) FROM ins) AS n`,
          [
            this.instanceId,
            batch.map((m) => m.topic),
            batch.map((m) => m.appId),
            batch.map((m) => m.payload),
            this.channel,
          ],
        );
      } catch {
        // The other instances miss these messages; each is a nudge or a state the next one repeats (presence
        // every heartbeat, a room's state on the next command), never the only copy of stored data.
      }
    });
    this.flushing = next;
    void next.finally(() => {
      if (this.flushing === next) this.flushing = null;
    });
    return next;
  }

  private async listen(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.connection.url,
      options: `-c search_path=${quoteIdent(this.connection.schema)}`,
      application_name: 'm3w-listen',
    });
    client.on('notification', (n) => {
      if (n.payload !== this.instanceId) this.read();
    });
    const retry = () => {
      if (this.closed || this.listener !== client) return;
      this.listener = null;
      client.end().catch(() => {});
      // Meanwhile the poll delivers everything; the new connection also reads once, for what came in between.
      setTimeout(() => void this.listen().catch(() => retry()), RECONNECT_MS).unref();
    };
    client.on('error', retry);
    client.on('end', retry);
    this.listener = client;
    try {
      await client.connect();
      await client.query(`LISTEN "${this.channel}"`);
    } catch {
      retry();
      return;
    }
    this.read();
  }

  /** Reads what is new (one read at a time; a request during one makes one more after it). */
  private read(): void {
    if (this.closed) return;
    if (this.reading) {
      this.readAgain = true;
      return;
    }
    this.reading = (async () => {
      do {
        this.readAgain = false;
        await this.readOnce().catch(() => {});
      } while (this.readAgain && !this.closed);
    })().finally(() => {
      this.reading = null;
    });
  }

  private async readOnce(): Promise<void> {
    const now = Date.now();
    for (const [seq, since] of this.gaps) if (now - since > GAP_MS) this.gaps.delete(seq);
    const r = await this.pool.query<EventRow>(
      `SELECT seq, instance, topic, app_id, payload FROM instance_events
       WHERE seq > $1 OR seq = ANY($2::bigint[]) ORDER BY seq`,
      [this.hi, [...this.gaps.keys()]],
    );
    for (const row of r.rows) {
      if (row.seq > this.hi) {
        for (let s = this.hi + 1; s < row.seq && this.gaps.size < 10_000; s++) this.gaps.set(s, now);
        this.hi = row.seq;
      } else if (!this.gaps.delete(row.seq)) continue;
      if (row.instance === this.instanceId) continue;
      let payload: unknown;
      try {
        payload = JSON.parse(row.payload);
      } catch {
        continue;
      }
      const message = { topic: row.topic, appId: row.app_id, payload, instance: row.instance };
      for (const fn of this.listeners)
        try {
          fn(message);
        } catch {
          // one listener's failure is its own; the others still get the message
        }
    }
  }

  private async prune(): Promise<void> {
    await this.pool
      .query(`DELETE FROM instance_events WHERE at < clock_timestamp() - interval '1 minute'`)
      .catch(() => {});
  }
}
