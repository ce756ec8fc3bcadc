// Group commit: requests queue their rows; while transactions are being written in the writer thread,
// everything that arrives waits and then goes out together in the next one. One fsync serves many requests,
// and no request is answered before its rows are on disk.
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { MAX_GROUP_ROWS, StoreError, type WriteBatchStats } from '../types.ts';
import {
  type ControlMessage,
  REQUEST_PLAYS,
  REQUEST_SESSIONS,
  type WriteRequest,
  type WriteResult,
} from './session-writer.ts';
import type { Durability } from './open-database.ts';
import { PLAY_ROW_WIDTH } from './play-session-rows.ts';
import { SESSION_ROW_WIDTH } from './session-rows.ts';

/**
 * Two transactions in flight: while the writer commits one, the next is already waiting in its queue, so
 * neither thread idles waiting for the other's turnaround. More would only shrink the groups.
 */
const MAX_IN_FLIGHT = 2;

interface Pending {
  kind: number;
  /** Sessions or play events in this request. */
  count: number;
  resolve: (outcomes: number[]) => void;
  reject: (err: Error) => void;
}

/**
 * Starts the writer thread: from TypeScript sources (dev, tests) it loads through tsx; from dist/ or the
 * executable it is the writer-worker.js beside us. A path, not a URL: pkg runs a worker from its virtual
 * filesystem only when handed a path string.
 */
function startWorker(file: string, durability: Durability, owner: boolean): Worker {
  const workerData = { file, durability, owner };
  // The writer holds one group at a time: a small young generation keeps its memory flat under load.
  const resourceLimits = { maxYoungGenerationSizeMb: 8 };
  const entry = new URL(`./writer-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);
  if (!entry.pathname.endsWith('.ts')) return new Worker(fileURLToPath(entry), { workerData, resourceLimits });
  const tsxApi = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api')).href.replace(/\.cjs$/, '.mjs');
  const boot = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(boot, { eval: true, workerData, resourceLimits });
}

export class GroupCommitter {
  private readonly worker: Worker;
  private queue: Pending[] = [];
  /** Rows of everything in `queue`, flat, in queue order: what the next transaction will write. */
  private queuedValues: unknown[] = [];
  /** Play event rows of everything in `queue`, flat, in queue order. */
  private queuedPlays: unknown[] = [];
  private queuedHasPlays = false;
  /** Groups posted to the writer and not yet answered, oldest first (the writer answers in order). */
  private inFlight: Pending[][] = [];
  private seq = 0;
  private flushScheduled = false;
  private failed: Error | null = null;
  private readonly ready: Promise<void>;
  private closing: Promise<void> | null = null;
  private drained: (() => void) | null = null;
  private listeners: Array<(stats: WriteBatchStats) => void> = [];
  /** Control requests (not writes) posted to the writer and not yet answered, by number. */
  private controls = new Map<number, { resolve: (value: unknown) => void; reject: (err: Error) => void }>();
  private controlSeq = 0;
  /** A group was answered with rollup deltas still pending since the last flushRollups was posted. */
  private rollupsPending = false;
  /** The last flushRollups posted: it covers every group answered before it was posted. */
  private lastRollupFlush: Promise<void> = Promise.resolve();

  /** `owner`: this process is the server holding the instance lock (see SqliteStoreOptions.owner). */
  constructor(file: string, durability: Durability, owner = false) {
    this.worker = startWorker(file, durability, owner);
    this.ready = new Promise((resolve, reject) => {
      this.worker.once('message', () => resolve());
      this.worker.once('error', reject);
    });
    this.worker.on(
      'message',
      (
        msg: WriteResult | { ready: true } | { closed: true } | { control: number; value?: unknown; error?: string },
      ) => {
        if ('seq' in msg) this.onResult(msg);
        else if ('control' in msg) this.onControl(msg);
      },
    );
    this.worker.on('error', (err) => this.fail(new StoreError(`session writer failed: ${err.message}`)));
    this.worker.on('exit', (code) => {
      if (!this.closing) this.fail(new StoreError(`session writer exited (code ${code})`));
    });
  }

  whenReady(): Promise<void> {
    return this.ready;
  }

  onBatch(listener: (stats: WriteBatchStats) => void): void {
    this.listeners.push(listener);
  }

  /** Queues `sessions` rows (appended to `values` by `fill`) and resolves once they are committed. */
  write(sessions: number, fill: (values: unknown[]) => void): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.closing) return Promise.reject(new StoreError('the store is closing'));
    return new Promise((resolve, reject) => {
      fill(this.queuedValues);
      this.queue.push({ kind: REQUEST_SESSIONS, count: sessions, resolve: () => resolve(), reject });
      this.scheduleFlush();
    });
  }

  /** Queues `events` play event rows (appended by `fill`); resolves once committed with one outcome code per event. */
  writePlays(events: number, fill: (values: unknown[]) => void): Promise<number[]> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.closing) return Promise.reject(new StoreError('the store is closing'));
    return new Promise((resolve, reject) => {
      fill(this.queuedPlays);
      this.queuedHasPlays = true;
      this.queue.push({ kind: REQUEST_PLAYS, count: events, resolve, reject });
      this.scheduleFlush();
    });
  }

  /**
   * Resolves once the QoE rollup deltas of every group answered so far are in the rollup tables: the writer
   * keeps them in memory for a few hundred milliseconds, so every read of the rollups asks first. Immediate
   * when no answered group left any pending, and shared by the reads that follow until another does.
   */
  flushRollups(): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.rollupsPending && !this.closing) {
      this.rollupsPending = false;
      this.lastRollupFlush = this.control({ control: 0, op: 'flushRollups' }).then(
        () => undefined,
        (err: Error) => {
          // Still pending in the writer: the next read asks again.
          this.rollupsPending = true;
          throw err;
        },
      );
    }
    return this.lastRollupFlush;
  }

  /** Deletes an app and everything it owns, in the writer thread (so its pending rollup deltas go with it). */
  async deleteApp(appId: string): Promise<boolean> {
    return (await this.control({ control: 0, op: 'deleteApp', appId })) as boolean;
  }

  private control(msg: ControlMessage): Promise<unknown> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.closing) return Promise.reject(new StoreError('the store is closing'));
    msg.control = ++this.controlSeq;
    return new Promise((resolve, reject) => {
      this.controls.set(msg.control, { resolve, reject });
      this.worker.postMessage(msg);
    });
  }

  private onControl(msg: { control: number; value?: unknown; error?: string }): void {
    const waiter = this.controls.get(msg.control);
    if (!waiter) return;
    this.controls.delete(msg.control);
    if (msg.error !== undefined) waiter.reject(new StoreError(msg.error));
    else waiter.resolve(msg.value);
  }

  private scheduleFlush(): void {
    if (this.inFlight.length >= MAX_IN_FLIGHT || this.flushScheduled) return;
    this.flushScheduled = true;
    // Let everything that arrived in this turn of the event loop join the same transaction.
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.queue.length === 0) {
      if (this.inFlight.length === 0) this.drained?.();
      return;
    }
    if (this.inFlight.length >= MAX_IN_FLIGHT) return;
    // The first requests up to MAX_GROUP_ROWS (at least one); the rest wait for the next group.
    let take = 0;
    let sessionRows = 0;
    let playRows = 0;
    while (
      take < this.queue.length &&
      (take === 0 || sessionRows + playRows + this.queue[take]!.count <= MAX_GROUP_ROWS)
    ) {
      const p = this.queue[take++]!;
      if (p.kind === REQUEST_PLAYS) playRows += p.count;
      else sessionRows += p.count;
    }
    const group = this.queue.splice(0, take);
    const req: WriteRequest = {
      seq: ++this.seq,
      values: this.takeQueued('queuedValues', sessionRows * SESSION_ROW_WIDTH),
      counts: group.map((p) => p.count),
    };
    if (this.queuedHasPlays) {
      req.kinds = group.map((p) => p.kind);
      req.plays = this.takeQueued('queuedPlays', playRows * PLAY_ROW_WIDTH);
      this.queuedHasPlays = this.queuedPlays.length > 0;
    }
    this.inFlight.push(group);
    this.worker.postMessage(req);
    // What the cap left behind goes out as the next group, when there is room for one.
    if (this.queue.length > 0) this.flush();
  }

  /** The first `n` values of a queued array, removed from it (the whole array when it is all of it). */
  private takeQueued(which: 'queuedValues' | 'queuedPlays', n: number): unknown[] {
    const all = this[which];
    if (n >= all.length) {
      this[which] = [];
      return all;
    }
    this[which] = all.slice(n);
    all.length = n;
    return all;
  }

  private onResult(result: WriteResult): void {
    const group = this.inFlight.shift();
    if (!group) return;
    // Before any request of the group is answered: a read that follows its answer must flush.
    if (result.pending) this.rollupsPending = true;
    let sessions = 0;
    let playOffset = 0;
    group.forEach((p, i) => {
      const error = result.errors[i];
      const outcomes = p.kind === REQUEST_PLAYS ? result.outcomes.slice(playOffset, (playOffset += p.count)) : [];
      if (error)
        p.reject(new StoreError(`could not write ${p.kind === REQUEST_PLAYS ? 'play events' : 'sessions'}: ${error}`));
      else p.resolve(outcomes);
      if (p.kind === REQUEST_SESSIONS) sessions += p.count;
    });
    for (const l of this.listeners) l({ sessions, requests: group.length, durationMs: result.durationMs });
    this.flush();
  }

  private fail(err: Error): void {
    this.failed = err;
    for (const p of [...this.inFlight.flat(), ...this.queue]) p.reject(err);
    for (const c of this.controls.values()) c.reject(err);
    this.controls.clear();
    this.inFlight = [];
    this.queue = [];
    this.queuedValues = [];
    this.queuedPlays = [];
    this.queuedHasPlays = false;
    this.drained?.();
  }

  /** Finishes everything queued, then closes the writer's connection and stops the thread. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.inFlight.length > 0 || this.queue.length > 0) {
        await new Promise<void>((resolve) => {
          this.drained = resolve;
          this.scheduleFlush();
        });
      }
      if (this.failed) {
        await this.worker.terminate();
        return;
      }
      await new Promise<void>((resolve) => {
        this.worker.on('message', (msg: { closed?: boolean }) => msg.closed && resolve());
        this.worker.postMessage({ close: true });
      });
      await this.worker.terminate();
    })();
    return this.closing;
  }
}
